// What every value converter shares: its shape, the error it throws for a value the target
// cannot hold as the policy asks, and how a long value is quoted in a message.

/** A value's conversion; null means the text is stored as it is. */
export type Convert = ((text: string) => unknown) | null;

/** A value the target cannot hold as the policy asks; the mapper turns it into a MappingError. */
export class Unmappable extends Error {
  /** True when `lossy: truncate` would have accepted the value. */
  constructor(message: string, readonly truncatable: boolean) {
    super(message);
  }
}

/** A value as a message quotes it: long texts keep their two ends and say how long they are. */
export function preview(t: string): string {
  return t.length > 48 ? `${t.substring(0, 24)}…${t.substring(t.length - 12)} (${t.length} characters)` : t;
}
