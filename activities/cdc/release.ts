// Removes what prepareCapture created for one migration: connector (and the offsets Connect
// stores for it), replication slot, publication, marker rows, the claim on the name — and,
// for `ferry cleanup`, Ferry's shared tables on the source once no migration uses them.
// Used by releaseCapture (abort, failure, end) and by `ferry cleanup`. Every step is tried
// whatever happened to the one before, nothing waits without bound, and nothing throws: the
// report says what was removed and what is left, with the command that removes it by hand.
// Only what is this migration's is touched; a name recorded as another's is left alone.
import { type Spec } from '../../contracts/spec';
import { urlWord, type CaptureRelease } from '../../contracts/capture-release';
import { ConnectError, connectFor, sourcePassword } from './connect';
import { CONNECTOR_OWNER_KEY } from '../../engines/postgres/capture/ownership';
import { readCaptureOwner, releaseSourceObjects } from '../../engines/postgres/capture/release';

const why = (err: unknown) => (err as Error)?.message ?? String(err);

export async function removeCapture(spec: Spec, name: string, migrationId: string, opts: { dropShared?: boolean } = {}): Promise<CaptureRelease> {
  const report: CaptureRelease = { name, removed: [], alreadyGone: [], notOurs: [], left: [] };
  // Whose the name is decides what may be touched on the source: read before anything goes.
  const source = await readCaptureOwner(spec, name);
  const connectorGone = spec.sync ? await removeConnector(spec, name, migrationId, report) : true;
  // The source's objects (slot, publication, marker rows, the claim, shared tables).
  await releaseSourceObjects(spec, source, name, migrationId, connectorGone, report, opts);
  return report;
}

/** Connector first: while it runs it holds the slot. Stopped first, its stored offsets can be deleted too. */
async function removeConnector(spec: Spec, name: string, migrationId: string, report: CaptureRelease): Promise<boolean> {
  const what = `connector ${name}`;
  const connectUrl = `${spec.sync!.connect.replace(/\/+$/, '')}/connectors/${name}`;
  const command = `curl -X DELETE ${urlWord(connectUrl)}`;
  try {
    const connect = connectFor(spec, [sourcePassword(spec)]);
    const config = await connect.config(name);
    if (!config) {
      report.alreadyGone.push(what);
      return true;
    }
    const owner = config[CONNECTOR_OWNER_KEY];
    if (owner && owner !== migrationId) {
      report.notOurs.push(`${what} (migration ${owner})`);
      return true;
    }
    // A connector registered later under this name then starts afresh instead of resuming
    // from an LSN of a slot that no longer exists (DELETE …/offsets needs Connect ≥ 3.6).
    const offsets = (await connect.stop(name)) && (await connect.deleteOffsets(name));
    await connect.remove(name);
    report.removed.push(what);
    if (offsets) report.removed.push(`${what}'s stored offsets`);
    else {
      report.left.push({
        what: `${what}'s stored offsets`,
        reason: 'Kafka Connect did not delete them (PUT /connectors/NAME/stop and DELETE /connectors/NAME/offsets need Connect ≥ 3.6); a connector registered again under this name would resume from them',
        command: `register the connector again, then: curl -X PUT ${urlWord(`${connectUrl}/stop`)} && curl -X DELETE ${urlWord(`${connectUrl}/offsets`)} && ${command}`,
      });
    }
    return true;
  } catch (err) {
    const reason = err instanceof ConnectError && err.status === 0 ? err.message : why(err);
    report.left.push({ what, reason, command });
    return false;
  }
}
