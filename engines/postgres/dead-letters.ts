// The dead-letter store on a PostgreSQL target: table _ferry.dead_letters (see engines/dead-letters.ts).
import type { Pool } from 'pg';
import { withCreated } from '../created';
import { ensureFerryTable } from './created-ledger';
import type { DeadLetterStore } from '../dead-letters';
import type { DeadLetter } from '../rows';

/** Parameters per INSERT stay far below what one message can carry, whatever the values' size. */
const INSERT_BYTES = 16 * 1024 * 1024;

/** PostgreSQL text cannot hold NUL: a value that is not JSON (a poison message) may. */
function storable(text: string | null): string | null {
  return text !== null && text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}

export class PostgresDeadLetters implements DeadLetterStore {
  constructor(private readonly pool: Pool) {}

  /** Runs fn with the table in place (created again if a target reset dropped it). */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    return withCreated(this.pool, '_ferry.dead_letters', () => this.create(), fn);
  }

  /** Several consumers may race to create the table: losing the race is fine (created-ledger.ts records who made it). */
  private async create(): Promise<void> {
    await ensureFerryTable(this.pool, 'dead_letters', [
      `CREATE TABLE _ferry.dead_letters (
         migration_id text NOT NULL, topic text NOT NULL, "partition" int NOT NULL, "offset" bigint NOT NULL,
         key text, table_name text, reason text NOT NULL, value text, at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (migration_id, topic, "partition", "offset"))`,
    ]);
  }

  async add(entries: DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    let batch: DeadLetter[] = [];
    let bytes = 0;
    for (const e of entries) {
      const size = (e.value?.length ?? 0) + e.reason.length + (e.key?.length ?? 0);
      if (batch.length && bytes + size > INSERT_BYTES) {
        await this.insert(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(e);
      bytes += size;
    }
    await this.insert(batch);
  }

  /** One statement (ON CONFLICT DO NOTHING), so running it again after a reset is safe. */
  private async insert(entries: DeadLetter[]): Promise<void> {
    await this.run(() => this.pool.query(
      `INSERT INTO _ferry.dead_letters (migration_id, topic, "partition", "offset", key, table_name, reason, value)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[])
       ON CONFLICT DO NOTHING`,
      [
        entries.map((e) => e.migrationId),
        entries.map((e) => e.topic),
        entries.map((e) => e.partition),
        entries.map((e) => e.offset),
        entries.map((e) => storable(e.key)),
        entries.map((e) => e.table),
        entries.map((e) => storable(e.reason)),
        entries.map((e) => storable(e.value)),
      ],
    ));
  }

  async count(migrationId: string): Promise<number> {
    const res = await this.run(() => this.pool.query(`SELECT count(*)::text AS n FROM _ferry.dead_letters WHERE migration_id = $1`, [migrationId]));
    return Number(res.rows[0].n);
  }

  async list(migrationId: string, limit: number): Promise<Array<DeadLetter & { at: string }>> {
    const res = await this.run(() => this.pool.query(
      `SELECT migration_id, topic, "partition", "offset"::text AS "offset", key, table_name, reason, value,
              to_json(at)#>>'{}' AS at
         FROM _ferry.dead_letters WHERE migration_id = $1 ORDER BY at, topic, "partition", "offset" LIMIT $2`,
      [migrationId, limit],
    ));
    return res.rows.map((r) => ({
      migrationId: r.migration_id,
      topic: r.topic,
      partition: Number(r.partition),
      offset: r.offset,
      key: r.key,
      table: r.table_name,
      reason: r.reason,
      value: r.value,
      at: new Date(r.at).toISOString(),
    }));
  }
}
