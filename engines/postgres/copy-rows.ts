// Counts the rows of a COPY stream as it passes, without decoding a value, so a whole-chunk
// COPY can keep the activity's pace (throttle in rows per second, pause) while the bytes flow
// straight from the source's COPY TO into the target's COPY FROM.
//
// Binary format: an 11-byte signature, 4 bytes of flags, a 4-byte header-extension length and
// that many bytes; then per row an int16 field count (-1 ends the data) and per field an int32
// length (-1 for NULL) followed by that many bytes. Text format: one row per newline (a
// newline inside a value is escaped as \n, never sent raw).
import { Transform, type TransformCallback } from 'node:stream';

export class RowCounter {
  rows = 0;
  private state: 'header' | 'extension' | 'count' | 'length' | 'data' | 'done' = 'header';
  /** Bytes still to skip (data, extension) or to gather (header, count, length). */
  private need = 19;
  private fields = 0;
  private readonly scratch = Buffer.alloc(19);
  private have = 0;

  constructor(private readonly format: 'binary' | 'text') {}

  /** Rows completed in `chunk`. */
  feed(chunk: Buffer): number {
    const before = this.rows;
    if (this.format === 'text') {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.rows++;
      return this.rows - before;
    }
    let i = 0;
    while (i < chunk.length && this.state !== 'done') {
      if (this.state === 'data' || this.state === 'extension') {
        const take = Math.min(this.need, chunk.length - i);
        i += take;
        this.need -= take;
        if (this.need === 0) this.afterSkip();
        continue;
      }
      // Gather a fixed-size header, count or length, which may straddle two chunks.
      const take = Math.min(this.need - this.have, chunk.length - i);
      chunk.copy(this.scratch, this.have, i, i + take);
      this.have += take;
      i += take;
      if (this.have < this.need) break;
      this.have = 0;
      this.afterGather();
    }
    return this.rows - before;
  }

  private afterGather(): void {
    if (this.state === 'header') {
      this.need = this.scratch.readInt32BE(15);
      this.state = 'extension';
      if (this.need === 0) this.afterSkip();
    } else if (this.state === 'count') {
      const n = this.scratch.readInt16BE(0);
      if (n === -1) {
        this.state = 'done';
        return;
      }
      this.fields = n;
      this.nextField();
    } else {
      const len = this.scratch.readInt32BE(0);
      this.fields--;
      if (len > 0) {
        this.need = len;
        this.state = 'data';
      } else this.nextField();
    }
  }

  private afterSkip(): void {
    if (this.state === 'extension') this.expectCount();
    else this.nextField();
  }

  private nextField(): void {
    if (this.fields === 0) {
      this.rows++;
      this.expectCount();
    } else {
      this.state = 'length';
      this.need = 4;
    }
  }

  private expectCount(): void {
    this.state = 'count';
    this.need = 2;
  }
}

/** A pass-through stream that awaits `pace(rows)` for the rows each chunk completes (backpressure holds the COPY while it waits). */
export function pacedRows(format: 'binary' | 'text', pace: (rows: number) => Promise<void>): Transform & { counter: RowCounter } {
  const counter = new RowCounter(format);
  const t = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const rows = counter.feed(chunk);
      pace(rows).then(() => done(null, chunk), done);
    },
  });
  return Object.assign(t, { counter });
}
