// A chunk copied as a series of keyset batches, each durable on its own (an engine without
// transactions spanning a whole chunk: MongoDB). The cursor moves only after a batch is
// written, so a crash replays at most one batch, which the engine's batch write makes a no-op.
import type { BatchCopied, ChunkCopied, ChunkCopyControl, Replay } from './engine';

export type BatchWrite = (after: string[] | null, limit: number, replay: Replay) => Promise<BatchCopied>;

export async function copyInBatches(write: BatchWrite, control: ChunkCopyControl): Promise<ChunkCopied> {
  let cursor = control.resumeFrom;
  // The attempt's first batch clears the rest of the chunk (what earlier attempts left past
  // the cursor), its later batches write into that cleared range.
  let replay: Replay = 'rest';
  let written = 0;
  for (;;) {
    // Pause and throttle act between batches: the cursor is committed, nothing is in flight.
    await control.pace(written);
    const batch = await write(cursor?.after ?? null, control.batchRows, replay);
    replay = 'none';
    if (batch.last === null) break;
    cursor = { after: batch.last, rows: (cursor?.rows ?? 0) + batch.rows };
    control.committed(cursor);
    if (batch.rows < control.batchRows) break;
    written = batch.rows;
  }
  return { rows: cursor?.rows ?? 0 };
}
