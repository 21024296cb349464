// The mismatch store: every key a verification found missing, extra or different, kept on
// the target side (table _ferry.mismatches, or collection _ferry_mismatches) so workflows
// carry only counts and samples, and `ferry repair` can page through the full list later.
// Keys are stored in PostgreSQL text form, so repair reads the source by key directly.
// Recording a chunk replaces that chunk's entries: a retried verification leaves one copy.
// This file holds what every engine's store shares; the stores themselves are in
// engines/<name>/mismatches.ts, and the engine opens its own (Engine.mismatches).
import type { MismatchKind } from '../contracts/verify';

export interface Mismatch {
  kind: MismatchKind;
  key: string[];
}

export interface StoredMismatch extends Mismatch {
  table: string;
  chunk: number;
  repaired: boolean;
}

/** Chunk number under which the table-level extras sweep records what it finds. */
export const SWEEP_CHUNK = -1;

export interface MismatchStore {
  /** Replaces the entries of (verifyId, table, chunk) with these. */
  recordChunk(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void>;
  /** Adds (upserts) entries without clearing anything: the sweep records batch by batch. */
  add(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void>;
  /** Unrepaired entries with key after `after` (an opaque cursor, null to start), in key order. */
  page(verifyId: string, table: string, after: string | null, limit: number): Promise<{ entries: StoredMismatch[]; next: string | null }>;
  markRepaired(verifyId: string, table: string, keys: string[][]): Promise<void>;
  countByKind(verifyId: string, table: string): Promise<Record<MismatchKind, number>>;
  /** Entries of a run (one table or all), by table and key, for reports. */
  list(verifyId: string, table: string | undefined, limit: number): Promise<StoredMismatch[]>;
}

/** Entries written per statement or bulk call. */
export const WRITE_BATCH = 5_000;
/** The paging cursor of a key: its JSON text. */
export const cursorOf = (key: string[]) => JSON.stringify(key);

export function emptyCounts(): Record<MismatchKind, number> {
  return { missing: 0, extra: 0, different: 0 };
}
