// Verification: per table a child workflow compares every chunk of the source with the
// target (counts and order-independent hashes of the rows as mapped, drilled down to keys
// on a mismatch; the keys go to the mismatch store on the target side, the summary comes
// back here). Run after the backfill by the migration, and on demand by `ferry verify`.
// `repairMigration` re-copies exactly the keys a verification listed (`ferry repair`).
import {
  continueAsNew,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  ParentClosePolicy,
  ChildWorkflowHandle,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import {
  ChunkQueueState,
  MismatchKind,
  RepairResult,
  TablePlan,
  TableVerdict,
  VerificationResult,
  pauseSignal,
  resumeSignal,
  taskQueues,
  verifyProgressQuery,
} from './definitions';
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

/** `ferry verify`: a fresh comparison of a migration's tables, its id naming the mismatch store entries. */
export async function verifyMigration(input: { spec: Spec }): Promise<VerificationResult> {
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
  return verifyTables(input.spec, plan.tables, workflowInfo().workflowId, () => paused, (h) => children.push(h));
}

/** `ferry repair`: re-copies the keys a verification listed, table by table, and re-checks them. */
export async function repairMigration(input: { spec: Spec; verifyId: string }): Promise<RepairResult[]> {
  const plan = await planTables({ spec: input.spec });
  const results: RepairResult[] = [];
  for (const table of plan.tables) results.push(await repairTable({ spec: input.spec, plan: table, verifyId: input.verifyId }));
  return results;
}
