// `ferry plan`: the spec checked against the real source and target, and the plan printed —
// table order, keys, sizes, chunking, the column mapping, what is created after the load (or,
// online, deferred to cutover) and every lossy conversion — without starting anything.
import { checkSpec } from './spec-check';
import { onlineSettingsJson, renderOnlineSettings, renderPlan } from './plan-format';
import { targetEngine } from '../../engines';
import { pgPool, closeAll } from '../../engines/connections';
import { planChunkPage } from '../../engines/postgres/chunk-plan';
import type { TablePlan } from '../../contracts/tables';
import type { Spec } from '../../contracts/spec';

export async function planCommand(opts: { spec: string; chunks?: boolean; json?: boolean }): Promise<number> {
  const { spec, plans } = await checkSpec(opts.spec);
  const engine = targetEngine(spec);
  const kind = engine.name;
  const chunkCounts = opts.chunks ? await countChunks(spec, plans) : undefined;
  if (opts.json) {
    console.log(JSON.stringify({ name: spec.name, mode: spec.mode, targetKind: kind, verify: spec.verify, ...(spec.mode === 'online' ? onlineSettingsJson(spec) : {}), tables: plans.map((p) => ({ ...p, ...engine.planView(p, spec.mode).json })), chunks: chunkCounts ? Object.fromEntries(chunkCounts) : null }, null, 2));
  } else {
    console.log(`plan for ${spec.name}: ${plans.length} table${plans.length === 1 ? '' : 's'} → ${kind}, mode ${spec.mode}, verify ${spec.verify}; nothing was started\n`);
    console.log(renderPlan(kind, plans, chunkCounts, spec.mode));
    if (spec.mode === 'online') console.log(`\n${renderOnlineSettings(spec)}`);
  }
  return 0;
}

/** Exact chunk counts, planned page by page exactly as the backfill will. */
async function countChunks(spec: Spec, plans: TablePlan[]): Promise<Map<string, number>> {
  const pool = pgPool(spec.source.url);
  const counts = new Map<string, number>();
  try {
    for (const plan of plans) {
      let n = 0;
      let from: string[] | null = null;
      do {
        const page = await planChunkPage(pool, plan, plan.chunkRows, from, 200);
        n += page.ranges.length;
        from = page.next;
      } while (from);
      counts.set(plan.display, n);
    }
  } finally {
    await closeAll();
  }
  return counts;
}
