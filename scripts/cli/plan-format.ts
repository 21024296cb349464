// `ferry plan` as text. Apart from format.ts because it asks the engines how a table lands,
// and the engines load their drivers: `ferry status` must not pay for that.
import { reference } from '../../contracts/references';
import type { FenceSpec, Spec, TargetKind } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { engineNamed } from '../../engines';
import { formatBytes, table } from './format';

/**
 * `ferry plan`: what would be copied, how, in what order, and what to read first. The target's
 * engine says how each table lands (its PlanView): for PostgreSQL, when each constraint, index
 * and foreign key is built for the mode.
 */
export function renderPlan(targetKind: TargetKind, plans: TablePlan[], chunkCounts?: Map<string, number>, mode: 'offline' | 'online' = 'offline'): string {
  const out: string[] = [];
  out.push(table(
    ['#', 'table', 'key', 'est. rows', 'est. size', 'rows/chunk', 'chunks', 'partitions'],
    plans.map((p, i) => [
      i + 1, p.display, `${p.key.join(', ')} (${p.keySource})`, p.estimatedRows, formatBytes(p.estimatedBytes), p.chunkRows,
      chunkCounts?.has(p.display) ? String(chunkCounts.get(p.display)) : `~${Math.max(1, Math.ceil(p.estimatedRows / p.chunkRows))}`, p.partitions || '-',
    ]),
  ));
  const engine = engineNamed(targetKind);
  for (const p of plans) {
    const view = engine.planView(p, mode);
    out.push('', `${p.display} → ${view.lands}`);
    out.push(table(
      ['column', 'type', 'null', ...view.columnHeads],
      p.columns.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no', ...view.columnCells(c)]),
    ).split('\n').map((l) => `  ${l}`).join('\n'));
    for (const note of view.notes) out.push(`  ${note}`);
    for (const e of p.embeds) out.push(`  embeds ${e.plan.display} as ${e.kind === 'many' ? 'array' : 'subdocument'} "${e.as}" on ${e.on.map(([a, b]) => `${e.plan.display}.${a} = ${b}`).join(' AND ')}`);
    for (const w of [...p.warnings, ...p.embeds.flatMap((e) => e.plan.warnings)]) out.push(`  warning: ${w}`);
  }
  return out.join('\n');
}

/**
 * Where PgBouncer's admin console is, without credentials: host[:port]/database as written
 * (a `${VAR}` in them stays a reference), or, when the whole URL is a reference, the reference.
 * Everything up to the last @ is dropped, and the query string with it (password=...).
 */
export function describeAdminUrl(raw: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw);
  if (!scheme) {
    const refs = raw.match(reference);
    return refs ? refs.join('') : '(not a URL)';
  }
  const rest = raw.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const hostPath = (at >= 0 ? rest.slice(at + 1) : rest).split(/[?#]/)[0];
  return hostPath || '(no host)';
}

export function describeFence(fence: FenceSpec | undefined): string {
  if (!fence) return 'none (the spec sets no cutover.fence)';
  if ('pgbouncer' in fence) {
    const b = fence.pgbouncer;
    return `PgBouncer, admin console ${describeAdminUrl(b.admin)}, database ${b.database} (its entry rewritten in ${b.includeFile} at the switch)`;
  }
  return `revoke INSERT/UPDATE/DELETE/TRUNCATE on the migrated tables from ${fence.roles.join(', ')} (their sessions are ended)`;
}

/** cutover.reverse as the plan shows it; the tables' warnings name what the inverse mapping cannot carry. */
function describeReverse(r: Spec['cutover']['reverse']): string {
  const how = r.mode === 'off'
    ? 'off (a rollback after the switch is refused)'
    : `${r.mode} (capture on the target before the switch${r.mode === 'required' ? ', refused where it cannot stream' : ''}; a rollback after the switch drains it)`;
  return `${how}${r.acceptInexact ? ', inexact inverse mappings accepted' : ''}${r.host ? `, Connect reaches the target at ${r.host}${r.port ? `:${r.port}` : ''}` : ''}`;
}

/** The spec's shadow and cutover sections (online) as `ferry plan` shows them. No URL's credentials. */
export function renderOnlineSettings(spec: Pick<Spec, 'shadow' | 'cutover'>): string {
  const { shadow: sh, cutover: c } = spec;
  const g = c.gates;
  const out = [
    `cutover: approval ${c.approval === 'manual' ? 'manual (an operator runs ferry cutover)' : 'auto (as soon as every gate holds)'}`,
    '  gates:',
    `    lag ≤ ${g.maxLagSeconds} s, held for ${g.holdSeconds} s`,
    `    verification clean and at most ${g.verifyMaxAgeSeconds} s old (verified every ${c.verifyEverySeconds} s while syncing)`,
    `    shadow mismatches ≤ ${g.maxShadowMismatches}`,
    `    dead letters ≤ ${g.maxDeadLetters}`,
    `  fence: ${describeFence(c.fence)}`,
    `  final verify: ${c.finalVerify === 'changed' ? 'changed (the keys changed since the last clean verification, plus counts)' : 'full (the whole comparison again)'}`,
    `  drain timeout: ${c.drainTimeoutSeconds} s (then the source is un-fenced and the attempt undone)`,
    `  after-flip hook: ${c.hooks.afterFlip ?? 'none'}`,
    `  reverse sync: ${describeReverse(c.reverse)}`,
  ];
  if (!sh.enabled) {
    out.push('shadow reads: off (shadow.enabled: false)');
  } else {
    out.push(`shadow reads: every ${sh.everySeconds} s, ${sh.sampleKeys} random and ${sh.recentKeys} recently changed keys per table, at most ${sh.maxReadsPerSecond} reads/s each side`);
    for (const q of sh.queries) out.push(`  query ${q.name} on ${q.table ?? 'the first table'}'s keys: SQL on the source, ${typeof q.target === 'string' ? 'SQL' : `collection ${q.target.collection}${q.target.pipeline ? ' (pipeline)' : ''}`} on the target`);
  }
  return out.join('\n');
}

/** The same for `ferry plan --json`: the sections as parsed, the fence's admin URL without credentials. */
export function onlineSettingsJson(spec: Pick<Spec, 'shadow' | 'cutover'>): { shadow: Spec['shadow']; cutover: Spec['cutover'] } {
  const fence = spec.cutover.fence && 'pgbouncer' in spec.cutover.fence
    ? { pgbouncer: { ...spec.cutover.fence.pgbouncer, admin: describeAdminUrl(spec.cutover.fence.pgbouncer.admin) } }
    : spec.cutover.fence;
  return { shadow: spec.shadow, cutover: { ...spec.cutover, fence } };
}
