// The source side of releasing a capture on PostgreSQL: the replication slot (once its
// connector let go of it), the publication, this migration's marker rows, the claim on the
// name, and for `ferry cleanup` Ferry's shared tables once no migration uses them. Called by
// activities/cdc/release.ts after the connector is gone. Every step is tried whatever happened
// to the one before and nothing throws: the report says what is left and the command that
// removes it by hand. Only what is this migration's is touched.
import type { Pool } from 'pg';
import type { Spec } from '../../../contracts/spec';
import { sqlWord, urlWord, type CaptureRelease } from '../../../contracts/capture-release';
import { pgPool } from '../../connections';
import { MARKER_SCHEMA, MARKER_TABLE } from './marker';
import { OWNER_TABLE, forgetClaim, recordedOwner } from './ownership';

/** How long a slot may stay active after its connector was deleted (Connect lets go of it in seconds). */
const SLOT_RELEASE_MS = 60_000;
const markerTable = `${MARKER_SCHEMA}.${MARKER_TABLE}`;
const ownerTable = `${MARKER_SCHEMA}.${OWNER_TABLE}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const why = (err: unknown) => (err as Error)?.message ?? String(err);
const truthy = (v: unknown) => v === true || v === 't';
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Whose the capture name is, as the source records it; without the source, nothing there is touched. */
export interface CaptureOwner {
  pool: Pool | null;
  owner: string | null;
  /** Why the source could not be read, when pool is null. */
  sourceProblem: string | null;
}

export async function readCaptureOwner(spec: Spec, name: string): Promise<CaptureOwner> {
  let pool: Pool | null = null;
  let owner: string | null = null;
  let sourceProblem: string | null = null;
  try {
    const p = pgPool(spec.source.url);
    owner = await recordedOwner(p, name);
    pool = p;
  } catch (err) {
    // Without knowing whose the name is, nothing on the source is touched.
    sourceProblem = `the source could not be reached (${why(err)})`;
  }
  return { pool, owner, sourceProblem };
}

export async function releaseSourceObjects(
  spec: Spec,
  source: CaptureOwner,
  name: string,
  migrationId: string,
  connectorGone: boolean,
  report: CaptureRelease,
  opts: { dropShared?: boolean },
): Promise<void> {
  const { pool, owner, sourceProblem } = source;
  const ours = !owner || owner === migrationId;
  const psql = (sql: string) => `psql ${urlWord(spec.source.url)} -c ${sqlWord(sql)}`;

  const slot = `replication slot ${name}`;
  const dropSlot = psql(`SELECT pg_drop_replication_slot('${name}')`);
  if (!pool) report.left.push({ what: slot, reason: sourceProblem!, command: dropSlot });
  else if (!ours) report.notOurs.push(`${slot} (migration ${owner})`);
  else await dropSlotWhenFree(pool, name, connectorGone, report, dropSlot);

  const publication = `publication ${name}`;
  const dropPublication = psql(`DROP PUBLICATION IF EXISTS ${name}`);
  if (!pool) report.left.push({ what: publication, reason: sourceProblem!, command: dropPublication });
  else if (!ours) report.notOurs.push(`${publication} (migration ${owner})`);
  else {
    try {
      const { rows } = await pool.query<{ e: unknown }>('SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) AS e', [name]);
      await pool.query(`DROP PUBLICATION IF EXISTS ${name}`); // names are [a-z0-9_]: no quoting needed
      (truthy(rows[0].e) ? report.removed : report.alreadyGone).push(publication);
    } catch (err) {
      report.left.push({ what: publication, reason: why(err), command: dropPublication });
    }
  }

  const markers = `marker rows of migration ${migrationId} in ${markerTable}`;
  const deleteMarkers = `DELETE FROM ${markerTable} WHERE migration = ${literal(migrationId)}`;
  if (!pool) report.left.push({ what: markers, reason: sourceProblem!, command: psql(deleteMarkers) });
  else {
    try {
      const { rows } = await pool.query<{ e: unknown }>(`SELECT to_regclass('${markerTable}') IS NOT NULL AS e`);
      const n = truthy(rows[0].e) ? ((await pool.query(deleteMarkers)).rowCount ?? 0) : 0;
      (n ? report.removed : report.alreadyGone).push(markers);
    } catch (err) {
      report.left.push({ what: markers, reason: why(err), command: psql(deleteMarkers) });
    }
  }

  // The claim goes last, and only when nothing of ours is left: until then the name stays this migration's.
  if (pool && ours && !report.left.length) {
    await forgetClaim(pool, name, migrationId).catch(() => undefined);
    if (opts.dropShared) await dropUnusedShared(pool, report, psql);
  }
}

/**
 * Only an inactive slot can be dropped; Connect's task lets go of it once its connector is
 * deleted. If the connector could not be deleted, waiting is pointless: one look, then report.
 */
async function dropSlotWhenFree(pool: Pool, name: string, connectorGone: boolean, report: CaptureRelease, command: string): Promise<void> {
  const what = `replication slot ${name}`;
  const deadline = Date.now() + (connectorGone ? SLOT_RELEASE_MS : 0);
  let existed = false;
  try {
    for (;;) {
      const { rows } = await pool.query<{ active: unknown; pid: string | null }>('SELECT active, active_pid::text AS pid FROM pg_replication_slots WHERE slot_name = $1', [name]);
      if (!rows.length) {
        (existed ? report.removed : report.alreadyGone).push(what);
        return;
      }
      existed = true;
      if (!truthy(rows[0].active)) {
        try {
          await pool.query('SELECT pg_drop_replication_slot($1)', [name]);
          report.removed.push(what);
          return;
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === '42704') continue; // dropped meanwhile
          if (code !== '55006') throw err; // 55006: became active again, wait
        }
      } else if (Date.now() >= deadline) {
        const reason = connectorGone
          ? `still in use by walsender pid ${rows[0].pid} after its connector was deleted: is another Debezium connector using it?`
          : `in use by walsender pid ${rows[0].pid}: its connector could not be deleted, delete that first`;
        report.left.push({ what, reason, command });
        return;
      }
      await sleep(500);
    }
  } catch (err) {
    report.left.push({ what, reason: why(err), command });
  }
}

/** Ferry's own tables on the source, dropped once no migration uses them (then the schema, if empty). */
async function dropUnusedShared(pool: Pool, report: CaptureRelease, psql: (sql: string) => string): Promise<void> {
  const steps: Array<{ what: string; inUse: string; drop: string }> = [
    {
      what: `table ${markerTable}`,
      inUse: `SELECT coalesce(string_agg(DISTINCT x, ', '), '') AS users FROM (
                SELECT 'migration ' || migration AS x FROM ${markerTable}
                UNION ALL SELECT 'publication ' || pubname FROM pg_publication_tables WHERE schemaname = '${MARKER_SCHEMA}' AND tablename = '${MARKER_TABLE}') u`,
      drop: `DROP TABLE ${markerTable}`,
    },
    {
      what: `table ${ownerTable}`,
      inUse: `SELECT coalesce(string_agg('migration ' || migration, ', '), '') AS users FROM ${ownerTable}`,
      drop: `DROP TABLE ${ownerTable}`,
    },
  ];
  for (const s of steps) {
    const table = s.what.slice('table '.length);
    try {
      const { rows } = await pool.query<{ e: unknown }>(`SELECT to_regclass('${table}') IS NOT NULL AS e`);
      if (!truthy(rows[0].e)) {
        report.alreadyGone.push(s.what);
        continue;
      }
      const users = (await pool.query<{ users: string }>(s.inUse)).rows[0].users;
      if (users) {
        report.notOurs.push(`${s.what} (still used by ${users})`);
        continue;
      }
      await pool.query(s.drop);
      report.removed.push(s.what);
    } catch (err) {
      report.left.push({ what: s.what, reason: why(err), command: psql(s.drop) });
    }
  }
  // RESTRICT: anything else someone keeps in the schema keeps it (and then it is not ours to report).
  try {
    const { rows } = await pool.query<{ e: unknown }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS e', [MARKER_SCHEMA]);
    if (!truthy(rows[0].e)) {
      report.alreadyGone.push(`schema ${MARKER_SCHEMA}`);
      return;
    }
    await pool.query(`DROP SCHEMA ${MARKER_SCHEMA} RESTRICT`);
    report.removed.push(`schema ${MARKER_SCHEMA} (empty)`);
  } catch {
    // not empty: other objects live there
  }
}
