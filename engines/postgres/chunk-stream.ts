// A chunk's rows as one byte stream, hashed in Node: COPY (SELECT <every column, in plan
// order> FROM t WHERE <range> ORDER BY <key>) TO STDOUT, fed through a hash as it arrives.
// Two sides that hold the same rows send the same bytes when they list the same columns in
// the same order, order the rows alike (keys compared under the collations of key-ranges.ts)
// and print values alike: binary COPY for built-in types (their binary forms are the same
// on every server), text where a value's binary form would carry a database's own type oids
// (copyFormat), under the pools' fixed TimeZone, DateStyle and extra_float_digits. Nothing
// is buffered beyond what the stream holds in flight.
import type { Pool } from 'pg';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { to as copyTo } from 'pg-copy-streams';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { quoteIdent, quoteQualified } from './identifiers';
import { copyFormat } from './copy';
import type { KeySql } from './key-ranges';

/** sha256 runs at memory speed here (SHA extensions); md5 is three times slower. */
const ALGORITHM = 'sha256';

/** What a chunk's stream hash is reported as: the format, then the digest of the bytes. */
export const STREAM_HASH_PREFIX = `copy-${ALGORITHM}:`;

/**
 * The COPY format of a verification stream. Generated columns are compared too, so they
 * decide it as well (copyFormat only looks at the columns a copy writes).
 */
export function verifyFormat(plan: TablePlan): 'binary' | 'text' {
  return copyFormat(plan.columns.map((c) => ({ ...c, generated: false })));
}

/**
 * rangeWhere (key-ranges.ts) with the key values inlined as literals, since COPY takes no
 * bind parameters: `(e1, e2) >= ('v1'::t1, 'v2'::t2) AND (e1, e2) < (…)`.
 */
export function rangeWhereLiteral(k: KeySql, range: ChunkRange, literal: (v: string) => string): string {
  const compare = (op: string, values: string[]) => `(${k.exprs.join(', ')}) ${op} (${values.map((v, i) => `${literal(v)}::${k.types[i]}`).join(', ')})`;
  const where: string[] = [];
  if (range.lo) where.push(compare('>=', range.lo));
  if (range.hi) where.push(compare('<', range.hi));
  return where.length ? ` WHERE ${where.join(' AND ')}` : '';
}

/** The COPY statement whose output is a chunk's stream (the table aliased t, as KeySql expects). */
export function chunkCopySql(plan: TablePlan, k: KeySql, range: ChunkRange, literal: (v: string) => string, format = verifyFormat(plan)): string {
  const cols = plan.columns.map((c) => `t.${quoteIdent(c.name)}`).join(', ');
  return (
    `COPY (SELECT ${cols} FROM ${quoteQualified(plan.table)} t${rangeWhereLiteral(k, range, literal)} ORDER BY ${k.exprs.join(', ')}) ` +
    `TO STDOUT (FORMAT ${format})`
  );
}

/** A Writable that hashes what it is given and keeps nothing. */
class HashSink extends Writable {
  readonly hash = createHash(ALGORITHM);
  bytes = 0;

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    for (const { chunk } of chunks) {
      this.hash.update(chunk);
      this.bytes += chunk.length;
    }
    done();
  }
}

/**
 * Streams one side's chunk through a hash: the rows COPY sent (its own count, from the
 * server's CommandComplete) and the digest of the bytes, prefixed with STREAM_HASH_PREFIX.
 * The statement sees one snapshot, as the SQL sums did.
 */
export async function chunkStreamHash(pool: Pool, plan: TablePlan, k: KeySql, range: ChunkRange, format = verifyFormat(plan)): Promise<{ rows: number; hash: string; bytes: number }> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    const stream = copyTo(chunkCopySql(plan, k, range, (v) => client.escapeLiteral(v), format)) as ReturnType<typeof copyTo> & { handleReadyForQuery(): void };
    // The row count arrives in CommandComplete, which may be read after the stream ends;
    // ReadyForQuery (pg's Submittable interface) follows it, so the count is final then.
    const settled = new Promise<void>((resolve) => {
      const own = stream.handleReadyForQuery.bind(stream);
      stream.handleReadyForQuery = () => {
        own();
        resolve();
      };
    });
    const sink = new HashSink();
    await pipeline(client.query(stream), sink);
    await settled;
    return { rows: stream.rowCount, hash: STREAM_HASH_PREFIX + sink.hash.digest('hex'), bytes: sink.bytes };
  } catch (err) {
    failure = err as Error;
    throw err;
  } finally {
    // A client that saw a failed COPY is destroyed rather than reused.
    client.release(failure);
  }
}
