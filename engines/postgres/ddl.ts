// The parts of a table's definition a PostgreSQL target replays beyond its columns:
// constraints (created with the table), indexes and foreign keys (added after the load, when
// building them once is cheaper than maintaining them row by row), and the sequences that
// feed its defaults and identity columns (set past the copied values when the load ends).
// Definitions come from pg_get_constraintdef / pg_get_indexdef, so they print names as the
// source's search_path sees them; the target is expected to use the same search_path.
import type { Pool } from 'pg';
import type { QualifiedTable, TableDdl } from '../../contracts/tables';

/** Always-quoted identifier, built in SQL so the clause text never depends on keyword lists. */
const quoted = (col: string) => `'"' || replace(${col}, '"', '""') || '"'`;

export async function readTableDdl(pool: Pool, oid: string): Promise<TableDdl> {
  // CHECK, UNIQUE and EXCLUDE constraints. The primary key is the plan's key; NOT NULL is a
  // column property (not in pg_constraint before PostgreSQL 18, contype 'n' after).
  const constraints = await pool.query(
    `SELECT 'CONSTRAINT ' || ${quoted('conname')} || ' ' || pg_get_constraintdef(oid) AS clause
       FROM pg_constraint
      WHERE conrelid = $1::oid AND contype IN ('c', 'u', 'x')
      ORDER BY contype, conname`,
    [oid],
  );
  // Indexes that no constraint of this table owns (those come with their constraint). An
  // index a foreign key of another table relies on is still this table's own index, so only
  // this table's p/u/x constraints count. A partitioned parent lists its partitioned indexes
  // (relkind 'I') as `ON ONLY`, which would build nothing on the plain target table: drop it.
  // Invalid plain indexes are leftovers of a failed CREATE INDEX CONCURRENTLY: skip them.
  const indexes = await pool.query(
    `SELECT c.relname AS name,
            CASE WHEN c.relkind = 'I' THEN regexp_replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')
                 ELSE pg_get_indexdef(i.indexrelid) END AS sql
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::oid AND NOT i.indisprimary
        AND (i.indisvalid OR c.relkind = 'I')
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                         WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
      ORDER BY c.relname`,
    [oid],
  );
  // Foreign keys declared on this table. A FK that references a partitioned table is cloned
  // once per referenced partition with the same conrelid and conparentid set: skip the clones.
  const foreignKeys = await pool.query(
    `SELECT k.conname AS name, pg_get_constraintdef(k.oid) AS definition, rn.nspname AS ref_schema, rc.relname AS ref_name
       FROM pg_constraint k
       JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
      WHERE k.conrelid = $1::oid AND k.contype = 'f'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint p WHERE p.oid = k.conparentid AND p.conrelid = k.conrelid)
      ORDER BY k.conname`,
    [oid],
  );
  return {
    constraints: constraints.rows.map((r) => r.clause),
    indexes: indexes.rows.map((r) => ({ name: r.name, sql: r.sql })),
    foreignKeys: foreignKeys.rows.map((r) => ({ name: r.name, definition: r.definition, references: { schema: r.ref_schema, name: r.ref_name } })),
  };
}

/** Booleans arrive as true or as 't' (Ferry's pools parse nothing: see connections.ts). */
const truthy = (v: unknown) => v === true || v === 't' || v === 'true';

/** A sequence one column of the table draws from: serial/nextval() default, or identity. */
export interface ColumnSequence {
  column: string;
  /** '' for a default that calls nextval(), 'a' GENERATED ALWAYS, 'd' BY DEFAULT identity. */
  identity: '' | 'a' | 'd';
  sequence: QualifiedTable;
  /** OWNED BY this column (serial, identity): the target's sequence is tied to its column too. */
  owned: boolean;
  /** The sequence's type (an identity's is its column's, so only CREATE SEQUENCE names it). */
  type: string;
  /** `INCREMENT BY 1 MINVALUE 1 ...`: the options CREATE SEQUENCE and identity columns take. */
  options: string;
  /** Ascending sequence: setval moves past max(column); descending ones past min(column). */
  ascending: boolean;
  /** The source's last value (null when never called or not readable by this user). */
  lastValue: string | null;
}

/**
 * The sequences a table's columns use, found through pg_depend (a nextval() default depends on
 * its sequence; serial and identity sequences are owned by their column). Read by table name
 * because the target asks for them with the plan, which carries names, not oids.
 */
export async function readColumnSequences(pool: Pool, table: QualifiedTable): Promise<ColumnSequence[]> {
  const res = await pool.query(
    `WITH t AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2),
          used AS (
            SELECT d.refobjsubid AS attnum, d.objid AS seq, true AS owned
              FROM pg_depend d, t
             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = t.oid AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
            UNION ALL
            SELECT ad.adnum, d.refobjid, false
              FROM pg_attrdef ad JOIN t ON ad.adrelid = t.oid
              JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass)
     SELECT a.attname AS column, a.attidentity AS identity, sn.nspname AS seq_schema, sc.relname AS seq_name, bool_or(u.owned) AS owned,
            format_type(s.seqtypid, NULL) AS type,
            format('INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s %s',
                   s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache,
                   CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END) AS options,
            s.seqincrement > 0 AS ascending,
            CASE WHEN has_sequence_privilege(s.seqrelid, 'SELECT') THEN pg_sequence_last_value(s.seqrelid)::text END AS last_value
       FROM used u
       JOIN t ON true
       JOIN pg_sequence s ON s.seqrelid = u.seq
       JOIN pg_class sc ON sc.oid = s.seqrelid JOIN pg_namespace sn ON sn.oid = sc.relnamespace
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = u.attnum
      GROUP BY a.attnum, a.attname, a.attidentity, sn.nspname, sc.relname, s.seqrelid, s.seqtypid, s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache, s.seqcycle
      ORDER BY a.attnum`,
    [table.schema, table.name],
  );
  return res.rows.map((r) => ({
    column: r.column,
    identity: r.identity,
    sequence: { schema: r.seq_schema, name: r.seq_name },
    owned: truthy(r.owned),
    type: r.type,
    options: r.options,
    ascending: truthy(r.ascending),
    lastValue: r.last_value,
  }));
}
