// Which migration a capture name belongs to. Two migration ids must never share a
// replication slot, publication or connector: the second would silently rewire the first.
// captureName keeps distinct ids apart, and this record catches what remains (a name made
// by hand, an id chosen to equal another's name, a connector of the same name from elsewhere):
//   - on the source, _ferry.capture_owner (name → migration id), claimed before anything is
//     created and forgotten only once everything is gone, so a retried prepare finds its own;
//   - in the connector's config, `ferry.migration.id` (Connect keeps unknown keys).
import type { Pool } from 'pg';
import { MARKER_SCHEMA } from './marker';
import { createIfMissing } from '../create-if-missing';

export const OWNER_TABLE = 'capture_owner';
const ownerTable = `${MARKER_SCHEMA}.${OWNER_TABLE}`;
/** The connector config key that names the migration the connector belongs to. */
export const CONNECTOR_OWNER_KEY = 'ferry.migration.id';

/** The recorded owner of a capture name; null when none is recorded (or the table does not exist). */
export async function recordedOwner(pool: Pool, name: string): Promise<string | null> {
  const { rows } = await pool.query<{ e: boolean | string }>(`SELECT to_regclass('${ownerTable}') IS NOT NULL AS e`);
  if (rows[0].e !== true && rows[0].e !== 't') return null;
  const r = await pool.query<{ migration: string }>(`SELECT migration FROM ${ownerTable} WHERE name = $1`, [name]);
  return r.rows[0]?.migration ?? null;
}

/**
 * Records the migration as the name's owner unless one is recorded already; returns the
 * owner afterwards (another id means a concurrent prepare of another migration won).
 */
export async function claimName(pool: Pool, name: string, migrationId: string): Promise<string> {
  const ddl = `CREATE SCHEMA IF NOT EXISTS ${MARKER_SCHEMA};
    CREATE TABLE IF NOT EXISTS ${ownerTable} (name text PRIMARY KEY, migration text NOT NULL, claimed_at timestamptz NOT NULL DEFAULT now())`;
  await createIfMissing(pool, ddl);
  await pool.query(`INSERT INTO ${ownerTable} (name, migration) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, migrationId]);
  return (await recordedOwner(pool, name)) ?? migrationId;
}

/** Forgets the claim (only the migration's own), once nothing of the capture is left. */
export async function forgetClaim(pool: Pool, name: string, migrationId: string): Promise<void> {
  const { rows } = await pool.query<{ e: boolean | string }>(`SELECT to_regclass('${ownerTable}') IS NOT NULL AS e`);
  if (rows[0].e !== true && rows[0].e !== 't') return;
  await pool.query(`DELETE FROM ${ownerTable} WHERE name = $1 AND migration = $2`, [name, migrationId]);
}

/** What exists under a capture name, and whose it says it is. */
export interface NameFacts {
  name: string;
  migrationId: string;
  /** From _ferry.capture_owner; null when nothing is recorded. */
  owner: string | null;
  slotExists: boolean;
  publicationExists: boolean;
  /** Absent: no such connector. null: a connector without Ferry's owner key. */
  connectorOwner?: string | null;
}

const cleanupHint = (id: string) => `remove what it left with \`ferry cleanup --id ${id}\` if it has ended`;

/** Why this migration may not use the name; empty when it may (nothing there, or all of it its own). */
export function ownershipProblems(f: NameFacts): string[] {
  const problems: string[] = [];
  const other = `use another migration id (--id), or ${f.owner ? cleanupHint(f.owner) : 'remove it by hand'}`;
  if (f.owner && f.owner !== f.migrationId) {
    problems.push(`capture name ${f.name} belongs to migration ${f.owner} (recorded in ${ownerTable} on the source): sharing its replication slot, publication and connector would rewire that migration; ${other}`);
  } else if (!f.owner) {
    // Nothing is created before the claim, so an unclaimed slot or publication is someone else's.
    if (f.slotExists) problems.push(`replication slot ${f.name} exists but no migration recorded it as its own: it is not this migration's; drop it (SELECT pg_drop_replication_slot('${f.name}')) if unused, or use another migration id (--id)`);
    if (f.publicationExists) problems.push(`publication ${f.name} exists but no migration recorded it as its own: it is not this migration's; DROP PUBLICATION "${f.name}" if unused, or use another migration id (--id)`);
  }
  if (f.connectorOwner !== undefined && f.connectorOwner !== f.migrationId && !(f.owner && f.owner !== f.migrationId && f.connectorOwner === f.owner)) {
    problems.push(
      f.connectorOwner
        ? `Kafka Connect already runs connector ${f.name} for migration ${f.connectorOwner}: use another migration id (--id), or ${cleanupHint(f.connectorOwner)}`
        : `Kafka Connect already has a connector ${f.name} that Ferry did not register for this migration (no ${CONNECTOR_OWNER_KEY} in its config): delete it (DELETE /connectors/${f.name}) if unused, or use another migration id (--id)`,
    );
  }
  return problems;
}
