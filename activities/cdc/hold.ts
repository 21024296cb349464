// A repair of an online migration holds the sync (holdSignal) and must not write until the
// sync's consumer has really stopped: this waits for the sync to say so.
import { awaitSync } from './sync-watch';

export async function awaitSyncHeld(input: { syncWorkflowId: string; holder: string }): Promise<void> {
  // heldBy is published only once no apply run is in flight (a halted sync has none either).
  await awaitSync(
    input.syncWorkflowId,
    (p) => (p.state === 'stopped' || p.state === 'halted') && (p.heldBy ?? []).includes(input.holder),
    'nothing to hold; run the repair without it',
  );
}
