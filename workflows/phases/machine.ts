// The migration as a machine: every phase of contracts/migration.ts's Phase, what runs in
// it, and where it may go next. A new phase is a new entry (and a function of the context);
// the driver runs the current phase, checks where it says to go, records it and goes on
// until a terminal phase, or hands over to a new run (continue-as-new) when a phase names
// itself as its next: the new run resumes in that phase through the same table.
import { ApplicationFailure } from '@temporalio/workflow';
import type { MigrationCarried, Phase } from '../../contracts/migration';
import { backfill } from './backfill';
import { catchUp } from './catch-up';
import { cutover } from './cutover';
import { cutOver } from './cut-over';
import type { MigrationContext } from './context';
import { indexes } from './indexes';
import { prepare } from './prepare';
import { rehearsing } from './rehearsing';
import { rollingBack } from './rolling-back';
import { sync } from './sync';
import { verify } from './verify';

/**
 * A phase ends in failure by throwing (or by the operator's abort or rollback, which cancel
 * it): the workflow then stops what runs, releases capture and records failed, aborted or
 * rolled-back. Every running phase may therefore go on to those, and none returns them.
 */
type Stopped = 'failed' | 'aborted' | 'rolled-back';
const stopped = ['failed', 'aborted', 'rolled-back'] as const satisfies readonly Stopped[];

type PhaseFn<P extends Phase> = (ctx: MigrationContext) => Promise<P>;

/** A running phase: what runs in it, and where it may go (checked: the function can return only what is listed). */
function running<const Next extends Exclude<Phase, 'failed' | 'aborted'>>(run: PhaseFn<NoInfer<Next>>, next: readonly Next[]) {
  return { run, next: [...next, ...stopped] as readonly (Next | Stopped)[] };
}

const terminal = { next: [] } as const;

export const phases = {
  prepare: running(prepare, ['backfill']),
  // Itself: the backfill goes on in a new run, adopting the children already started.
  backfill: running(backfill, ['backfill', 'indexes']),
  // Online migrations catch up on the changes made since the start marker before they verify.
  indexes: running(indexes, ['verify', 'catch-up']),
  'catch-up': running(catchUp, ['verify']),
  // Offline the migration ends verified; online the target goes on following the source.
  verify: running(verify, ['sync', 'completed']),
  // Itself: the sync goes on in a new run, adopting the sync child; cutover once approved.
  sync: running(sync, ['sync', 'completed', 'cutover', 'rehearsing']),
  // A rehearsal's end instead of a cutover: the dry run and the drill, then completed (nothing switched).
  rehearsing: running(rehearsing, ['completed']),
  // The steps; a failed attempt un-fences and syncs again.
  cutover: running(cutover, ['sync', 'cut-over']),
  // Itself: a new run waits for finalize; a rollback goes back through the reverse sync.
  'cut-over': running(cutOver, ['cut-over', 'completed', 'rolling-back']),
  // After the switch: back to the source, or (a step failed, the target un-fenced) cut-over again.
  'rolling-back': running(rollingBack, ['cut-over', 'rolled-back']),
  completed: terminal,
  failed: terminal,
  aborted: terminal,
  // An operator's rollback before the switch: the workflow completes (it is not a failure).
  'rolled-back': terminal,
} satisfies Record<Phase, { run?: PhaseFn<Phase>; next: readonly Phase[] }>;

type Table = typeof phases;
/** The phases that may go on in a new run: those that list themselves as their next. */
type HandOverPhase = { [P in keyof Table]: P extends Table[P]['next'][number] ? P : never }[keyof Table];
/** Terminal phases a phase may return (failed and aborted are recorded by the workflow; rolled-back by either). */
type Ending = Exclude<{ [P in keyof Table]: Table[P]['next'] extends readonly [] ? P : never }[keyof Table], 'failed' | 'aborted'>;

/** How a run of the machine ends: in a terminal phase, or handing over to a new run. */
export type Outcome = { end: Ending } | { handOver: NonNullable<MigrationCarried['phase']> };

/** The phase a run starts in: prepare, or the one the run before handed over in. */
export function startPhase(carried: MigrationCarried | undefined): Phase {
  // The first runs that carried state carried only the sync phase, and did not name it.
  return carried ? (carried.phase ?? 'sync') : 'prepare';
}

function isTerminal(phase: Phase): boolean {
  return phases[phase].next.length === 0;
}

/** A transition the table does not list is a bug in a phase, never an operator's doing. */
function check(from: Phase, to: Phase): void {
  const next: readonly Phase[] = phases[from]?.next ?? [];
  if (!next.includes(to)) {
    throw ApplicationFailure.create({
      type: 'PhaseTransitionNotAllowed',
      nonRetryable: true,
      message: `the migration cannot go from phase ${from} to ${to} (${next.length ? `${from} goes on to ${next.join(', ')}` : `${from} is terminal`})`,
    });
  }
}

/** Records the migration's end (checked from the phase status names), with the FerryPhase search attribute. */
export function end(ctx: MigrationContext, to: Phase): void {
  check(ctx.status.phase, to);
  ctx.setPhase(to);
}

/** Runs phases from `start` until one ends the migration or hands over to a new run. */
export async function drive(ctx: MigrationContext, start: Phase): Promise<Outcome> {
  let phase = start;
  for (;;) {
    const entry: { run?: PhaseFn<Phase>; next: readonly Phase[] } | undefined = phases[phase];
    if (!entry?.run) throw ApplicationFailure.create({ type: 'PhaseTransitionNotAllowed', nonRetryable: true, message: `the migration cannot run phase ${phase}` });
    const next = await entry.run(ctx);
    check(phase, next);
    // Not recorded: the new run resumes in the phase status already names.
    if (next === phase) return { handOver: handsOver(phase as HandOverPhase) };
    // Not recorded here either: the workflow records the end once it has released capture.
    if (isTerminal(next)) return { end: next as Ending };
    ctx.setPhase(next);
    phase = next;
  }
}

/** The carried state must be able to name every phase that hands over (checked at compile time). */
function handsOver(phase: HandOverPhase): NonNullable<MigrationCarried['phase']> {
  return phase;
}
