// Connection pools, opened where the work happens. Specs carry `${VAR}` references; they are
// resolved here, from this process's environment, so URLs and passwords never travel through
// Temporal. One pool per resolved URL per process, shared by every activity it runs.
import { Pool, types as pgTypes, type PoolClient } from 'pg';
import { MongoClient } from 'mongodb';
import { ApplicationFailure } from '@temporalio/common';
import { interpolate, redact } from '../contracts/references';

const pgPools = new Map<string, Pool>();
const mongoClients = new Map<string, Promise<MongoClient>>();

/** Every value arrives in PostgreSQL's own text form; each engine's mapping decides what it becomes. */
const rawText = {
  getTypeParser: (() => (value: string) => value) as unknown as typeof pgTypes.getTypeParser,
};

/** Resolves `${VAR}` references; a missing variable is a configuration error, not retryable. */
export function resolveUrl(ref: string, what: string): string {
  const { value, missing } = interpolate(ref, process.env);
  if (missing.length) {
    throw ApplicationFailure.nonRetryable(
      `${what}: environment variable ${missing.join(', ')} is not set on this worker; export it where \`ferry worker\` runs`,
      'SpecError',
    );
  }
  return value;
}

export function pgPool(ref: string, what = 'source.url'): Pool {
  const url = resolveUrl(ref, what);
  let pool = pgPools.get(url);
  if (!pool) {
    pool = new Pool({
      connectionString: url,
      max: Number(process.env.FERRY_PG_POOL_MAX ?? 8),
      types: rawText,
      // Text output that reads back the same everywhere: ISO dates in UTC, exact floats.
      options: '-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3',
      application_name: 'ferry',
    });
    pool.on('error', (err) => console.warn(`ferry: idle PostgreSQL connection to ${redact(url)} failed: ${err.message}`));
    pgPools.set(url, pool);
  }
  return pool;
}

export function mongoClient(ref: string, what = 'target.url'): Promise<MongoClient> {
  const url = resolveUrl(ref, what);
  let client = mongoClients.get(url);
  if (!client) {
    client = MongoClient.connect(url, { serverSelectionTimeoutMS: 10_000 });
    client.catch(() => mongoClients.delete(url));
    mongoClients.set(url, client);
  }
  return client;
}

/** Runs fn in one transaction on a dedicated client: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function closeAll(): Promise<void> {
  const pools = [...pgPools.values()];
  const clients = [...mongoClients.values()];
  pgPools.clear();
  mongoClients.clear();
  await Promise.allSettled([...pools.map((p) => p.end()), ...clients.map(async (c) => (await c).close())]);
}
