// The cutover's reverse-capture step: change capture on the target, made before the target
// takes any write, so every write the application makes after the switch can go back to the
// source. It is the forward capture with the roles swapped (contracts/reverse.ts), under its
// own name; it returns only once a start marker written on the target has come out of Kafka:
// the reverse path is proven to stream, or the switch is refused with what to change.
import { ApplicationFailure } from '@temporalio/common';
import type { CaptureRelease } from '../../contracts/capture-release';
import { Context } from '@temporalio/activity';
import { reversedSpec, type ReverseCapture } from '../../contracts/reverse';
import { targetEngine } from '../../engines';
import { beginStreams } from '../../engines/mongodb/reverse-feed';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { prepareCapture, releaseCapture, reverseCaptureName } from '../cdc/capture';

export async function prepareReverseCapture(input: { spec: Spec; plans: TablePlan[]; migrationId: string }): Promise<ReverseCapture> {
  try {
    // A PostgreSQL target is captured like a source (Debezium); MongoDB through its change streams.
    if (targetEngine(input.spec).reverseFeed === 'change-stream') {
      const ctx = Context.current();
      return { kind: 'change-stream', streams: await beginStreams(input.spec, input.plans, () => ctx.heartbeat()) };
    }
    return { kind: 'debezium', capture: await prepareCapture({ spec: reversedSpec(input.spec), plans: input.plans, migrationId: input.migrationId, name: reverseCaptureName(input.migrationId) }) };
  } catch (err) {
    // The checks speak of "the source": here that is the target, as the reverse sync reads it.
    if (err instanceof ApplicationFailure && err.nonRetryable) {
      throw ApplicationFailure.nonRetryable(
        `the reverse sync cannot stream from the target, so the switch is refused (the target would take writes no rollback could bring back); on the target database: ${err.message}` +
          (input.spec.cutover.reverse.mode === 'auto' ? ' — or set cutover.reverse.mode: off to cut over with no way back' : ''),
        err.type ?? 'ConfigurationError',
      );
    }
    throw err;
  }
}

/** Removes the reverse capture (connector, slot, publication on the target); never throws, like releaseCapture. Change streams hold nothing on the server. */
export async function releaseReverseCapture(input: { spec: Spec; migrationId: string }): Promise<CaptureRelease> {
  if (targetEngine(input.spec).reverseFeed === 'change-stream') return { name: 'change streams', removed: [], alreadyGone: [], notOurs: [], left: [] };
  return releaseCapture({ spec: reversedSpec(input.spec), captureName: reverseCaptureName(input.migrationId), migrationId: input.migrationId });
}
