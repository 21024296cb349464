// The verification activities the workflows call: compare one chunk, sweep a table for
// extra documents, repair the keys a verification listed, and read the mismatch store for
// reports. Engine-specific work is each engine's Verifier (engines/<name>/verifier.ts); this
// file dispatches, records every mismatch in the store and returns counts plus a small sample.
import { mismatchStore, targetEngine } from '../../engines';
import { Context } from '@temporalio/activity';
import type { Spec } from '../../contracts/spec';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import type { ChunkVerdict, MismatchKind, RepairResult } from '../../contracts/verify';
import { rethrowClassified } from '../../engines/errors';
import { repairKeys, type RepairCursor } from './repair';

const SAMPLE_PER_KIND = 10;
const HEARTBEAT_MS = 5_000;

/** Heartbeats when running as an activity; a no-op when called directly (tests, scripts). */
function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not inside an activity
  }
}

function heartbeatDetails<T>(): T | undefined {
  try {
    return Context.current().info.heartbeatDetails as T | undefined;
  } catch {
    return undefined;
  }
}

/** Heartbeats every few seconds (with the latest details) until stopped. */
function keepAlive(details: () => unknown = () => undefined): () => void {
  const timer = setInterval(() => heartbeat(details()), HEARTBEAT_MS);
  return () => clearInterval(timer);
}

export async function verifyChunk(input: { spec: Spec; plan: TablePlan; chunk: ChunkRange; verifyId: string }): Promise<ChunkVerdict> {
  const { spec, plan, chunk, verifyId } = input;
  const stop = keepAlive();
  try {
    const c = await targetEngine(spec).verifier(spec).compareChunk(plan, chunk);
    await mismatchStore(spec).recordChunk(verifyId, plan.display, chunk.index, c.mismatches);
    const counts: Record<MismatchKind, number> = { missing: 0, extra: 0, different: 0 };
    const sample: ChunkVerdict['sample'] = [];
    for (const m of [...c.mismatches, ...(c.unreadable ?? [])]) if (counts[m.kind]++ < SAMPLE_PER_KIND) sample.push(m);
    return {
      index: chunk.index,
      sourceRows: c.sourceRows,
      targetRows: c.targetRows,
      sourceHash: c.sourceHash,
      targetHash: c.targetHash,
      ...counts,
      sample,
      extrasChecked: c.extrasChecked,
    };
  } catch (err) {
    return rethrowClassified(err, `verifying ${plan.display} chunk ${chunk.index}`);
  } finally {
    stop();
  }
}

/** Extra target rows of a table whose chunks could not look for them (MongoDB _id order); none where chunks find them. */
export async function sweepExtras(input: { spec: Spec; plan: TablePlan; verifyId: string }): Promise<{ extra: number; sample: string[][] }> {
  const { spec, plan, verifyId } = input;
  const stop = keepAlive();
  try {
    return await targetEngine(spec).verifier(spec).sweepExtras(plan, verifyId, mismatchStore(spec));
  } catch (err) {
    return rethrowClassified(err, `looking for extra documents of ${plan.display}`);
  } finally {
    stop();
  }
}

export async function repairTable(input: { spec: Spec; plan: TablePlan; verifyId: string }): Promise<RepairResult> {
  const { spec, plan, verifyId } = input;
  let cursor = heartbeatDetails<RepairCursor>();
  const stop = keepAlive(() => cursor);
  try {
    return await repairKeys(spec, plan, verifyId, mismatchStore(spec), cursor, (c) => heartbeat((cursor = c)));
  } catch (err) {
    return rethrowClassified(err, `repairing ${plan.display}`);
  } finally {
    stop();
  }
}

export async function readMismatches(input: {
  spec: Spec;
  verifyId: string;
  table?: string;
  limit: number;
}): Promise<Array<{ table: string; kind: MismatchKind; key: string[]; chunk: number; repaired: boolean }>> {
  return mismatchStore(input.spec).list(input.verifyId, input.table, input.limit);
}
