// What the source must allow before Ferry sets up change capture. Every check only reads the
// catalog, and every problem is collected (not thrown one at a time), so the user fixes them
// all in one go and nothing is created on a source that would refuse a later step. Each
// message names the object and the statement that fixes it.
import type { Pool } from 'pg';
import type { TablePlan } from '../../../contracts/tables';
import { quoteIdent, quoteQualified } from '../identifiers';
import { MARKER_SCHEMA, MARKER_TABLE } from './marker';

const markerQuoted = `${MARKER_SCHEMA}.${MARKER_TABLE}`;

/** wal_level other than logical: pgoutput cannot decode anything. */
export function walLevelProblem(walLevel: string): string | null {
  if (walLevel === 'logical') return null;
  return (
    `wal_level is ${walLevel}; change capture needs logical: run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL ` +
    `(on a managed service set the parameter group's logical replication option, e.g. rds.logical_replication = 1)`
  );
}

/** How a table's replica identity looks, as far as the identity decision needs. */
export interface IdentityFacts {
  /** The table as SQL (quoted), used in the ALTER statement. */
  sql: string;
  /** relreplident: d default, n nothing, f full, i index. */
  replident: string;
  /** Primary key columns, or null without one. */
  primaryKey: string[] | null;
  /** The REPLICA IDENTITY USING INDEX index, for replident 'i'. */
  identityIndex: { name: string; columns: string[] } | null;
  /** A unique index usable as replica identity whose columns are the plan key (to suggest), if any. */
  keyIndex: string | null;
  /** The columns Ferry keys the table by. */
  key: string[];
}

/**
 * Rows as JSON, whatever type parsers the pool has (Ferry's pools return every value as
 * PostgreSQL text: booleans as 't', arrays as '{a,b}'), so booleans and arrays arrive as such.
 */
export async function jsonRows<T>(pool: Pool, sql: string, params: unknown[]): Promise<T[]> {
  const { rows } = await pool.query<{ j: string | T[] }>(`SELECT coalesce(json_agg(q), '[]')::text AS j FROM (${sql}) q`, params);
  const j = rows[0].j;
  return typeof j === 'string' ? (JSON.parse(j) as T[]) : j;
}

const covers = (have: string[] | null | undefined, need: string[]) => !!have && need.every((c) => have.includes(c));

/**
 * Updates and deletes must carry the plan key in the old row image, or the sync cannot tell
 * which target row to change. PostgreSQL sends the replica identity columns as the old image;
 * and once a table is in a publication, UPDATE/DELETE on it fail outright when it has no
 * usable identity — which is why this is checked before the publication is created.
 */
export function identityProblem(t: IdentityFacts): string | null {
  const keyList = t.key.join(', ');
  const fix = () =>
    covers(t.primaryKey, t.key) && t.replident !== 'd'
      ? `ALTER TABLE ${t.sql} REPLICA IDENTITY DEFAULT`
      : t.keyIndex
        ? `ALTER TABLE ${t.sql} REPLICA IDENTITY USING INDEX ${quoteIdent(t.keyIndex)}`
        : `ALTER TABLE ${t.sql} REPLICA IDENTITY FULL`;
  switch (t.replident) {
    case 'f':
      return null;
    case 'n':
      return `${t.sql} has REPLICA IDENTITY NOTHING: its updates and deletes cannot be captured (and PostgreSQL refuses them once the table is published). Run: ${fix()}`;
    case 'd':
      if (!t.primaryKey) {
        return `${t.sql} has no primary key, so its REPLICA IDENTITY DEFAULT identifies no row: deletes could not be captured (and PostgreSQL refuses UPDATE/DELETE once the table is published). Run: ${fix()}`;
      }
      if (!covers(t.primaryKey, t.key)) {
        return `${t.sql}: its primary key (${t.primaryKey.join(', ')}) does not contain the key Ferry uses (${keyList}), so delete events would not carry it. Run: ${fix()}`;
      }
      return null;
    case 'i':
      if (!covers(t.identityIndex?.columns, t.key)) {
        const idx = t.identityIndex ? `index ${t.identityIndex.name} (${t.identityIndex.columns.join(', ')})` : 'an index that no longer exists';
        return `${t.sql}: its replica identity is ${idx}, which does not contain the key Ferry uses (${keyList}). Run: ${fix()}`;
      }
      return null;
    default:
      return `${t.sql}: unknown replica identity '${t.replident}'. Run: ${fix()}`;
  }
}

interface RoleRow {
  user: string;
  db: string;
  rolsuper: boolean;
  rolreplication: boolean;
  /** Member of RDS's rds_replication role, which grants replication there without the attribute. */
  rds_replication: boolean;
  wal_level: string;
  max_slots: number;
  used_slots: number;
  max_senders: number;
  used_senders: number;
  can_create_db: boolean;
  slot_database: string | null;
  slot_plugin: string | null;
  slot_exists: boolean;
  pub_exists: boolean;
  pub_owned: boolean;
  pub_owner: string | null;
  schema_exists: boolean;
  schema_create: boolean;
  marker_exists: boolean;
  marker_owned: boolean;
  marker_owner: string | null;
  marker_writable: boolean;
}

/** Problems on the source that stop change capture for these tables; empty when all is well. */
export async function checkSource(pool: Pool, plans: TablePlan[], name: string): Promise<string[]> {
  const { problems, superuser, user } = await roleProblems(pool, name);
  for (const plan of plans) problems.push(...(await tableProblems(pool, plan, superuser, user)));
  return problems;
}

/**
 * The source-wide part: wal_level, replication right, slots and senders, and what creating
 * the publication and Ferry's marker table needs. `name` is the capture name ('' when not
 * known yet, as in `ferry plan`: then only what holds for any name is judged).
 */
export async function roleProblems(pool: Pool, name: string): Promise<{ problems: string[]; superuser: boolean; user: string }> {
  const rows = await jsonRows<RoleRow>(
    pool,
    `SELECT current_user AS "user", current_database() AS db, r.rolsuper, r.rolreplication,
            EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'rds_replication' AND pg_has_role(current_user, g.oid, 'MEMBER')) AS rds_replication,
            current_setting('wal_level') AS wal_level,
            current_setting('max_replication_slots')::int AS max_slots,
            (SELECT count(*) FROM pg_replication_slots)::int AS used_slots,
            current_setting('max_wal_senders')::int AS max_senders,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')::int AS used_senders,
            has_database_privilege(current_database(), 'CREATE') AS can_create_db,
            s.slot_name IS NOT NULL AS slot_exists, s.database::text AS slot_database, s.plugin::text AS slot_plugin,
            p.oid IS NOT NULL AS pub_exists, coalesce(pg_has_role(p.pubowner, 'USAGE'), false) AS pub_owned,
            pg_get_userbyid(p.pubowner) AS pub_owner,
            ns.oid IS NOT NULL AS schema_exists, coalesce(has_schema_privilege(ns.oid, 'CREATE'), false) AS schema_create,
            m.oid IS NOT NULL AS marker_exists, coalesce(pg_has_role(m.relowner, 'USAGE'), false) AS marker_owned,
            pg_get_userbyid(m.relowner) AS marker_owner,
            coalesce(has_table_privilege(m.oid, 'SELECT, INSERT, UPDATE, DELETE'), false) AS marker_writable
       FROM pg_roles r
       LEFT JOIN pg_replication_slots s ON s.slot_name = $1
       LEFT JOIN pg_publication p ON p.pubname = $1
       LEFT JOIN pg_namespace ns ON ns.nspname = $2
       LEFT JOIN pg_class m ON m.relnamespace = ns.oid AND m.relname = $3
      WHERE r.rolname = current_user`,
    [name, MARKER_SCHEMA, MARKER_TABLE],
  );
  const r = rows[0];
  const user = quoteIdent(r.user);
  const db = quoteIdent(r.db);
  const problems: string[] = [];

  const wal = walLevelProblem(r.wal_level);
  if (wal) problems.push(wal);
  if (!r.rolsuper && !r.rolreplication && !r.rds_replication) {
    problems.push(`user ${r.user} may not open a replication connection (neither superuser nor REPLICATION): run ALTER ROLE ${user} REPLICATION; (on RDS: GRANT rds_replication TO ${user};)`);
  }
  if (r.slot_exists && (r.slot_database !== r.db || r.slot_plugin !== 'pgoutput')) {
    problems.push(`replication slot ${name} already exists for database ${r.slot_database} with plugin ${r.slot_plugin}: it is not Ferry's for this source; drop it (SELECT pg_drop_replication_slot('${name}') in that database) or use another migration id`);
  }
  if (!r.slot_exists && r.used_slots >= r.max_slots) {
    problems.push(`all ${r.max_slots} replication slots are in use (max_replication_slots = ${r.max_slots}): drop an unused one (SELECT slot_name, active FROM pg_replication_slots; SELECT pg_drop_replication_slot('…')) or raise max_replication_slots and restart PostgreSQL`);
  }
  if (!r.slot_exists && r.used_senders >= r.max_senders) {
    problems.push(`all ${r.max_senders} WAL senders are busy (max_wal_senders = ${r.max_senders}): raise max_wal_senders and restart PostgreSQL`);
  }
  // CREATE PUBLICATION and CREATE SCHEMA both need CREATE on the database (superusers pass every check).
  if (!r.rolsuper && !r.can_create_db && (!r.pub_exists || !r.schema_exists)) {
    problems.push(`user ${r.user} cannot create the publication${r.schema_exists ? '' : ' and the schema _ferry'} (no CREATE on database ${r.db}): run GRANT CREATE ON DATABASE ${db} TO ${user};`);
  }
  if (!r.rolsuper && r.pub_exists && !r.pub_owned) {
    problems.push(`publication ${name} exists and belongs to ${r.pub_owner}: only its owner can change it; run ALTER PUBLICATION ${quoteIdent(name)} OWNER TO ${user};`);
  }
  if (!r.rolsuper && r.schema_exists && !r.marker_exists && !r.schema_create) {
    problems.push(`user ${r.user} cannot create Ferry's marker table (no CREATE on schema _ferry): run GRANT CREATE ON SCHEMA _ferry TO ${user};`);
  }
  if (!r.rolsuper && r.marker_exists && !r.marker_owned) {
    // Adding a table to a publication needs its ownership, even for Ferry's own marker table.
    problems.push(`${markerQuoted} belongs to ${r.marker_owner} (another migration's user): run GRANT ${quoteIdent(r.marker_owner ?? '')} TO ${user}; or run migrations of this source as one user`);
  } else if (!r.rolsuper && r.marker_exists && !r.marker_writable) {
    problems.push(`user ${r.user} cannot write ${markerQuoted}: run GRANT SELECT, INSERT, UPDATE, DELETE ON ${markerQuoted} TO ${user};`);
  }

  return { problems, superuser: r.rolsuper, user: r.user };
}

interface TableRow {
  oid: string;
  relkind: string;
  relpersistence: string;
  replident: string;
  owned: boolean;
  owner: string;
  primary_key: string[] | null;
  identity_index: { name: string; columns: string[] } | null;
  key_index: string | null;
}

/**
 * One relation's facts. key_index: a unique, non-partial, immediate index on exactly the key
 * columns, all NOT NULL — the only kind PostgreSQL accepts for REPLICA IDENTITY USING INDEX.
 */
const tableSql = `
  SELECT c.oid::text AS oid, c.relkind::text, c.relpersistence::text, c.relreplident::text AS replident,
         pg_has_role(c.relowner, 'USAGE') AS owned, pg_get_userbyid(c.relowner) AS owner,
         (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE i.indrelid = c.oid AND i.indisprimary) AS primary_key,
         (SELECT json_build_object('name', ic.relname, 'columns', array_agg(a.attname::text ORDER BY k.ord)) FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE i.indrelid = c.oid AND i.indisreplident GROUP BY ic.relname) AS identity_index,
         (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
           WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL
             AND i.indnkeyatts = cardinality($2::text[])
             AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey[0:i.indnkeyatts - 1]) AND a.attnotnull)
                 = (SELECT array_agg(x ORDER BY x) FROM unnest($2::text[]) x)
           ORDER BY i.indisprimary DESC, ic.relname LIMIT 1) AS key_index
    FROM pg_class c WHERE c.oid = $1::regclass`;

async function readTable(pool: Pool, relation: string, key: string[]): Promise<TableRow | null> {
  const rows = await jsonRows<TableRow>(pool, tableSql, [relation, key]);
  return rows[0] ?? null;
}

/** One table's part: it exists, is a table, is owned (to be published), logged, and identifies its rows. */
export async function tableProblems(pool: Pool, plan: TablePlan, superuser: boolean, user: string): Promise<string[]> {
  const sql = quoteQualified(plan.table);
  const t = await readTable(pool, sql, plan.key).catch(() => null);
  if (!t) return [`${sql} does not exist (or ${user} cannot see it): check the table name`];
  const problems: string[] = [];
  if (t.relkind !== 'r' && t.relkind !== 'p') {
    problems.push(`${sql} is not a table (relkind ${t.relkind}): views and foreign tables cannot be captured; migrate the underlying table`);
    return problems;
  }
  if (!superuser && !t.owned) {
    // PostgreSQL lets only a table's owner add it to a publication.
    problems.push(`user ${user} does not own ${sql} (owner ${t.owner}), and only the owner can add it to a publication: run GRANT ${quoteIdent(t.owner)} TO ${quoteIdent(user)}; or ALTER TABLE ${sql} OWNER TO ${quoteIdent(user)};`);
  }
  if (t.relpersistence === 'u') problems.push(`${sql} is UNLOGGED: its changes never reach the WAL; run ALTER TABLE ${sql} SET LOGGED`);
  if (t.relkind === 'r') {
    const p = identityProblem({ sql, replident: t.replident, primaryKey: t.primary_key, identityIndex: t.identity_index, keyIndex: t.key_index, key: plan.key });
    if (p) problems.push(p);
    return problems;
  }
  // A partitioned table's changes happen in its leaves: each leaf's own replica identity counts.
  const leaves = await jsonRows<{ leaf: string }>(
    pool,
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS leaf FROM pg_partition_tree($1::regclass) t
       JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.isleaf ORDER BY 1`,
    [sql],
  );
  for (const { leaf } of leaves) {
    const l = await readTable(pool, leaf, plan.key);
    if (!l) continue;
    const p = identityProblem({ sql: leaf, replident: l.replident, primaryKey: l.primary_key, identityIndex: l.identity_index, keyIndex: l.key_index, key: plan.key });
    if (p) problems.push(`${p} (a partition of ${sql})`);
  }
  return problems;
}
