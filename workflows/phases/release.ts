// The end of a migration, whatever ended it: the connector and the replication slot must not
// outlive it (a slot left behind holds WAL forever).
import { CancellationScope, condition, getExternalWorkflowHandle } from '@temporalio/workflow';
import { abortSignal } from '../../contracts/messages';
import { releaseCapture } from './activities';
import type { MigrationContext } from './context';

/** The sync stops first (its consumer leaves the group), then capture goes. */
export async function release(ctx: MigrationContext): Promise<void> {
  const { id, spec, status, sync } = ctx;
  sync.scope?.cancel();
  await CancellationScope.nonCancellable(async () => {
    // By id, not run: the sync may have continued-as-new since it started (a cancel would miss it).
    if (status.syncWorkflowId && !sync.stopped) {
      await getExternalWorkflowHandle(status.syncWorkflowId).signal(abortSignal, 'the migration ended').catch(() => undefined);
      // Its last report says the consumer has stopped; a sync that already ended sends none.
      await condition(() => sync.stopped || sync.failed, '2 minutes');
    }
    const released = await releaseCapture({ spec, captureName: ctx.capture?.name, migrationId: id });
    if (released.left.length) {
      status.captureLeft = released.left;
      status.error = `${status.error ?? ''} (change capture ${released.name} not fully released: ${released.left.map((l) => l.what).join(', ')}; run ferry cleanup --id ${id})`.trim();
    }
  }).catch(() => {
    status.error = `${status.error ?? ''} (could not release change capture${ctx.capture ? ` ${ctx.capture.name}` : ''}: run ferry cleanup --id ${id})`.trim();
  });
}
