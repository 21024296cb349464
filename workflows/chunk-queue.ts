// The sliding window both backfill and verification run over a table's chunks: plan key
// ranges a page at a time, keep at most `parallelism` chunk activities in flight, stop
// starting new ones while paused, and hand back a small state to continue-as-new with
// (only ranges planned but not started travel on, plus where planning resumes).
import { CancellationScope, condition } from '@temporalio/workflow';
import type { ChunkPage, ChunkRange, ChunkQueueState } from '../contracts/backfill';

export interface ChunkQueueOptions<P> {
  state: ChunkQueueState<P>;
  parallelism: number;
  /** Chunks to start in this run before continuing as new (bounds history). */
  chunksPerRun: number;
  planPage: (from: string[] | null) => Promise<ChunkPage>;
  onPlanned: (page: ChunkPage) => void;
  isPaused: () => boolean;
  runChunk: (chunk: ChunkRange) => Promise<void>;
}

/** 'done' when every chunk of the table has run; 'continue' when the run should continue-as-new. */
export async function drainChunks<P>(o: ChunkQueueOptions<P>): Promise<'done' | 'continue'> {
  const { state } = o;
  const inFlight = new Set<number>();
  let failure: unknown;
  let started = 0;
  try {
    for (;;) {
      // Plan ahead while copies run, so the window never drains waiting for boundaries.
      if (!state.planned && state.pending.length <= o.parallelism) {
        const page = await o.planPage(state.planFrom);
        for (const r of page.ranges) state.pending.push({ index: state.nextIndex++, lo: r.lo, hi: r.hi });
        state.planFrom = page.next;
        state.planned = page.next === null;
        state.plannedRows += page.rows;
        o.onPlanned(page);
        continue;
      }
      if (state.pending.length === 0 || started >= o.chunksPerRun) break;
      // Pause takes effect between chunks here (running copies also stop between batches).
      await condition(() => failure !== undefined || (!o.isPaused() && inFlight.size < o.parallelism));
      if (failure !== undefined) break;
      const chunk = state.pending.shift()!;
      started++;
      inFlight.add(chunk.index);
      o.runChunk(chunk)
        .catch((err) => void (failure ??= err))
        .finally(() => inFlight.delete(chunk.index));
    }
  } finally {
    // Whatever ends the loop (a failure, an abort), chunks in flight settle first: after an
    // abort, no chunk is still writing once the table reports.
    await CancellationScope.nonCancellable(() => condition(() => inFlight.size === 0));
  }
  if (failure !== undefined) throw failure;
  return state.planned && state.pending.length === 0 ? 'done' : 'continue';
}

/** Chunks planned per page: enough to keep the window busy, small enough for any payload. */
export function pageSize(chunksPerRun: number): number {
  return Math.min(200, chunksPerRun);
}
