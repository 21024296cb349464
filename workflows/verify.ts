// Verification: per table a child workflow compares every chunk of the source with the
// target (counts and order-independent hashes of the rows as mapped, drilled down to keys
// on a mismatch; the keys go to the mismatch store on the target side, the summary comes
// back here). Run after the backfill by the migration, and on demand by `ferry verify`.
// `repairMigration` re-copies exactly the keys a verification listed (`ferry repair`).
import {
  CancellationScope,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  ParentClosePolicy,
  ChildWorkflowHandle,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import { ChunkQueueState } from '../contracts/backfill';
import { holdSignal, pauseSignal, resumeSignal, verifyProgressQuery } from '../contracts/messages';
import { taskQueues } from '../contracts/queues';
import { TablePlan } from '../contracts/tables';
import { MismatchKind, RepairResult, TableVerdict, VerificationResult } from '../contracts/verify';
import type { Spec } from '../contracts/spec';
import { drainChunks, pageSize } from './chunk-queue';
import { inWindow } from './window';

const nonRetryableErrorTypes = ['SpecError', 'ConfigurationError', 'DataError'];

const { planChunks, verifyChunk, sweepExtras, countTable, repairTable } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes },
});

const { planTables } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes },
});

// Re-checks wait for the sync to pass the moment they start.
const { recheckMismatches } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'SyncEnded'] },
});

/** Rounds of re-checking keys that differed while the source kept changing (online verification). */
export const RECHECK_ROUNDS = 3;
const SAMPLE_KEYS = 20;
const MISMATCHED_CHUNKS_LISTED = 100;

interface VerifyProgress extends TableVerdict {
  /** Some chunk could not look for extra target rows by range: sweep the table at the end. */
  needsSweep: boolean;
}

export interface VerifyTableInput {
  spec: Spec;
  plan: TablePlan;
  verifyId: string;
  paused: boolean;
  carried?: ChunkQueueState<VerifyProgress>;
}

export function verifyTableId(verifyId: string, plan: TablePlan): string {
  return `${verifyId}/${plan.table.schema}.${plan.table.name}`;
}

export async function verifyTable(input: VerifyTableInput): Promise<TableVerdict> {
  const { spec, plan, verifyId } = input;
  let paused = input.paused;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  const state: ChunkQueueState<VerifyProgress> = input.carried ?? {
    pending: [], planFrom: null, planned: false, plannedRows: 0, nextIndex: 0,
    progress: { table: plan.display, chunks: 0, sourceRows: 0, targetRows: 0, missing: 0, extra: 0, different: 0, mismatchedChunks: [], sample: [], needsSweep: false },
  };
  const v = state.progress;
  setHandler(verifyProgressQuery, () => v);
  const addSample = (kind: MismatchKind, keys: string[][]) => {
    for (const key of keys) if (v.sample.length < SAMPLE_KEYS) v.sample.push({ kind, key });
  };

  const outcome = await drainChunks({
    state,
    parallelism: spec.backfill.parallelism,
    chunksPerRun: spec.backfill.chunksPerRun,
    planPage: (from) => planChunks({ spec, plan, from, maxChunks: pageSize(spec.backfill.chunksPerRun) }),
    onPlanned: () => undefined,
    isPaused: () => paused,
    runChunk: async (chunk) => {
      const c = await verifyChunk({ spec, plan, chunk, verifyId });
      v.chunks += 1;
      v.sourceRows += c.sourceRows;
      v.targetRows += c.targetRows;
      v.missing += c.missing;
      v.extra += c.extra;
      v.different += c.different;
      if (!c.extrasChecked) v.needsSweep = true;
      if ((c.missing || c.extra || c.different) && v.mismatchedChunks.length < MISMATCHED_CHUNKS_LISTED) v.mismatchedChunks.push(c.index);
      for (const s of c.sample) addSample(s.kind, [s.key]);
    },
  });
  if (outcome === 'continue') await continueAsNew<typeof verifyTable>({ ...input, paused, carried: state });
  if (v.needsSweep) {
    const swept = await sweepExtras({ spec, plan, verifyId });
    v.extra += swept.extra;
    v.targetRows += swept.extra;
    addSample('extra', swept.sample);
  }
  const verdict: TableVerdict & { needsSweep?: boolean } = { ...v };
  delete verdict.needsSweep;
  return verdict;
}

/**
 * Verifies every table through its own child (at most tableParallelism at once); `onChild`
 * lets the caller forward pause/resume to them.
 */
export async function verifyTables(
  spec: Spec,
  plans: TablePlan[],
  verifyId: string,
  paused: () => boolean,
  onChild: (handle: ChildWorkflowHandle<typeof verifyTable>) => void = () => undefined,
): Promise<VerificationResult> {
  const tables: TableVerdict[] = [];
  if (spec.verify === 'counts') {
    for (const plan of plans) {
      const c = await countTable({ spec, plan });
      const missing = Math.max(0, c.sourceRows - c.targetRows);
      const extra = Math.max(0, c.targetRows - c.sourceRows);
      tables.push({ table: c.table, chunks: 0, sourceRows: c.sourceRows, targetRows: c.targetRows, missing, extra, different: 0, mismatchedChunks: [], sample: [] });
    }
  } else {
    await inWindow(plans, spec.backfill.tableParallelism, async (plan) => {
      const handle = await startChild(verifyTable, {
        workflowId: verifyTableId(verifyId, plan),
        taskQueue: taskQueues.control,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        args: [{ spec, plan, verifyId, paused: paused() }],
      });
      onChild(handle);
      tables.push(await handle.result());
    });
    tables.sort((a, b) => plans.findIndex((p) => p.display === a.table) - plans.findIndex((p) => p.display === b.table));
  }
  // Clean means every planned table was compared: a verification of fewer tables than the
  // plan holds (or of none) proves nothing about the ones it left out.
  const compared = new Set(tables.map((t) => t.table));
  const allCompared = plans.length > 0 && plans.every((p) => compared.has(p.display));
  return {
    method: spec.verify,
    verifyId,
    clean: allCompared && tables.every((t) => t.missing + t.extra + t.different === 0 && t.sourceRows === t.targetRows),
    checkedAt: new Date(Date.now()).toISOString(),
    tables,
  };
}

/**
 * `ferry verify`: a fresh comparison of a migration's tables, its id naming the mismatch store
 * entries. With the migration's sync running (online), differing keys are re-checked once the
 * sync has passed them, as the migration's own verification does: a key the sync was about
 * to fix is not reported (and invites no repair).
 */
export async function verifyMigration(input: { spec: Spec; syncWorkflowId?: string }): Promise<VerificationResult> {
  let paused = false;
  const children: Array<ChildWorkflowHandle<typeof verifyTable>> = [];
  const forward = (signal: typeof pauseSignal | typeof resumeSignal) => children.forEach((c) => void c.signal(signal as typeof pauseSignal).catch(() => undefined));
  setHandler(pauseSignal, () => {
    paused = true;
    forward(pauseSignal);
  });
  setHandler(resumeSignal, () => {
    paused = false;
    forward(resumeSignal);
  });
  const plan = await planTables({ spec: input.spec });
  const verifyId = workflowInfo().workflowId;
  let result = await verifyTables(input.spec, plan.tables, verifyId, () => paused, (h) => children.push(h));
  if (input.syncWorkflowId) {
    for (let round = 0; round < RECHECK_ROUNDS && needsRecheck(result); round++) result = await recheckRound(input.spec, plan.tables, result, verifyId, input.syncWorkflowId);
  }
  return result;
}

const { awaitSyncHeld } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '10 seconds', nonRetryableErrorTypes: ['SyncEnded'] },
});

/**
 * `ferry repair`: re-copies the keys a verification listed, table by table, and re-checks them.
 * With the migration's sync running (online), the sync is held stopped while the repair
 * writes: a source row read by the repair and written after the sync applied a newer change
 * would overwrite that change for good. Held, the sync later replays everything after its
 * committed offsets over the repaired rows, in order, and converges on the source.
 */
export async function repairMigration(input: { spec: Spec; verifyId: string; syncWorkflowId?: string }): Promise<RepairResult[]> {
  const holder = workflowInfo().workflowId;
  const sync = input.syncWorkflowId ? getExternalWorkflowHandle(input.syncWorkflowId) : null;
  if (sync) {
    await sync.signal(holdSignal, { holder, hold: true });
  }
  try {
    if (sync) await awaitSyncHeld({ syncWorkflowId: input.syncWorkflowId!, holder });
    const plan = await planTables({ spec: input.spec });
    const results: RepairResult[] = [];
    for (const table of plan.tables) results.push(await repairTable({ spec: input.spec, plan: table, verifyId: input.verifyId }));
    return results;
  } finally {
    // Let go whatever happened (a failed or cancelled repair too); the sync also drops a holder that ended.
    if (sync) await CancellationScope.nonCancellable(() => sync.signal(holdSignal, { holder, hold: false })).catch(() => undefined);
  }
}

/** Keys that differed or were in flight: another re-check round may settle them. */
export function needsRecheck(v: VerificationResult): boolean {
  // Row counts (verify: counts) list no keys to re-check: their verdict stands as counted.
  if (v.method === 'counts') return false;
  return v.tables.some((t) => t.missing + t.extra + t.different + (t.inFlight ?? 0) > 0);
}

/**
 * One re-check round (online): every table with differing or in-flight keys compares them
 * again once the sync has passed the round's start. Only proven differences count against
 * clean; hot rows are reported in flight.
 */
export async function recheckRound(spec: Spec, plans: TablePlan[], v: VerificationResult, verifyId: string, syncWorkflowId: string): Promise<VerificationResult> {
  const tables = await Promise.all(
    v.tables.map(async (t) => {
      if (t.missing + t.extra + t.different + (t.inFlight ?? 0) === 0) return t;
      const plan = plans.find((p) => p.display === t.table)!;
      const r = await recheckMismatches({ spec, plan, verifyId, syncWorkflowId });
      return { ...t, ...r.remaining, inFlight: r.inFlight, sample: r.sample };
    }),
  );
  // Row counts were taken while rows kept arriving; every differing key is in the per-key figures.
  const compared = plans.every((p) => tables.some((t) => t.table === p.display));
  return { ...v, tables, clean: compared && tables.every((t) => t.missing + t.extra + t.different === 0), checkedAt: new Date(Date.now()).toISOString() };
}
