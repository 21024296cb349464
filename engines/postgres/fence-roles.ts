// The role fence: the application roles lose INSERT, UPDATE, DELETE and TRUNCATE on the
// migrated tables, their sessions are ended (a transaction already open could otherwise go on
// writing with the privileges it checked before), and the fence is proven before the drain:
// no backend of those roles holds a write lock on a migrated table. Revoking is stricter than
// `default_transaction_read_only`, which a session can switch off for itself. Ferry's own role
// stays outside. What each role held is recorded in the same transaction as the REVOKE, so
// restoring grants back exactly what was there, no more.
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { QualifiedTable } from '../../contracts/tables';
import { inTransaction } from '../connections';
import { ensureFenceTable, forgetFence, recordedFences, recordFence } from './fence-ledger';
import { quoteIdent, quoteQualified } from './identifiers';

const WRITES = ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] as const;

/**
 * The roles whose sessions the fence ends and watches: the fenced roles and every role that
 * belongs to one (an application logging in as a member of a fenced group). Superusers are
 * members of every role as pg_has_role sees it, and are left out (no REVOKE fences them, and
 * Ferry's own role may be one); so is Ferry's own role. $1 is the fenced roles.
 */
const FENCED_LOGINS = `SELECT m.oid FROM pg_roles m WHERE NOT m.rolsuper AND m.rolname <> current_user
    AND EXISTS (SELECT 1 FROM unnest($1::text[]) r WHERE pg_has_role(m.oid, r, 'MEMBER'))`;

const subjectOf = (role: string, table: QualifiedTable) => `${role} ${quoteQualified(table)}`;

/**
 * Roles that cannot be fenced by REVOKE, refused before anything changes: Ferry's own (its
 * markers drain the sync), a superuser, a role that owns (or belongs to the owner of) a
 * migrated table (an owner can grant itself the privileges back), and tables Ferry's role
 * does not own (its REVOKE would silently do nothing, and its GRANT back would be lost).
 */
async function checkRoles(pool: Pool, roles: string[], tables: QualifiedTable[]): Promise<void> {
  const { rows } = await pool.query<{ role: string; found: string; me: string; superuser: string }>(
    `SELECT r AS role, (x.oid IS NOT NULL)::text AS found, (r = current_user)::text AS me, coalesce(x.rolsuper, false)::text AS superuser
       FROM unnest($1::text[]) AS r LEFT JOIN pg_roles x ON x.rolname = r`,
    [roles],
  );
  for (const r of rows) {
    if (r.found !== 'true') throw ApplicationFailure.nonRetryable(`cutover.fence.roles: role ${r.role} does not exist on the source: name the roles the application connects as`, 'ConfigurationError');
    if (r.me === 'true') throw ApplicationFailure.nonRetryable(`cutover.fence.roles: ${r.role} is the role Ferry connects as; it must stay outside the fence (its markers drain the sync): connect Ferry as another role, or remove ${r.role} from the list`, 'ConfigurationError');
    if (r.superuser === 'true') throw ApplicationFailure.nonRetryable(`cutover.fence.roles: ${r.role} is a superuser, which no REVOKE can fence: connect the application as an ordinary role, or fence with PgBouncer`, 'ConfigurationError');
  }
  const { rows: owners } = await pool.query<{ role: string; tbl: string; owner: string; mine: string; owns: string }>(
    `SELECT r AS role, t AS tbl, pg_get_userbyid(c.relowner) AS owner, pg_has_role(current_user, c.relowner, 'USAGE')::text AS mine,
            pg_has_role(r, c.relowner, 'MEMBER')::text AS owns
       FROM unnest($1::text[]) AS r, unnest($2::text[]) AS t JOIN pg_class c ON c.oid = t::regclass`,
    [roles, tables.map(quoteQualified)],
  );
  for (const o of owners) {
    if (o.owns === 'true') throw ApplicationFailure.nonRetryable(`cutover.fence.roles: ${o.role} owns ${o.tbl} (its owner is ${o.owner}) and could grant itself its writes back: make another role own the table, or fence with PgBouncer`, 'ConfigurationError');
    if (o.mine !== 'true') throw ApplicationFailure.nonRetryable(`cutover.fence.roles: Ferry's role cannot revoke on ${o.tbl} (owned by ${o.owner}): connect Ferry as the owner or a member of it, or fence with PgBouncer`, 'ConfigurationError');
  }
}

/** Revokes the application roles' writes (recording what they held), ends their sessions, and proves nothing of theirs still writes. */
export async function fenceRoles(pool: Pool, migrationId: string, roles: string[], tables: QualifiedTable[]): Promise<{ revoked: number; terminated: number }> {
  await checkRoles(pool, roles, tables);
  await ensureFenceTable(pool);
  let revoked = 0;
  await inTransaction(pool, async (db) => {
    for (const role of roles) {
      for (const table of tables) {
        // Only grants made to the role itself (a table never granted on holds its owner's defaults): those are what a REVOKE takes and a GRANT gives back.
        const { rows } = await db.query<{ privilege: string }>(
          `SELECT DISTINCT a.privilege_type AS privilege FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
            WHERE c.oid = $1::regclass AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $2) AND a.privilege_type = ANY($3)`,
          [quoteQualified(table), role, WRITES],
        );
        // A retry after a crash finds the first attempt's record and keeps it (it holds what was there before).
        await recordFence(db, { migration: migrationId, kind: 'role', subject: subjectOf(role, table), detail: { role, table, privileges: rows.map((r) => r.privilege) } });
        await db.query(`REVOKE ${WRITES.join(', ')} ON ${quoteQualified(table)} FROM ${quoteIdent(role)}`);
        revoked += rows.length;
      }
    }
  });
  // Writes through PUBLIC, a role it belongs to, or ownership survive the REVOKE: say so, so the
  // cutover un-fences instead of draining a source that is still being written.
  const { rows: still } = await pool.query<{ role: string; tbl: string }>(
    `SELECT r AS role, t AS tbl FROM unnest($1::text[]) AS r, unnest($2::text[]) AS t
      WHERE has_table_privilege(r, t::regclass, 'INSERT, UPDATE, DELETE, TRUNCATE')`,
    [roles, tables.map(quoteQualified)],
  );
  if (still.length) {
    throw ApplicationFailure.nonRetryable(
      `the role fence does not hold: ${still.map((s) => `${s.role} can still write ${s.tbl}`).join('; ')} (through PUBLIC, a role it is a member of, or owning the table): revoke that grant, or fence with PgBouncer`,
      'FenceFailed',
    );
  }
  const { rows: ended } = await pool.query<{ n: string }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid))::text AS n FROM pg_stat_activity a
      WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.usesysid IN (${FENCED_LOGINS})`,
    [roles],
  );
  return { revoked, terminated: Number(ended[0].n) };
}

/** Backends of the fenced roles (or of roles that belong to them) still holding a write lock on a migrated table (0 once their sessions are gone). */
export async function fencedWriters(pool: Pool, roles: string[], tables: QualifiedTable[]): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(DISTINCT l.pid)::text AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE a.usesysid IN (${FENCED_LOGINS})
        AND l.relation = ANY($2::regclass[]) AND l.granted
        AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')`,
    [roles, tables.map(quoteQualified)],
  );
  return Number(rows[0].n);
}

/** Gives back exactly what the fence recorded, and forgets the record in the same transaction. Safe to run again. */
export async function unfenceRoles(pool: Pool, migrationId: string): Promise<{ restored: number }> {
  const records = await recordedFences(pool, migrationId, 'role');
  let restored = 0;
  if (!records.length) return { restored };
  await inTransaction(pool, async (db) => {
    for (const r of records) {
      const { role, table, privileges } = r.detail as { role: string; table: QualifiedTable; privileges: string[] };
      const exists = await db.query(`SELECT (to_regclass($1) IS NOT NULL)::text AS e`, [quoteQualified(table)]);
      if (privileges.length && exists.rows[0].e === 'true') {
        await db.query(`GRANT ${privileges.join(', ')} ON ${quoteQualified(table)} TO ${quoteIdent(role)}`);
        restored += privileges.length;
      }
      await forgetFence(db, migrationId, 'role', r.subject);
    }
  });
  return { restored };
}
