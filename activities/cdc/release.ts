// Removes what prepareCapture created for one migration: connector (and the offsets Connect
// stores for it), replication slot, publication, marker rows, the claim on the name — and,
// for `ferry cleanup`, Ferry's shared tables on the source once no migration uses them.
// Used by releaseCapture (abort, failure, end) and by `ferry cleanup`. Every step is tried
// whatever happened to the one before, nothing waits without bound, and nothing throws: the
// report says what was removed and what is left, with the command that removes it by hand.
// Only what is this migration's is touched; a name recorded as another's is left alone.
import type { Pool } from 'pg';
import { type Spec } from '../../contracts/spec';
import { redact } from '../../contracts/references';
import { pgPool } from '../../engines/connections';
import { ConnectError, connectFor, sourcePassword } from './connect';
import { MARKER_SCHEMA, MARKER_TABLE } from '../../engines/postgres/capture/marker';
import { CONNECTOR_OWNER_KEY, OWNER_TABLE, forgetClaim, recordedOwner } from '../../engines/postgres/capture/ownership';
import type { CaptureRelease } from './release-report';

/** How long a slot may stay active after its connector was deleted (Connect lets go of it in seconds). */
const SLOT_RELEASE_MS = 60_000;
const markerTable = `${MARKER_SCHEMA}.${MARKER_TABLE}`;
const ownerTable = `${MARKER_SCHEMA}.${OWNER_TABLE}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const why = (err: unknown) => (err as Error)?.message ?? String(err);
const truthy = (v: unknown) => v === true || v === 't';

/** A URL from the spec as a shell word: `${VAR}` references stay for the shell to expand, credentials are hidden. */
function urlWord(raw: string): string {
  return `"${redact(raw).replace(/(["\\`])/g, '\\$1')}"`;
}

/** SQL as one single-quoted shell word, whatever it contains. */
function sqlWord(sql: string): string {
  return `'${sql.replace(/'/g, `'\\''`)}'`;
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

export async function removeCapture(spec: Spec, name: string, migrationId: string, opts: { dropShared?: boolean } = {}): Promise<CaptureRelease> {
  const report: CaptureRelease = { name, removed: [], alreadyGone: [], notOurs: [], left: [] };
  const psql = (sql: string) => `psql ${urlWord(spec.source.url)} -c ${sqlWord(sql)}`;

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
  const ours = !owner || owner === migrationId;

  const connectorGone = spec.sync ? await removeConnector(spec, name, migrationId, report) : true;

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
  return report;
}

/** Connector first: while it runs it holds the slot. Stopped first, its stored offsets can be deleted too. */
async function removeConnector(spec: Spec, name: string, migrationId: string, report: CaptureRelease): Promise<boolean> {
  const what = `connector ${name}`;
  const connectUrl = `${spec.sync!.connect.replace(/\/+$/, '')}/connectors/${name}`;
  const command = `curl -X DELETE ${urlWord(connectUrl)}`;
  try {
    const connect = connectFor(spec, [sourcePassword(spec)]);
    const config = await connect.config(name);
    if (!config) {
      report.alreadyGone.push(what);
      return true;
    }
    const owner = config[CONNECTOR_OWNER_KEY];
    if (owner && owner !== migrationId) {
      report.notOurs.push(`${what} (migration ${owner})`);
      return true;
    }
    // A connector registered later under this name then starts afresh instead of resuming
    // from an LSN of a slot that no longer exists (DELETE …/offsets needs Connect ≥ 3.6).
    const offsets = (await connect.stop(name)) && (await connect.deleteOffsets(name));
    await connect.remove(name);
    report.removed.push(what);
    if (offsets) report.removed.push(`${what}'s stored offsets`);
    else {
      report.left.push({
        what: `${what}'s stored offsets`,
        reason: 'Kafka Connect did not delete them (PUT /connectors/NAME/stop and DELETE /connectors/NAME/offsets need Connect ≥ 3.6); a connector registered again under this name would resume from them',
        command: `register the connector again, then: curl -X PUT ${urlWord(`${connectUrl}/stop`)} && curl -X DELETE ${urlWord(`${connectUrl}/offsets`)} && ${command}`,
      });
    }
    return true;
  } catch (err) {
    const reason = err instanceof ConnectError && err.status === 0 ? err.message : why(err);
    report.left.push({ what, reason, command });
    return false;
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
