// The rehearsal records on a PostgreSQL target: `_ferry.rehearsals`, one row per rehearsal,
// the record as jsonb (read back as text and parsed here: Ferry's pools keep json as text, exactly
// as written). Created when missing, not recorded in Ferry's ledger (engines/rehearsals.ts).
import type { Pool } from 'pg';
import type { RehearsalRecord } from '../../contracts/rehearsal';
import type { RehearsalStore } from '../rehearsals';
import { MARKER_SCHEMA } from './capture/marker';
import { createIfMissing } from './create-if-missing';

export const REHEARSALS_TABLE = `${MARKER_SCHEMA}.rehearsals`;

export class PgRehearsalStore implements RehearsalStore {
  constructor(private readonly pool: Pool) {}

  private async exists(): Promise<boolean> {
    const { rows } = await this.pool.query<{ e: string }>(`SELECT (to_regclass('${REHEARSALS_TABLE}') IS NOT NULL)::text AS e`);
    return rows[0].e === 'true';
  }

  async save(record: RehearsalRecord): Promise<void> {
    if (!(await this.exists())) {
      await createIfMissing(this.pool, `CREATE SCHEMA IF NOT EXISTS ${MARKER_SCHEMA};
        CREATE TABLE IF NOT EXISTS ${REHEARSALS_TABLE} (
          rehearsal text PRIMARY KEY, spec text NOT NULL, started_at timestamptz NOT NULL, verdict text NOT NULL, record jsonb NOT NULL)`);
    }
    await this.pool.query(
      `INSERT INTO ${REHEARSALS_TABLE} (rehearsal, spec, started_at, verdict, record) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (rehearsal) DO UPDATE SET spec = excluded.spec, started_at = excluded.started_at, verdict = excluded.verdict, record = excluded.record`,
      [record.rehearsalId, record.specName, record.startedAt, record.verdict, JSON.stringify(record)],
    );
  }

  async get(rehearsalId: string): Promise<RehearsalRecord | null> {
    if (!(await this.exists())) return null;
    const { rows } = await this.pool.query<{ record: string }>(`SELECT record::text AS record FROM ${REHEARSALS_TABLE} WHERE rehearsal = $1`, [rehearsalId]);
    return rows[0] ? (JSON.parse(rows[0].record) as RehearsalRecord) : null;
  }

  async list(specName: string): Promise<RehearsalRecord[]> {
    if (!(await this.exists())) return [];
    const { rows } = await this.pool.query<{ record: string }>(`SELECT record::text AS record FROM ${REHEARSALS_TABLE} WHERE spec = $1 ORDER BY started_at, rehearsal`, [specName]);
    return rows.map((r) => JSON.parse(r.record) as RehearsalRecord);
  }
}
