// The routing record on a PostgreSQL database (the source, and a PostgreSQL target):
// `_ferry.routing`, one row per migration. An application reads
//   SELECT writes, reads, read_share FROM _ferry.routing WHERE migration = $1
// before it writes (or on every new connection) and goes where it says.
import type { Pool } from 'pg';
import type { RoutingState } from '../../contracts/cutover';
import { MARKER_SCHEMA } from './capture/marker';
import type { RoutingStore } from '../routing';
import { ensureFerryTable } from './created-ledger';
import { createIfMissing } from './create-if-missing';

export const ROUTING_TABLE = `${MARKER_SCHEMA}.routing`;

export class PgRoutingStore implements RoutingStore {
  /** `ledger`: on a target, the table is recorded in Ferry's ledger when this creates it (created-ledger.ts). */
  constructor(
    private readonly pool: Pool,
    private readonly opts: { ledger?: boolean } = {},
  ) {}

  private async ensure(): Promise<void> {
    if (this.opts.ledger) {
      await ensureFerryTable(this.pool, 'routing', [
        `CREATE TABLE ${ROUTING_TABLE} (
          migration text PRIMARY KEY, writes text NOT NULL, reads text NOT NULL, read_share integer NOT NULL,
          phase text NOT NULL, changed_at timestamptz NOT NULL)`,
      ]);
      return;
    }
    const ddl = `CREATE SCHEMA IF NOT EXISTS ${MARKER_SCHEMA};
      CREATE TABLE IF NOT EXISTS ${ROUTING_TABLE} (
        migration text PRIMARY KEY, writes text NOT NULL, reads text NOT NULL, read_share integer NOT NULL,
        phase text NOT NULL, changed_at timestamptz NOT NULL)`;
    await createIfMissing(this.pool, ddl);
  }

  /** Never backwards: a late retry of an older state (a route Update's) leaves a newer one alone. */
  async write(s: RoutingState): Promise<void> {
    await this.ensure();
    await this.pool.query(
      `INSERT INTO ${ROUTING_TABLE} (migration, writes, reads, read_share, phase, changed_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (migration) DO UPDATE SET writes = excluded.writes, reads = excluded.reads, read_share = excluded.read_share, phase = excluded.phase, changed_at = excluded.changed_at
       WHERE ${ROUTING_TABLE}.changed_at <= excluded.changed_at`,
      [s.migration, s.writes, s.reads, s.readShare, s.phase, s.changedAt],
    );
  }

  async read(migrationId: string): Promise<RoutingState | null> {
    const exists = await this.pool.query(`SELECT (to_regclass('${ROUTING_TABLE}') IS NOT NULL)::text AS e`);
    if (exists.rows[0].e !== 'true') return null;
    const { rows } = await this.pool.query<{ writes: RoutingState['writes']; reads: RoutingState['reads']; read_share: string; phase: string; changed_at: string }>(
      `SELECT writes, reads, read_share::text, phase, to_json(changed_at) #>> '{}' AS changed_at FROM ${ROUTING_TABLE} WHERE migration = $1`,
      [migrationId],
    );
    const r = rows[0];
    return r ? { writes: r.writes, reads: r.reads, readShare: Number(r.read_share), migration: migrationId, phase: r.phase, changedAt: new Date(r.changed_at).toISOString() } : null;
  }
}
