// Recorded histories of real migrations (scripts/record-histories.ts) replayed against
// today's workflow code. A change that alters the order of commands a running migration
// already recorded — without patched() — fails here instead of in production.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

const dir = join(__dirname, 'histories');

describe('replay of recorded workflow histories (determinism)', function () {
  this.timeout(180_000);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json').sort();
  const ids = JSON.parse(readFileSync(join(dir, 'workflow-ids.json'), 'utf8')) as Record<string, string>;

  it('has histories to replay: from the code before these changes, and from today\'s with continue-as-new', () => {
    // Recorded by the code of fa419ed: migrations and syncs started then must replay after an upgrade.
    assert.ok(files.some((f) => f.startsWith('v0-offline-migration')), 'an offline migration of the old code');
    assert.ok(files.filter((f) => f.startsWith('v0-online-sync')).length >= 2, 'an old sync that continued-as-new');
    // Today's: the migration continues-as-new mid-backfill (offline) and mid-sync (online).
    assert.ok(files.filter((f) => f.startsWith('offline-migration')).length >= 2, 'an offline migration that continued-as-new in its backfill');
    assert.ok(files.filter((f) => f.startsWith('online-migration')).length >= 2, 'an online migration that continued-as-new in its sync');
    assert.ok(files.filter((f) => f.startsWith('online-sync')).length >= 2, 'its sync, through its own continue-as-new');
    // The cutover: gates watched, shadow rounds, the cutover Update, the steps, finalize.
    assert.ok(files.some((f) => f.startsWith('cutover-migration')), 'an online migration that cut over and was finalized');
    // The reverse sync: reverse capture before the switch, cut-over with the reverse child, rolling-back, rolled-back.
    assert.ok(files.some((f) => f.startsWith('rollback-migration')), 'an online migration rolled back after the switch');
    // A rehearsal: its workflow, and its migration's shadow time, dry run and drill (phase rehearsing).
    assert.ok(files.some((f) => f.startsWith('rehearsal-rehearsal-')) && files.some((f) => f.startsWith('rehearsal-migration-')), 'a rehearsal and its migration');
  });

  it('replays every one of them without a nondeterminism error', async () => {
    const histories = files.map((f) => {
      const history = historyFromJSON(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      assert.ok(ids[f], `${f} is listed in workflow-ids.json`);
      return { workflowId: ids[f], history };
    });
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows'), replayName: 'ferry-replay' }, histories)) {
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
      replayed++;
    }
    assert.deepEqual(failures, []);
    assert.equal(replayed, files.length);
  });
});
