// Operator messages arrive as whatever JSON the sender typed: the Temporal UI's signal form
// sends `{"rowsPerSecond":100}` as readily as `100`, or nothing at all. Each payload is read
// here, deterministically; a payload that means nothing is refused with the reason, and the
// current value stays (a NaN throttle would mean "unlimited").
import type { BackfillProgress, TableState } from '../contracts/backfill';
import type { SyncProgress, SyncReport } from '../contracts/sync';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const MAX_RATE = 1e12;

/** A rows-per-second limit: a whole number ≥ 0, bare, as a numeric string, or as `{ rowsPerSecond: N }`. */
export function parseRate(payload: unknown): Parsed<number> {
  let v: unknown = payload;
  if (v && typeof v === 'object' && !Array.isArray(v) && 'rowsPerSecond' in v) v = (v as { rowsPerSecond: unknown }).rowsPerSecond;
  if (typeof v === 'string' && v.trim() !== '') v = Number(v);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_RATE) {
    return { ok: false, reason: `throttle needs a number of rows per second ≥ 0 (0 = unlimited), e.g. 5000 or {"rowsPerSecond": 5000}; got ${describe(payload)}` };
  }
  return { ok: true, value: Math.floor(v) };
}

/** An abort reason: text, `{ reason: text }`, or nothing (the default reason). */
export function parseReason(payload: unknown, fallback: string): string {
  if (typeof payload === 'string' && payload.trim()) return payload.trim().slice(0, 500);
  if (payload && typeof payload === 'object' && typeof (payload as { reason?: unknown }).reason === 'string') return parseReason((payload as { reason: string }).reason, fallback);
  return fallback;
}

const tableStates: readonly TableState[] = ['pending', 'planning', 'copying', 'indexing', 'done', 'failed'];
const isCount = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;

/** A backfill child's report (internal: sent by Ferry's own workflows, checked all the same). */
export function parseBackfillProgress(payload: unknown): Parsed<BackfillProgress> {
  const p = payload as Partial<BackfillProgress> | null;
  if (!p || typeof p !== 'object' || typeof p.table !== 'string' || !tableStates.includes(p.state as TableState) || ![p.rowsCopied, p.chunksDone, p.chunksTotal, p.rowsTotal].every(isCount)) {
    return { ok: false, reason: `backfillProgress is sent by Ferry's backfill workflows, not by hand; ignored ${describe(payload)}` };
  }
  return { ok: true, value: p as BackfillProgress };
}

/** The apply activity's live figures (internal: sent by Ferry's apply activity). */
export function parseSyncProgress(payload: unknown): Parsed<SyncProgress> {
  const p = payload as Partial<SyncProgress> | null;
  if (!p || typeof p !== 'object' || typeof p.state !== 'string' || !isCount(p.lagSeconds) || !isCount(p.eventsApplied) || !Array.isArray(p.alerts)) {
    return { ok: false, reason: `syncProgress is sent by Ferry's apply activity, not by hand; ignored ${describe(payload)}` };
  }
  return { ok: true, value: p as SyncProgress };
}

/** A sync child's report (internal). */
export function parseSyncReport(payload: unknown): Parsed<SyncReport> {
  const r = payload as Partial<SyncReport> | null;
  if (!r || typeof r !== 'object' || !parseSyncProgress(r.progress).ok) {
    return { ok: false, reason: `syncReport is sent by Ferry's sync workflow, not by hand; ignored ${describe(payload)}` };
  }
  return { ok: true, value: r as SyncReport };
}

function describe(payload: unknown): string {
  if (payload === undefined) return 'no value';
  try {
    const text = JSON.stringify(payload);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return String(payload);
  }
}
