// The cutover as status shows it: the gates with value and limit, the steps with their times,
// the freeze window, and the routing record applications read to know where to write.
import type { SyncProgress } from './sync';

export type GateName = 'lag' | 'verification' | 'shadow' | 'dead-letters' | 'capture' | 'fence';

export interface GateResult {
  name: GateName;
  pass: boolean;
  /** What was measured and what it must be, as text an operator reads ("3.2 s held 40 s", "≤ 5 s for 30 s"). */
  value: string;
  limit: string;
}

export type CutoverStepName =
  | 'fence' | 'drain' | 'final-check' | 'settle-check' | 'prepare-target' | 'reverse-capture' | 'repoint' | 'switch' | 'after-flip' | 'unfence' | 'validate-foreign-keys' | 'release-reverse'
  // The way back after the switch (a rollback from cut-over), in order:
  | 'fence-target' | 'drain-reverse' | 'check-reverse' | 'source-sequences' | 'repoint-back' | 'switch-back' | 'unfence-target' | 'unfence-source';

export interface CutoverStep {
  name: CutoverStepName;
  state: 'running' | 'done' | 'failed' | 'skipped';
  startedAt: string;
  durationSeconds: number | null;
  detail: string | null;
}

export interface CutoverStatus {
  /** The gates as last evaluated. */
  gates: GateResult[];
  gatesAt: string | null;
  /** waiting: syncing, gates shown; running: the steps run; done: cut over; failed: the last attempt failed and was undone. */
  state: 'waiting' | 'running' | 'done' | 'failed';
  attempts: number;
  /** The steps of the current (or last) attempt. */
  steps: CutoverStep[];
  /** Seconds the application could not write: from the fence to the switch (or the un-fence). */
  freezeSeconds: number | null;
  /** Why the last attempt failed (the migration went back to sync). */
  error: string | null;
  approvedAt: string | null;
  /** The live reading the gates were evaluated from. */
  reading?: GateReading | null;
}

/** Where applications write and read: `_ferry.routing` on the source (and the target), updated at every step. */
export interface RoutingState {
  writes: 'source' | 'target';
  reads: 'source' | 'target';
  /** Percent of reads an application may send to the target before the write switch. */
  readShare: number;
  migration: string;
  phase: string;
  changedAt: string;
}

/** What the cutover Update answers once its attempt has ended. */
export interface CutoverAnswer {
  phase: string;
  cutOver: boolean;
  freezeSeconds: number | null;
  error: string | null;
  steps: CutoverStep[];
}

/** The route Update: a share of reads for the target before the write switch. */
export interface RouteRequest {
  readsPercent: number;
}

export function failingGates(gates: readonly GateResult[]): GateResult[] {
  return gates.filter((g) => !g.pass);
}

export function describeGates(gates: readonly GateResult[]): string {
  return gates.map((g) => `${g.name} ${g.pass ? 'passes' : 'fails'}: ${g.value} (limit ${g.limit})`).join('; ');
}

/** What the gates need from outside the workflow, read live by the watchGates activity. */
export interface GateReading {
  lagSeconds: number;
  /** Since when the lag has stayed at or under the limit (null: over it now). */
  lagOkSince: string | null;
  syncState: SyncProgress['state'] | 'unknown';
  deadLetters: number;
  /** Why capture is unhealthy (connector, slot, a halted or stopped sync), or null. */
  captureProblem: string | null;
  checkedAt: string;
}
