// The migration spec: what a user writes (YAML or JSON), its schema, and the checks that
// need no database. `${VAR}` references stay unresolved in the spec that travels through
// Temporal (so secrets never enter workflow history); they are resolved where a connection
// is opened, inside activities and the CLI.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { issueToProblem, specSchema, formatProblem, type Spec, type SpecProblem, type TargetKind, type TableEntry } from '../../contracts/spec';
import { describeRef, interpolate, reference } from '../../contracts/references';
import { engineNamed, engines } from '../../engines';
import type { Engine } from '../../engines/engine';
import { parseQualifiedName, QualifiedName } from '../../engines/postgres/identifiers';

export class SpecError extends Error {
  constructor(readonly problems: SpecProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SpecError';
  }
}

export function parseSpecText(text: string, fileName: string): unknown {
  try {
    return fileName.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new SpecError([{ path: '', message: `${fileName} is not valid ${fileName.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}` }]);
  }
}

export function loadSpecFile(file: string): Spec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SpecError([{ path: '', message: `cannot read spec ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return validateSpec(parseSpecText(text, file), process.env);
}

/**
 * Schema checks plus everything that can be known without a connection: every `${VAR}`
 * is set, URLs parse and name a supported engine, no literal password sits in a URL,
 * table names parse. All problems are collected, one per path.
 */
export function validateSpec(input: unknown, env: NodeJS.ProcessEnv): Spec {
  const parsed = specSchema.safeParse(input);
  if (!parsed.success) {
    // Report URL problems too, where the URLs themselves are well-formed strings.
    const problems = parsed.error.issues.map(issueToProblem);
    const raw = (input ?? {}) as { source?: { url?: unknown }; target?: { url?: unknown } };
    if (typeof raw.source?.url === 'string') checkUrl(raw.source.url, 'source.url', sourceEngines, env, problems);
    if (typeof raw.target?.url === 'string') checkUrl(raw.target.url, 'target.url', targetEngines, env, problems);
    throw new SpecError(problems);
  }
  const spec = parsed.data;
  const problems: SpecProblem[] = [];
  checkUrl(spec.source.url, 'source.url', sourceEngines, env, problems);
  const kind = checkUrl(spec.target.url, 'target.url', targetEngines, env, problems);
  // What only the target's engine knows (which keys and table options apply to it).
  if (kind) problems.push(...engineNamed(kind).specProblems(spec));
  if (spec.mode === 'online') checkSync(spec, env, problems);
  if (spec.mode === 'online') checkCutover(spec, kind, env, problems);
  const seen = new Map<string, number>();
  spec.tables.forEach((entry, i) => {
    const t = tableName(entry);
    const q = parseQualifiedName(t);
    if (typeof q === 'string') {
      problems.push({ path: `tables[${i}]`, message: q });
      return;
    }
    for (const [j, e] of (typeof entry === 'object' ? (entry.embed ?? []) : []).entries()) {
      const eq = parseQualifiedName(e.table);
      if (typeof eq === 'string') problems.push({ path: `tables[${i}].embed[${j}].table`, message: eq });
    }
    const key = `${q.schema}.${q.name}`;
    if (seen.has(key)) problems.push({ path: `tables[${i}]`, message: `repeats tables[${seen.get(key)}] (${t})` });
    else seen.set(key, i);
  });
  if (problems.length) throw new SpecError(problems);
  return spec;
}

/** The online mode needs a Connect URL and brokers that resolve; embedding cannot follow changes yet. */
function checkSync(spec: Spec, env: NodeJS.ProcessEnv, problems: SpecProblem[]): void {
  if (!spec.sync) {
    problems.push({ path: 'sync', message: 'is missing: mode online needs sync.connect (Kafka Connect REST URL) and sync.kafka (brokers); or set mode: offline' });
    return;
  }
  for (const [path, raw] of [['sync.connect', spec.sync.connect], ['sync.kafka', spec.sync.kafka]] as const) {
    const { value, missing } = interpolate(raw, env);
    for (const name of missing) problems.push({ path, message: `environment variable ${name} is not set: export it before running ferry (or on the worker)` });
    if (!missing.length && path === 'sync.connect' && !/^https?:\/\/[^/]+/i.test(value)) problems.push({ path, message: `${describeRef(raw)} is not an http(s):// URL of the Kafka Connect REST API` });
    if (!missing.length && path === 'sync.kafka' && !value.split(',').every((b) => /^[^\s:/]+:\d+$/.test(b.trim()))) problems.push({ path, message: `${describeRef(raw)} is not a host:port[,host:port] broker list` });
  }
  spec.tables.forEach((entry, i) => {
    if (typeof entry === 'object' && entry.embed?.length) {
      problems.push({ path: `tables[${i}].embed`, message: 'embedding cannot follow changes yet (mode online): migrate the tables as separate collections, or use mode: offline' });
    }
  });
}

/** The cutover section's rules that need the environment or the target's engine. */
function checkCutover(spec: Spec, kind: TargetKind | undefined, env: NodeJS.ProcessEnv, problems: SpecProblem[]): void {
  const c = spec.cutover;
  if (c.verifyEverySeconds > c.gates.verifyMaxAgeSeconds) {
    problems.push({ path: 'cutover.verifyEverySeconds', message: `(${c.verifyEverySeconds} s) is longer than cutover.gates.verifyMaxAgeSeconds (${c.gates.verifyMaxAgeSeconds} s): the verification gate would keep failing between verifications; verify more often or allow older ones` });
  }
  const fence = c.fence;
  if (fence && 'pgbouncer' in fence) {
    // Its password must stay out of the spec, like every URL's (it is recorded with the fence).
    checkUrl(fence.pgbouncer.admin, 'cutover.fence.pgbouncer.admin', sourceEngines, env, problems);
    for (const name of interpolate(fence.pgbouncer.includeFile, env).missing) {
      problems.push({ path: 'cutover.fence.pgbouncer.includeFile', message: `environment variable ${name} is not set: export it before running ferry (or on the worker)` });
    }
    if (kind && !engineNamed(kind).postgresWire) {
      problems.push({ path: 'cutover.fence.pgbouncer', message: `PgBouncer can switch the application only to a PostgreSQL target, not ${kind}: fence with roles and let the application follow the routing record` });
    }
  }
  if (c.reverse.mode === 'required' && kind && !engineNamed(kind).reverseFeed) {
    problems.push({ path: 'cutover.reverse.mode', message: `is required, but Ferry cannot yet stream a ${kind} target's writes back to the source: set it to auto or off (then a rollback after the switch is refused)` });
  }
  if ((c.reverse.host || c.reverse.port) && c.reverse.mode === 'off') {
    problems.push({ path: 'cutover.reverse', message: 'host/port name how Kafka Connect reaches the target for the reverse sync, which mode: off turns off: remove them or set mode auto' });
  }
}

/** Engines a migration can read from, and engines it can write into. */
const sourceEngines = engines.filter((e) => e.readsTables);
const targetEngines = engines;

function checkUrl(
  raw: string,
  path: string,
  allowed: readonly Engine[],
  env: NodeJS.ProcessEnv,
  problems: SpecProblem[],
): TargetKind | undefined {
  const { value, missing } = interpolate(raw, env);
  if (missing.length) {
    for (const name of missing) {
      problems.push({ path, message: `environment variable ${name} is not set: export it before running ferry (or on the worker), e.g. export ${name}=...` });
    }
    return undefined;
  }
  const engine = allowed.find((e) => e.handles(value));
  const expected = allowed.map((e) => e.urlForm).join(' or ');
  if (!engine) {
    return void problems.push({ path, message: `${describeScheme(value)} is not supported here: expected a ${expected} URL` });
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return void problems.push({ path, message: `is not a valid URL (${describeRef(raw)}): expected ${expected}user@host:port/database` });
  }
  if (!url.hostname && !url.searchParams.get('host')) {
    return void problems.push({ path, message: `names no host (${describeRef(raw)})` });
  }
  // A password typed into the spec would travel in the workflow input and history.
  if (hasLiteralPassword(raw) || /[?&]password=(?!\$\{[A-Za-z_][A-Za-z0-9_]*\}(&|$))/i.test(raw)) {
    problems.push({ path, message: 'contains a literal password: put the URL or the password in an environment variable and write ${VAR} in the spec (secrets must not enter workflow history)' });
  }
  return engine.name;
}

/** True when the URL as written (before interpolation) spells out a password. */
function hasLiteralPassword(raw: string): boolean {
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(raw)?.[1];
  const colon = userinfo?.indexOf(':') ?? -1;
  if (!userinfo || colon < 0) return false;
  return userinfo.slice(colon + 1).replace(reference, '') !== '';
}

function describeScheme(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return m ? `scheme ${m[1]}:` : 'a value with no scheme';
}

export function tableName(entry: TableEntry): string {
  return typeof entry === 'string' ? entry : entry.table;
}

/** The spec's tables, parsed, with their options (an entry given as a plain name has none). */
export function specTables(spec: Spec): Array<{ name: QualifiedName; options: Exclude<TableEntry, string> | null }> {
  return spec.tables.map((t) => ({ name: parseQualifiedName(tableName(t)) as QualifiedName, options: typeof t === 'string' ? null : t }));
}
