// The reverse direction as the forward machinery sees it: after the switch the target is the
// side that takes the application's writes, so the reverse sync is the forward sync with the
// roles swapped — capture on the target, apply into the source — through the same Kafka,
// consumer, dead-letter and idempotence rules. A PostgreSQL target has the source's schema,
// table, column names and types (engines/postgres/target.ts), so the plans need no inverse.
import type { CaptureInfo } from './capture';
import type { Spec } from './spec';

/**
 * The spec with source and target swapped, for the activities the reverse direction reuses
 * (capture, apply, fence, drain, changed-key check, sequences, repoint). References stay
 * references: nothing is resolved here. Connect reaches the target at cutover.reverse.host/port
 * when given (the forward sync.sourceHost/sourcePort name the source, not the target).
 */
export function reversedSpec(spec: Spec): Spec {
  return {
    ...spec,
    source: { url: spec.target.url },
    target: { url: spec.source.url },
    sync: spec.sync ? { ...spec.sync, sourceHost: spec.cutover.reverse?.host, sourcePort: spec.cutover.reverse?.port } : undefined,
  };
}

/** The reverse sync's capture exists (either kind): a rollback after the switch is a drain. */
export function reverseCaptured(rev: { capture: unknown; streams?: unknown[] | null } | null | undefined): boolean {
  return !!rev && (!!rev.capture || !!rev.streams?.length);
}

/** Whether this migration runs a reverse sync, given whether its target engine can stream its changes back. */
export function reverseWanted(spec: Spec, targetStreamsBack: boolean): boolean {
  // Optional chaining: specs of migrations started before the section existed replay without it.
  const mode = spec.cutover?.reverse?.mode ?? 'auto';
  if (spec.mode !== 'online' || mode === 'off') return false;
  return targetStreamsBack || mode === 'required';
}

/** How a target's writes are captured for the reverse sync (Engine.reverseFeed). */
export type ReverseFeed = ReverseCapture['kind'];

/** Where one collection's change stream starts (a MongoDB target): a resume token, as plain JSON. */
export interface StreamStart {
  /** The table it flows back into (its display name) and the collection it follows. */
  table: string;
  collection: string;
  token: Record<string, unknown>;
}

/** What the cutover's reverse-capture step made: Debezium capture (a PostgreSQL target) or change streams (MongoDB). */
export type ReverseCapture = { kind: 'debezium'; capture: CaptureInfo } | { kind: 'change-stream'; streams: StreamStart[] };
