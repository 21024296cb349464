// What every phase of the migration shares: the status everyone reads, the plan, change
// capture, the children started, the sync child's state and what the operator asked. One
// object, made once per run (from the carried state after a continue-as-new), so a phase
// is a function of it and nothing else.
import { CancellationScope, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { CaptureInfo } from '../../contracts/capture';
import type { CutoverAnswer } from '../../contracts/cutover';
import type { MigrationInput, MigrationStatus, Phase, RollbackRequest } from '../../contracts/migration';
import { searchAttributes } from '../../contracts/search-attributes';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';

const SEARCH_ATTRIBUTE_EVERY_MS = 60_000;
/** The sync phase continues-as-new after this many history events (or when Temporal suggests it). */
const CONTINUE_AS_NEW_AFTER_EVENTS = 10_000;

/** The sync child as this run knows it (its reports arrive by signal). */
export interface SyncChild {
  /** Its own scope: on any failure the sync is stopped (and awaited) before capture is released. */
  scope: CancellationScope | null;
  /** Its result, when this run started it (null in a run that adopted a running sync). */
  run: Promise<unknown> | null;
  /** This run's sync child has ended (its result is in). */
  ended: boolean;
  /** Whether catch-up started it to be abandoned on close (see catch-up.ts). */
  handOverAllowed: boolean;
  /** Its last report came: the consumer has stopped. */
  stopped: boolean;
  /** It failed (reported so, or ended on its own): there is no consumer left to wait for. */
  failed: boolean;
  /** Why the sync failed, as it reported it (the only word of it once this run has continued-as-new). */
  error: string | null;
}

/** The operator's cutover verbs as this run knows them (the figures live in status.cutover). */
export interface CutoverControl {
  /** Approved (the cutover Update, or approval: auto with every gate passing): the sync phase goes on to cutover. */
  requested: boolean;
  /** How the last attempt ended; the cutover Update answers with it. */
  answer: CutoverAnswer | null;
  /** The finalize Update: the cut-over phase ends the migration. */
  finalizeRequested: boolean;
  /** The running attempt's own scope: a rollback during the cutover cancels it (un-fence, back to sync). */
  attempt: CancellationScope | null;
  /** The attempt's switch has begun: the target may take writes, nothing is undone any more. */
  switched: boolean;
}

export interface MigrationContext {
  readonly id: string;
  readonly input: MigrationInput;
  readonly spec: Spec;
  readonly status: MigrationStatus;
  /** This run continues an earlier one (continue-as-new): what it knew came carried. */
  readonly resumed: boolean;
  /** The tables' plans; a sync report replaces them when a column is added on the source. */
  plans: TablePlan[];
  /** Null for an offline migration (and until prepare has made it). */
  capture: CaptureInfo | null;
  /** Set before prepareCapture starts: an abort during it must still release what it made. */
  captureStarted: boolean;
  /** Running children (backfill, verify, sync), to forward operator signals to. */
  readonly children: Set<string>;
  /** Backfill children started, by workflow id (carried: a new run adopts them). */
  readonly backfillStarted: Set<string>;
  readonly sync: SyncChild;
  readonly cutover: CutoverControl;
  /** The operator's rollback, once accepted (null: none). */
  rollback: (RollbackRequest & { from: Phase }) | null;
  /** Set by the operator's abort (null: not aborted, or cancelled through Temporal). */
  abortReason: string | null;
  /** Every phase runs in it; an abort cancels it. */
  readonly work: CancellationScope;
  /** Upserts the search attributes (at most once a minute unless forced). */
  publish(force?: boolean): void;
  /** Records the phase in status and in the FerryPhase search attribute (the machine checks it first). */
  setPhase(phase: Phase): void;
  /** The migration-wide rate shared by the tables copying at once. */
  tableRate(): number;
  /** True when the history is large enough to hand over to a new run. */
  historyFull(): boolean;
}

export function createContext(id: string, input: MigrationInput, spec: Spec): MigrationContext {
  const carried = input.carried;
  const status: MigrationStatus = carried ? { ...carried.status, runs: carried.runs } : {
    migrationId: id,
    name: spec.name,
    phase: 'prepare',
    paused: false,
    targetKind: null,
    startedAt: new Date(Date.now()).toISOString(),
    finishedAt: null,
    rowsCopied: 0,
    rowsEstimated: 0,
    tables: [],
    throttle: spec.backfill.maxRowsPerSecond,
    lag: null,
    sync: null,
    syncWorkflowId: null,
    capture: null,
    verification: null,
    error: null,
    refused: [],
    runs: 1,
    phaseHistory: [{ phase: 'prepare', at: new Date(Date.now()).toISOString() }],
  };
  let lastUpsert = 0;
  const publish = (force = false) => {
    if (!force && Date.now() - lastUpsert < SEARCH_ATTRIBUTE_EVERY_MS) return;
    lastUpsert = Date.now();
    upsertSearchAttributes([
      { key: searchAttributes.phase, value: status.phase },
      { key: searchAttributes.spec, value: spec.name },
      { key: searchAttributes.rowsCopied, value: status.rowsCopied },
      { key: searchAttributes.rowsTotal, value: status.rowsEstimated },
      { key: searchAttributes.progress, value: status.rowsEstimated ? Math.min(1, status.rowsCopied / status.rowsEstimated) : 0 },
      ...(status.lag ? [{ key: searchAttributes.lagSeconds, value: status.lag.seconds }] : []),
      ...(status.shadow ? [{ key: searchAttributes.shadowMismatches, value: status.shadow.mismatches }] : []),
      ...(status.reverse?.progress ? [{ key: searchAttributes.reverseLagSeconds, value: status.reverse.progress.lagSeconds }] : []),
    ]);
  };
  const historyLimit = input.continueAsNewAfterEvents ?? CONTINUE_AS_NEW_AFTER_EVENTS;
  return {
    id,
    input,
    spec,
    status,
    resumed: !!carried,
    plans: carried?.plans ?? [],
    capture: carried?.capture ?? null,
    captureStarted: !!carried?.capture,
    // A new run of a migration in its sync phase forwards to the sync child it adopts (after the switch, the reverse sync).
    children: new Set<string>(carried ? [status.syncWorkflowId, status.reverse?.workflowId].filter((w): w is string => !!w) : []),
    backfillStarted: new Set<string>(carried?.backfillStarted ?? []),
    sync: { scope: null, run: null, ended: false, handOverAllowed: false, stopped: false, failed: false, error: null },
    cutover: { requested: false, answer: null, finalizeRequested: false, attempt: null, switched: false },
    rollback: null,
    abortReason: null,
    work: new CancellationScope(),
    publish,
    setPhase(phase: Phase) {
      status.phase = phase;
      (status.phaseHistory ??= []).push({ phase, at: new Date(Date.now()).toISOString() });
      publish(true);
    },
    tableRate: () => (status.throttle > 0 ? Math.max(1, Math.floor(status.throttle / Math.max(1, Math.min(spec.backfill.tableParallelism, status.tables.length)))) : 0),
    historyFull: () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyLimit,
  };
}
