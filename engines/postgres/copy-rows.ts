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
  /** Bytes still to skip (data, extension) or to read (header, count, length). */
  private need = 19;
  private fields = 0;
  /** A header, count or length that straddles two chunks is gathered here. */
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
    const n = chunk.length;
    while (i < n && this.state !== 'done') {
      if (this.state === 'data' || this.state === 'extension') {
        const take = Math.min(this.need, n - i);
        i += take;
        this.need -= take;
        if (this.need === 0) this.afterSkip();
      } else if (this.have === 0 && n - i >= this.need) {
        // Whole in this chunk (the common case): read it in place.
        const at = i;
        i += this.need;
        this.afterRead(chunk, at);
      } else {
        const take = Math.min(this.need - this.have, n - i);
        chunk.copy(this.scratch, this.have, i, i + take);
        this.have += take;
        i += take;
        if (this.have < this.need) break;
        this.have = 0;
        this.afterRead(this.scratch, 0);
      }
    }
    return this.rows - before;
  }

  private afterRead(buf: Buffer, at: number): void {
    if (this.state === 'header') {
      this.need = buf.readInt32BE(at + 15);
      this.state = 'extension';
      if (this.need === 0) this.afterSkip();
    } else if (this.state === 'count') {
      const n = buf.readInt16BE(at);
      if (n === -1) {
        this.state = 'done';
        return;
      }
      this.fields = n;
      this.nextField();
    } else {
      const len = buf.readInt32BE(at);
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

/** Rows between two calls of the pace at most, and how often it is called anyway. */
const PACE_ROWS = 1_000;
const PACE_MS = 100;

/**
 * A pass-through stream that awaits `pace(rows)` every PACE_ROWS rows or PACE_MS, whichever
 * comes first (backpressure holds the COPY while it waits). The source's COPY stream yields
 * one chunk per row: awaiting a promise per chunk would cost more CPU than moving the bytes.
 */
export function pacedRows(format: 'binary' | 'text', pace: (rows: number) => Promise<void>): Transform & { counter: RowCounter } {
  const counter = new RowCounter(format);
  let unpaced = 0;
  let due = false;
  const tick = setInterval(() => void (due = true), PACE_MS);
  tick.unref();
  const t = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      unpaced += counter.feed(chunk);
      if (unpaced < PACE_ROWS && !due) return done(null, chunk);
      const rows = unpaced;
      unpaced = 0;
      due = false;
      pace(rows).then(() => done(null, chunk), done);
    },
    flush(done: TransformCallback) {
      clearInterval(tick);
      pace(unpaced).then(() => done(), done);
    },
    destroy(err, done) {
      clearInterval(tick);
      done(err);
    },
  });
  return Object.assign(t, { counter });
}
