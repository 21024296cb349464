// What Ferry knows of a table: its columns, key, DDL and how it maps (the plan), as plain JSON.

export interface QualifiedTable {
  schema: string;
  name: string;
}

export interface ColumnInfo {
  name: string;
  /** format_type() text, e.g. `character varying(20)`, usable in casts and DDL. */
  type: string;
  typeOid: number;
  /** The type values are read as: a domain's base type, else typeOid. */
  baseOid: number;
  /** For arrays (of the base type), the element type; 0 otherwise. */
  elementOid: number;
  /** 'b' base, 'e' enum, 'd' domain, 'c' composite, 'r' range, 'm' multirange. */
  typeCategory: string;
  nullable: boolean;
  /** Generated columns are computed by the target engine, never copied. */
  generated: boolean;
  /** The enum or domain the column uses (itself or as array element), with the DDL that recreates it. */
  userType: { schema: string; name: string; ddl: string } | null;
  /** The generation expression of a generated column, else null. */
  generationExpr: string | null;
  /** The column default as SQL (pg_get_expr), else null. Recreated on a PostgreSQL target. */
  defaultExpr: string | null;
  /**
   * The column's explicit collation as a qualified, quoted name (`"pg_catalog"."en-x-icu"`),
   * or null when it uses its type's default. Key comparisons on both sides use it, so
   * chunk ranges mean the same rows on the source and on a PostgreSQL target.
   */
  collation: string | null;
  /** What to do with a value the target cannot hold exactly (see LossyPolicy). */
  lossy: LossyPolicy;
  /** MongoDB field name for this column (renamed by the spec), or null when the spec drops it. */
  field: string | null;
}

/**
 * A value the target cannot hold exactly: `fail` stops the copy naming table, column and key;
 * `string` stores the whole column as PostgreSQL's text output; `truncate` drops what does
 * not fit (timestamps: digits below the millisecond; numeric: rounds to 34 significant digits).
 * Values that cannot be truncated (±infinity) fail under `truncate` too.
 */
export type LossyPolicy = 'fail' | 'string' | 'truncate';

/** A related table embedded into each document of its table (MongoDB targets). */
export interface EmbedPlan {
  /** `many`: child rows as an array (1:N); `one`: the referenced row as a subdocument (N:1). */
  kind: 'many' | 'one';
  /** The field that holds the embedded value. */
  as: string;
  /** The embedded table, introspected like any other (its own columns, key, policies). */
  plan: TablePlan;
  /** Column pairs: [column of the embedded table, column of this table] joined by equality. */
  on: Array<[string, string]>;
}

/** DDL a PostgreSQL target replays: constraints with the table, indexes and FKs after the load. */
export interface TableDdl {
  /** `CONSTRAINT name CHECK (...)` and `CONSTRAINT name UNIQUE (...)` clauses (not the primary key). */
  constraints: string[];
  /** Non-constraint indexes, as CREATE INDEX statements (pg_get_indexdef), created after the load. */
  indexes: Array<{ name: string; sql: string }>;
  /** Foreign keys: added NOT VALID after the load, then validated. */
  foreignKeys: Array<{ name: string; definition: string; references: QualifiedTable }>;
}

export interface TablePlan {
  table: QualifiedTable;
  /** Readable name, as in the spec and reports. */
  display: string;
  columns: ColumnInfo[];
  /** Key column names, in key order: the primary key, or the unique key the spec names. */
  key: string[];
  /** Where the key comes from, for reports: `primary key` or `unique index NAME`. */
  keySource: string;
  estimatedRows: number;
  estimatedBytes: number;
  /** Rows per chunk, sized from the estimates unless the spec fixes it. */
  chunkRows: number;
  /** Leaf partitions of a partitioned table (copied through the parent), else 0. */
  partitions: number;
  ddl: TableDdl;
  /** Tables embedded into this one's documents (MongoDB only); empty otherwise. */
  embeds: EmbedPlan[];
  /** Lossy-but-allowed conversions and other things a person should read before starting. */
  warnings: string[];
}
