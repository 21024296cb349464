// One attempt at a time per chunk. A copy attempt whose heartbeats stop reaching Temporal
// (a stalled event loop, a slow network) is retried while it may still be writing; two
// attempts writing one key range at once collide (PostgreSQL: 23505 on the COPY). So each
// attempt first takes a session-level advisory lock on the SOURCE (always PostgreSQL, so this
// works for every target; it needs no privilege and writes nothing) on a dedicated
// connection held for the whole attempt. A retry waits, heartbeating, until the earlier
// attempt has stopped and released it; a worker that dies takes the lock with its session.
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import type { Spec } from '../../contracts/spec';
import { resolveUrl } from '../connections';

const POLL_MS = 1_000;
const PING_EVERY_MS = 5_000;

/**
 * The lock key of a chunk: its key range in its target table. Hashed to a bigint (what
 * pg_advisory_lock takes); the target URL is resolved, so the key means the same database
 * whatever variable names it, and never shows a password.
 */
export function chunkLockKey(spec: Spec, plan: TablePlan, chunk: ChunkRange): string {
  const target = resolveUrl(spec.target.url, 'target.url');
  const text = JSON.stringify(['ferry-chunk', target, spec.target.database ?? null, plan.table, chunk.lo, chunk.hi]);
  return createHash('sha256').update(text).digest().readBigInt64BE(0).toString();
}

export interface ChunkLock {
  /** Throws (retryably) if the lock's session is gone, so the attempt stops before writing more. */
  check(): Promise<void>;
  /** Unlocks and closes the session. Safe to call twice. */
  release(): Promise<void>;
}

export interface LockWait {
  /** Called while waiting, so a waiting attempt is not taken for a dead one. */
  heartbeat(): void;
  /** Sleeps ms; rejects when the attempt is cancelled (Context.sleep does). */
  sleep(ms: number): Promise<void>;
}

/**
 * Takes the chunk's lock on a session of its own, outside the source pool: one lock per chunk
 * in flight would otherwise hold pool connections the copies themselves need (a pool of 8
 * and 8 chunks in flight would wait on each other forever). `sourceRef` is the spec's
 * source.url.
 */
export async function lockChunk(sourceRef: string, key: string, wait: LockWait): Promise<ChunkLock> {
  const client = new Client({ connectionString: resolveUrl(sourceRef, 'source.url'), application_name: 'ferry chunk lock' });
  let lost: Error | undefined;
  // An error on the idle session (the server ended it) must not crash the process; it makes
  // check() fail instead.
  const onError = (err: Error) => void (lost = err);
  client.on('error', onError);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
    // The session (and any lock it still holds) ends with the connection.
    await client.end().catch(() => undefined);
  };
  try {
    await client.connect();
    // The holder's session sits idle while its batches run on other connections; if its
    // worker's host vanishes, keepalives end the session (and free the lock) within about a
    // minute instead of the OS default of hours. Ignored on Unix sockets.
    await client.query(`SELECT set_config('tcp_keepalives_idle', '30', false), set_config('tcp_keepalives_interval', '10', false), set_config('tcp_keepalives_count', '3', false)`);
    for (;;) {
      const res = await client.query('SELECT pg_try_advisory_lock($1::bigint)::text AS got', [key]);
      if (res.rows[0].got === 'true') break;
      wait.heartbeat();
      await wait.sleep(POLL_MS);
    }
  } catch (err) {
    await release();
    throw err;
  }
  let lastPing = Date.now();
  return {
    async check() {
      if (lost) throw new Error(`the chunk lock's session ended (${lost.message}); the attempt stops so a retry can take over`);
      // A session the server ended shows as an error event at once; the ping catches a
      // silent one. Every few seconds is enough: a round trip per batch costs the copy time.
      if (Date.now() - lastPing < PING_EVERY_MS) return;
      lastPing = Date.now();
      await client.query('SELECT 1').catch((err) => {
        throw new Error(`the chunk lock's session ended (${(err as Error).message}); the attempt stops so a retry can take over`);
      });
    },
    release,
  };
}
