// `${VAR}` references in a spec: specs travel through Temporal with them unresolved (secrets
// never enter workflow history); they are resolved where a connection is opened. Pure: the
// environment is passed in.

/** A `${VAR}` reference (global: use with replace/match). */
export const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces every `${VAR}` from env; unset variables are reported, not replaced by ''. */
export function interpolate(text: string, env: Record<string, string | undefined>): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(reference, (_m, name: string) => {
    const v = env[name];
    if (v === undefined || v === '') {
      missing.push(name);
      return '';
    }
    return v;
  });
  return { value, missing };
}

/** Names a URL in a message without its resolved value: the reference, or the literal as written. */
export function describeRef(raw: string): string {
  const refs = raw.match(reference);
  return refs ? `from ${refs.join(', ')}` : JSON.stringify(redact(raw));
}

/** Hides credentials before a URL goes into any message. */
export function redact(url: string): string {
  // Everything between the scheme and the last @ of the authority is credentials.
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@]*)@/i, (_m, scheme: string, cred: string) => `${scheme}${cred.split(':')[0]}:***@`)
    .replace(/([?&]password=)[^&]*/gi, '$1***');
}
