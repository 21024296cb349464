// The verbs of `ferry signal`, apart from the command so the help text needs no Temporal client.
export const signalVerbs = ['pause', 'resume', 'throttle', 'abort'] as const;
export type SignalVerb = (typeof signalVerbs)[number];
