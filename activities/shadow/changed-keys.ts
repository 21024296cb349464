// The cutover's final check (cutover.finalVerify: changed): once the source is fenced and
// the sync has drained, every key that has a change event since the last clean verification
// (Kafka timestamps ≥ sinceMs, read up to where the topics end as the check starts) is
// compared on both sides through the mapping, and every table's rows are counted on both
// sides. The source no longer moves, so there is no re-check: any difference counts.
import type { ChangedKeysInput, ChangedKeysResult, ChangedKeysTable } from '../../contracts/shadow';
import { openTarget, targetEngine } from '../../engines';
import { pgPool } from '../../engines/connections';
import { countRows } from '../../engines/postgres/source';
import { rethrowClassified } from '../../engines/errors';
import { keysInRanges } from './recent';
import { rangesSince } from './topic-range';
import { awaitSyncPast } from '../cdc/sync-watch';
import { KEY_PAGE } from './key-check';
import { keepAlive } from './heartbeat';

export async function compareChangedKeys(input: ChangedKeysInput): Promise<ChangedKeysResult> {
  const { spec, plans, capture, sinceMs, syncWorkflowId } = input;
  const startedAt = Date.now();
  const alive = keepAlive('reading changed keys');
  try {
    const changed = await keysInRanges(spec, capture, plans, (admin, topics) => rangesSince(admin, topics, sinceMs), 'final', () => alive.beat());
    if (!input.drained) {
      alive.stage('waiting for the sync');
      await awaitSyncPast(syncWorkflowId, startedAt, 'the final check needs the sync to have applied every change up to now');
    }
    alive.stage('comparing changed keys');
    const verifier = targetEngine(spec).verifier(spec);
    const target = openTarget(spec);
    const source = pgPool(spec.source.url);
    const tables: ChangedKeysTable[] = [];
    for (const plan of plans) {
      const keys = changed.get(plan.display) ?? [];
      const t: ChangedKeysTable = { table: plan.display, keysChecked: keys.length, missing: 0, extra: 0, different: 0, sourceRows: 0, targetRows: 0, sample: [] };
      for (let at = 0; at < keys.length; at += KEY_PAGE) {
        const page = keys.slice(at, at + KEY_PAGE);
        const d = await verifier.keyDigests(plan, page);
        for (const k of page) {
          const id = JSON.stringify(k);
          const s = d.source.get(id);
          const g = d.target.get(id);
          if (s === g) continue;
          const kind = s === undefined ? 'extra' : g === undefined ? 'missing' : 'different';
          t[kind] += 1;
          if (t.sample.length < 20) t.sample.push({ kind, key: k });
        }
        alive.beat();
      }
      alive.stage(`counting ${plan.display}`);
      [t.sourceRows, t.targetRows] = await Promise.all([countRows(source, plan), target.countRows(plan)]);
      tables.push(t);
    }
    const clean = tables.every((t) => t.missing + t.extra + t.different === 0 && t.sourceRows === t.targetRows);
    return { clean, tables };
  } catch (err) {
    return rethrowClassified(err, 'comparing the keys changed since the last verification');
  } finally {
    alive.stop();
  }
}
