// What releasing a migration's change capture did: the release never throws (an abort must
// end even when Kafka Connect or the source is down), so this report is how it says what is
// still there, and how to remove it by hand. Plain JSON: it is an activity result.
import { redact } from './references';

/** Something that could not be removed, why, and the command that removes it. */
export interface LeftBehind {
  what: string;
  reason: string;
  command: string;
}

export interface CaptureRelease {
  /** The capture name (connector, slot, publication). */
  name: string;
  removed: string[];
  /** Not there to begin with (removed by an earlier run, or never created). */
  alreadyGone: string[];
  /** Under this name but recorded as another migration's: left alone. */
  notOurs: string[];
  left: LeftBehind[];
}

/** The report as lines for a terminal. */
export function renderRelease(r: CaptureRelease): string[] {
  return [
    ...r.removed.map((w) => `removed ${w}`),
    ...r.alreadyGone.map((w) => `already gone: ${w}`),
    ...r.notOurs.map((w) => `left alone: ${w}`),
    ...r.left.map((l) => `NOT removed: ${l.what}: ${l.reason}\n  remove it by hand: ${l.command}`),
  ];
}

/** A URL from the spec as a shell word for those commands: `${VAR}` references stay for the shell to expand, credentials are hidden. */
export function urlWord(raw: string): string {
  return `"${redact(raw).replace(/(["\\`])/g, '\\$1')}"`;
}

/** SQL as one single-quoted shell word, whatever it contains. */
export function sqlWord(sql: string): string {
  return `'${sql.replace(/'/g, `'\\''`)}'`;
}
