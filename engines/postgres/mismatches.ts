// The mismatch store on a PostgreSQL target: table _ferry.mismatches (see engines/mismatches.ts).
import type { Pool } from 'pg';
import type { MismatchKind } from '../../contracts/verify';
import { inTransaction } from '../connections';
import { withCreated } from '../created';
import { ensureFerryTable } from './created-ledger';
import { WRITE_BATCH, cursorOf, emptyCounts, type Mismatch, type MismatchStore, type StoredMismatch } from '../mismatches';

export class PostgresStore implements MismatchStore {
  constructor(private readonly pool: Pool) {}

  /** Runs fn with the table in place (created again if a target reset dropped it). */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    return withCreated(this.pool, '_ferry.mismatches', () => this.create(), fn);
  }

  /** Parallel chunks may race to create the table: losing the race is fine (created-ledger.ts records who made it). */
  private async create(): Promise<void> {
    await ensureFerryTable(
      this.pool,
      'mismatches',
      [
        `CREATE TABLE _ferry.mismatches (
           verify_id text NOT NULL, table_name text NOT NULL, chunk int NOT NULL, kind text NOT NULL,
           key jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), repaired_at timestamptz,
           PRIMARY KEY (verify_id, table_name, key))`,
      ],
      [`CREATE INDEX IF NOT EXISTS mismatches_chunk ON _ferry.mismatches (verify_id, table_name, chunk)`],
    );
  }

  async recordChunk(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void> {
    await this.run(() =>
      inTransaction(this.pool, async (client) => {
        await client.query('DELETE FROM _ferry.mismatches WHERE verify_id = $1 AND table_name = $2 AND chunk = $3', [verifyId, table, chunk]);
        for (let i = 0; i < entries.length; i += WRITE_BATCH) await this.insert(client, verifyId, table, chunk, entries.slice(i, i + WRITE_BATCH));
      }),
    );
  }

  async add(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void> {
    // One batch per run: a batch is one statement, so repeating it after a reset is safe.
    for (let i = 0; i < entries.length; i += WRITE_BATCH) await this.run(() => this.insert(this.pool, verifyId, table, chunk, entries.slice(i, i + WRITE_BATCH)));
  }

  private async insert(db: Pick<Pool, 'query'>, verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void> {
    if (entries.length === 0) return;
    await db.query(
      `INSERT INTO _ferry.mismatches (verify_id, table_name, chunk, kind, key)
       SELECT $1, $2, $3, u.kind, u.key FROM unnest($4::text[], $5::jsonb[]) AS u(kind, key)
       ON CONFLICT (verify_id, table_name, key) DO UPDATE
         SET chunk = EXCLUDED.chunk, kind = EXCLUDED.kind, recorded_at = now(), repaired_at = NULL`,
      [verifyId, table, chunk, entries.map((e) => e.kind), entries.map((e) => JSON.stringify(e.key))],
    );
  }

  async page(verifyId: string, table: string, after: string | null, limit: number) {
    const res = await this.run(() => this.pool.query(
      `SELECT chunk, kind, key::text AS key FROM _ferry.mismatches
        WHERE verify_id = $1 AND table_name = $2 AND repaired_at IS NULL AND ($3::jsonb IS NULL OR key > $3::jsonb)
        ORDER BY key LIMIT $4`,
      [verifyId, table, after, limit],
    ));
    const entries = res.rows.map((r) => ({ table, chunk: Number(r.chunk), kind: r.kind as MismatchKind, key: JSON.parse(r.key) as string[], repaired: false }));
    return { entries, next: entries.length ? cursorOf(entries[entries.length - 1].key) : null };
  }

  async markRepaired(verifyId: string, table: string, keys: string[][]): Promise<void> {
    if (keys.length === 0) return;
    await this.run(() =>
      this.pool.query(`UPDATE _ferry.mismatches SET repaired_at = now() WHERE verify_id = $1 AND table_name = $2 AND key = ANY($3::jsonb[])`, [
        verifyId,
        table,
        keys.map(cursorOf),
      ]),
    );
  }

  async countByKind(verifyId: string, table: string): Promise<Record<MismatchKind, number>> {
    const res = await this.run(() =>
      this.pool.query(`SELECT kind, count(*)::int AS n FROM _ferry.mismatches WHERE verify_id = $1 AND table_name = $2 GROUP BY kind`, [verifyId, table]),
    );
    const counts = emptyCounts();
    for (const r of res.rows) counts[r.kind as MismatchKind] = Number(r.n);
    return counts;
  }

  async list(verifyId: string, table: string | undefined, limit: number): Promise<StoredMismatch[]> {
    const res = await this.run(() => this.pool.query(
      `SELECT table_name, chunk, kind, key::text AS key, repaired_at IS NOT NULL AS repaired FROM _ferry.mismatches
        WHERE verify_id = $1 AND ($2::text IS NULL OR table_name = $2) ORDER BY table_name, key LIMIT $3`,
      [verifyId, table ?? null, limit],
    ));
    return res.rows.map((r) => ({ table: r.table_name, chunk: Number(r.chunk), kind: r.kind, key: JSON.parse(r.key), repaired: r.repaired === true || r.repaired === 't' }));
  }
}
