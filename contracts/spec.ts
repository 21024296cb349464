// The migration spec's schema and its pure checks: what a user writes (YAML or JSON), with
// defaults filled. No Node built-ins, no environment: the migration workflow validates its
// own input with it (zod is deterministic), and the CLI and activities build on it with the
// checks that need the environment or a connection (activities/plan/spec.ts).
import { z } from 'zod';

const urlString = z.string().min(1, 'is empty: give a connection URL or a ${VAR} reference');

const lossyPolicy = z.enum(['fail', 'string', 'truncate'], { error: 'must be fail, string or truncate' });

const columnOptions = z.strictObject({
  /** MongoDB field name (MongoDB targets only). */
  rename: z.string().min(1).optional(),
  /** Leave the column out of the documents (MongoDB targets only). */
  drop: z.boolean().optional(),
  lossy: lossyPolicy.optional(),
});

const embedOptions = z.strictObject({
  table: z.string().min(1),
  as: z.string().min(1),
  /** many: the embedded table's rows as an array (1:N); one: the row it references, as a subdocument (N:1). */
  kind: z.enum(['many', 'one']).default('many'),
  /** embedded-table column → this table's column. */
  on: z.record(z.string(), z.string()).refine((o) => Object.keys(o).length > 0, 'names no column pair'),
});

const tableEntry = z.union([
  z.string().min(1),
  z.strictObject({
    table: z.string().min(1),
    /** Columns of a unique, NOT NULL key to use when the table has no primary key. */
    key: z.array(z.string().min(1)).min(1).optional(),
    columns: z.record(z.string(), columnOptions).optional(),
    embed: z.array(embedOptions).optional(),
  }),
]);

export type TableEntry = z.infer<typeof tableEntry>;
export type LossyPolicyName = z.infer<typeof lossyPolicy>;

/** `$1`, `$2`… in an operator query take the sampled key's columns, in key order. */
const shadowQuery = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or - (it names the query in status)'),
  /** The table whose sampled keys fill the parameters ($1…); default: the spec's first table. */
  table: z.string().min(1).optional(),
  /** SQL run on the source. */
  source: z.string().min(1, 'is empty: give the SQL to run on the source'),
  /** SQL run on a PostgreSQL target, or a collection with a filter or pipeline on a MongoDB target ("$1" strings take the key's values). */
  target: z.union([
    z.string().min(1),
    z.strictObject({
      collection: z.string().min(1),
      filter: z.record(z.string(), z.unknown()).optional(),
      pipeline: z.array(z.record(z.string(), z.unknown())).optional(),
    }),
  ]),
});

/** Shadow reads while syncing (online): both sides read and compared through the mapping. */
const shadowSection = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Seconds between shadow rounds. */
    everySeconds: z.number().min(1).max(3_600).default(30),
    /** Random keys per table per round (a table sample, not a scan). */
    sampleKeys: z.number().int().min(0).max(10_000).default(50),
    /** Most recently changed keys per table per round (the tail of its change topic). */
    recentKeys: z.number().int().min(0).max(10_000).default(50),
    /** Reads per second on each side, all tables and queries together. */
    maxReadsPerSecond: z.number().int().min(1).max(100_000).default(200),
    queries: z.array(shadowQuery).default([]),
  })
  .prefault({});

/** How Ferry stops the application writing to the source during the cutover. */
const fenceSection = z.union([
  z.strictObject({
    pgbouncer: z.strictObject({
      /** PgBouncer's admin console, e.g. postgres://ferry@127.0.0.1:6432/pgbouncer (a ${VAR} reference keeps a password out of the spec). */
      admin: urlString,
      /** The database name the application connects to through PgBouncer. */
      database: z.string().min(1),
      /** The file PgBouncer's [databases] section %includes (a path, or a ${VAR} reference); Ferry owns it and writes the entry for `database` there at the switch. */
      includeFile: z.string().min(1, 'is empty: give the path of the file pgbouncer.ini %includes'),
    }),
  }),
  z.strictObject({
    /** Roles whose INSERT/UPDATE/DELETE/TRUNCATE on the migrated tables are revoked during the cutover (their sessions are ended). */
    roles: z.array(z.string().min(1)).min(1, 'names no role: list the application roles to fence'),
  }),
], { error: 'must be { pgbouncer: { admin, database, includeFile } } or { roles: [role, ...] }' });

/** The cutover (online): the gates, who approves, how the source is fenced and how the switch is checked. */
const cutoverSection = z
  .strictObject({
    /** manual: an operator's `ferry cutover` (or the UI's cutover Update); auto: as soon as every gate holds. */
    approval: z.enum(['manual', 'auto'], { error: 'must be manual (an operator approves) or auto (as soon as the gates hold)' }).default('manual'),
    gates: z
      .strictObject({
        maxLagSeconds: z.number().min(0).default(5),
        /** Seconds the lag must have stayed at or under maxLagSeconds. */
        holdSeconds: z.number().min(0).default(30),
        /** The last clean verification must be at most this old. */
        verifyMaxAgeSeconds: z.number().min(1).default(3_600),
        maxShadowMismatches: z.number().int().min(0).default(0),
        maxDeadLetters: z.number().int().min(0).default(0),
      })
      .prefault({}),
    /** Seconds between verifications while syncing (the verification gate needs a recent clean one). */
    verifyEverySeconds: z.number().min(10).max(7 * 86_400).default(1_800),
    fence: fenceSection.optional(),
    /** changed: the keys changed since the last clean verification, plus counts; full: the whole comparison again. */
    finalVerify: z.enum(['changed', 'full'], { error: 'must be changed (keys changed since the last verification, plus counts) or full (the whole comparison)' }).default('changed'),
    /** The drain to the marker written after the fence gives up (and un-fences) after this long. Keep the whole freeze under PgBouncer's query_wait_timeout (120 s by default), or waiting clients get an error. */
    drainTimeoutSeconds: z.number().min(1).max(3_600).default(60),
    /**
     * The reverse sync: started before the switch (the switch is refused when it cannot stream)
     * and run throughout cut-over, so a rollback after the switch is a drain, not a copy, and no
     * write the target took is lost. auto: on where the target can stream its changes back
     * (PostgreSQL), off elsewhere (MongoDB, until its change streams are followed); required:
     * refuse the spec where it cannot; off: no way back after the switch.
     */
    reverse: z
      .strictObject({
        mode: z.enum(['auto', 'required', 'off'], { error: 'must be auto (where the target can stream back), required or off' }).default('auto'),
        /** How Kafka Connect reaches the target when that differs from target.url; user and password still come from target.url. */
        host: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        /** Accept a mapping the reverse sync cannot invert exactly (ferry plan names each place): a rollback after the switch then changes or refuses those rows. */
        acceptInexact: z.boolean().default(false),
      })
      .prefault({}),
    hooks: z
      .strictObject({
        /** A command run on the worker after the switch, with the routing state in FERRY_ROUTING_* variables. */
        afterFlip: z.string().min(1).optional(),
      })
      .prefault({}),
  })
  .prefault({});

/**
 * Rehearsals (`ferry rehearse`): how long shadow reads run before the dry run, the go/no-go
 * criteria the report judges (each optional: only those given are judged, plus a clean
 * verification unless set false), and the production size the ETA scales to when the
 * rehearsal's source is a subset (default: the source's own statistics; `--scale` overrides).
 */
const rehearsalSection = z
  .strictObject({
    shadowSeconds: z.number().int().min(0).max(86_400).default(30),
    criteria: z
      .strictObject({
        /** The backfill at production size (the ETA), hours. */
        backfillHours: z.number().min(0).optional(),
        /** The sync's lag, p99 over the rehearsal, seconds. */
        lagP99Seconds: z.number().min(0).optional(),
        verificationClean: z.boolean().default(true),
        shadowMismatches: z.number().int().min(0).optional(),
        /** The freeze a cutover would hold writes for (the dry run's measured steps), seconds. */
        freezeSeconds: z.number().min(0).optional(),
        /** The rollback drill, seconds. */
        rollbackSeconds: z.number().min(0).optional(),
      })
      .prefault({}),
    production: z
      .strictObject({
        rows: z.number().int().min(1).optional(),
        bytes: z.number().int().min(1).optional(),
      })
      .optional(),
  })
  .prefault({});

export type ShadowQuery = z.infer<typeof shadowQuery>;
export type FenceSpec = z.infer<typeof fenceSection>;

export const specSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, - or _ (it names workflows and consumer groups)'),
  /**
   * offline: prepare → backfill → verify, for a source nobody writes to. online: the same with
   * change data capture started before the backfill, then the sync phase replays every change
   * and keeps the target following the source (needs the `sync` section).
   */
  mode: z.enum(['offline', 'online'], { error: 'must be "offline" (prepare → backfill → verify) or "online" (the same, plus CDC sync)' }).default('offline'),
  source: z.strictObject({ url: urlString }),
  target: z.strictObject({
    url: urlString,
    database: z.string().min(1).optional(),
  }),
  tables: z.array(tableEntry).min(1, 'lists no table: name at least one, as schema.table'),
  /** After the backfill: `checksum` compares every row by per-chunk hashes (default); `counts` only counts rows. */
  verify: z.enum(['checksum', 'counts'], { error: 'must be checksum (compare every row) or counts (row counts only)' }).default('checksum'),
  sync: z
    .strictObject({
      /** Kafka Connect REST URL, where Ferry registers its Debezium connector. */
      connect: urlString,
      /** Kafka bootstrap brokers, comma-separated host:port (or a ${VAR}). */
      kafka: z.string().min(1, 'is empty: give host:port[,host:port] or a ${VAR} reference'),
      /**
       * How Kafka Connect reaches the source when that differs from source.url (Connect in
       * another network); user and password still come from source.url.
       */
      sourceHost: z.string().min(1).optional(),
      sourcePort: z.number().int().min(1).max(65535).optional(),
      /** Hours the change topics must keep events: at least the whole backfill plus a margin. */
      retentionHours: z.number().int().min(1).default(168),
      /**
       * Partitions of the change topics Ferry creates. Only 1: a truncate event has no key, so it
       * lands on one partition while the others still hold older or newer rows of the table, and
       * applying partitions independently would bring truncated rows back or lose new ones.
       */
      partitions: z
        .number()
        .int()
        .min(1)
        .max(1, 'must be 1: a truncate carries no key and lands on one partition, so with more the rows on other partitions come back or vanish; remove the key or set partitions: 1')
        .default(1),
      /** An event that cannot be decoded, mapped or written goes to the dead-letter store; then: */
      onPoison: z.enum(['continue', 'halt'], { error: 'must be continue (count it and go on) or halt (stop the sync until resumed)' }).default('continue'),
      /** Seconds between heartbeat rows written to the source and timed until applied. */
      heartbeatSeconds: z.number().min(1).max(300).default(5),
      /** Most events applied to the target in one write. */
      batchEvents: z.number().int().min(1).max(100_000).default(5_000),
      /** Seconds each apply activity consumes before returning to its workflow (which starts the next). */
      runSeconds: z.number().int().min(10, "must be at least 10: joining the consumer group alone takes seconds").max(3_600).default(300),
      /** Apply runs a sync workflow makes before it continues-as-new (bounds history, like chunksPerRun). */
      runsPerWorkflow: z.number().int().min(1).max(1_000).default(12),
    })
    .optional(),
  shadow: shadowSection,
  cutover: cutoverSection,
  rehearsal: rehearsalSection,
  backfill: z
    .strictObject({
      /** Rows per chunk; by default sized from each table's estimated row width (about 32 MB a chunk). */
      chunkRows: z.number().int().min(1).max(10_000_000).optional(),
      batchRows: z.number().int().min(1).max(50_000).default(2_000),
      parallelism: z.number().int().min(1).max(256).default(4),
      tableParallelism: z.number().int().min(1).max(64).default(2),
      maxRowsPerSecond: z.number().int().min(0).default(0),
      /** Chunks a table's backfill run handles before it continues-as-new (bounds history). */
      chunksPerRun: z.number().int().min(2).max(2_000).default(400),
    })
    .prefault({}),
});

/** A spec as written, validated, defaults filled, references still unresolved. */
export type Spec = z.infer<typeof specSchema>;
/** An engine's name, as engines/index.ts registers it ('postgres', 'mongodb'): plain text, so adding an engine touches no contract. */
export type TargetKind = string;

export interface SpecProblem {
  path: string;
  message: string;
}

export function formatProblem(p: SpecProblem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

/** `['tables', 1]` → `tables[1]`; `['source', 'url']` → `source.url`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? String(seg) : `.${String(seg)}`))
    .join('');
}

export function issueToProblem(issue: z.core.$ZodIssue): SpecProblem {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return {
      path,
      message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: check the spelling against examples/ or remove ${issue.keys.length > 1 ? 'them' : 'it'}`,
    };
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return { path, message: `is missing: add it (expected ${issue.expected})` };
  }
  return { path, message: issue.message };
}

/**
 * The schema alone: defaults filled, one problem per path. The workflow runs this on its
 * raw input (a spec pasted into the Temporal UI's Start Workflow form has no defaults).
 */
export function parseSpecShape(input: unknown): { spec: Spec; problems: [] } | { spec: null; problems: SpecProblem[] } {
  const parsed = specSchema.safeParse(input);
  if (parsed.success) return { spec: parsed.data, problems: [] };
  return { spec: null, problems: parsed.error.issues.map(issueToProblem) };
}
