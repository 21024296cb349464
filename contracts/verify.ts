// What a verification and a repair report: counts, per-chunk verdicts, per-table results.

/** Row counts of one table on both sides (`verify: counts`). */
export interface TableCount {
  table: string;
  sourceRows: number;
  targetRows: number;
  match: boolean;
}

export type MismatchKind = 'missing' | 'extra' | 'different';

/** One chunk compared: counts and order-independent hashes of the rows as mapped, both sides. */
export interface ChunkVerdict {
  index: number;
  sourceRows: number;
  targetRows: number;
  /** 64-bit order-independent digests (hex) of the rows as the target should hold them / holds them. */
  sourceHash: string;
  targetHash: string;
  missing: number;
  extra: number;
  different: number;
  /** A few keys of each kind (text form) for the report; the full list is in the mismatch store. */
  sample: Array<{ kind: MismatchKind; key: string[] }>;
  /**
   * False when target rows outside the source's keys could not be looked for by range (a
   * MongoDB _id orders text differently from a collation): the table-level sweep finds them.
   */
  extrasChecked: boolean;
}

export interface TableVerdict {
  table: string;
  chunks: number;
  sourceRows: number;
  targetRows: number;
  missing: number;
  extra: number;
  different: number;
  /** Indexes of the chunks that did not match (at most 100). */
  mismatchedChunks: number[];
  /** Online only: keys whose source row kept changing through the re-checks (hot rows), not proven different. */
  inFlight?: number;
  sample: Array<{ kind: MismatchKind; key: string[] }>;
}

/** The figures a table comparison ends with (a verification's verdict, a changed-keys check). */
export interface TableDifferences {
  table: string;
  missing: number;
  extra: number;
  different: number;
  sourceRows: number;
  targetRows: number;
}

/**
 * The tables that differ, as one line for a status or an error. `sides` names the two sides
 * as the reader knows them (the reverse sync compares with the roles swapped).
 */
export function describeDifferences(tables: readonly TableDifferences[], sides: { source: string; target: string } = { source: 'source', target: 'target' }): string {
  return tables
    .filter((t) => t.missing + t.extra + t.different > 0 || t.sourceRows !== t.targetRows)
    .map((t) => `${t.table}: ${t.missing} missing, ${t.extra} extra, ${t.different} different (${sides.source} ${t.sourceRows} rows, ${sides.target} ${t.targetRows})`)
    .join('; ');
}

export interface VerificationResult {
  /** `checksum`: per-chunk hashes and counts, drilled down to keys; `counts`: row counts only. */
  method: 'checksum' | 'counts';
  /** Names this run's entries in the mismatch store (what `ferry repair` re-copies). */
  verifyId: string;
  clean: boolean;
  checkedAt: string;
  tables: TableVerdict[];
}

export interface RepairResult {
  table: string;
  keys: number;
  /** Rows re-copied from the source (missing or different on the target). */
  written: number;
  /** Target rows deleted because the source no longer has their key (extra). */
  deleted: number;
  /** Keys still different after the repair (re-checked one by one); 0 when repaired. */
  stillDifferent: number;
}
