// Order-insensitive comparison of two query results, each a list of canonical row texts (the
// target engine decides what a row's text is: engines/<name>/shadow-query.ts).

/** How two results differ as multisets: rows only one side has, counted with their repeats. */
export function multisetDiff(source: readonly string[], target: readonly string[]): { onlySource: number; onlyTarget: number } {
  const counts = new Map<string, number>();
  for (const r of source) counts.set(r, (counts.get(r) ?? 0) + 1);
  for (const r of target) counts.set(r, (counts.get(r) ?? 0) - 1);
  let onlySource = 0;
  let onlyTarget = 0;
  for (const n of counts.values()) {
    if (n > 0) onlySource += n;
    else onlyTarget -= n;
  }
  return { onlySource, onlyTarget };
}

export function sameRows(source: readonly string[], target: readonly string[]): boolean {
  if (source.length !== target.length) return false;
  const d = multisetDiff(source, target);
  return d.onlySource === 0 && d.onlyTarget === 0;
}

/** Keeps at most `max` entries (the latest ones are dropped once full). */
export function pushCapped<T>(list: T[], value: T, max = 100): void {
  if (list.length < max) list.push(value);
}

/** An error's message with credentials in any URL it quotes replaced, one line, at most 500 characters. */
export function safeMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const scrubbed = text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1***@')
    .replace(/(password\s*=\s*)\S+/gi, '$1***')
    .replace(/\s+/g, ' ')
    .trim();
  return scrubbed.length > 500 ? `${scrubbed.slice(0, 500)}…` : scrubbed;
}
