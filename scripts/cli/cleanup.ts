// `ferry cleanup --id ID [--spec FILE]`: removes what a migration's change capture left on
// the source and in Kafka Connect (connector and its offsets, replication slot, publication,
// marker rows, Ferry's shared source tables once unused, a cutover's fence; the reverse sync's
// capture and fence on a PostgreSQL target) — for when the workflow is gone,
// terminated, or its release could not finish. Names come from the id exactly as capture
// derives them; the spec from the workflow's input when Temporal still has it, else --spec.
// Idempotent: a second run removes nothing and says so. Exit 0 when nothing is left, 1 when
// something could not be removed (each with the command to do it by hand), 2 for bad input.
import { WorkflowNotFoundError } from '@temporalio/client';
import { SpecError, loadSpecFile, validateSpec } from '../../activities/plan/spec';
import { formatProblem, type Spec } from '../../contracts/spec';
import { captureName, legacyCaptureName, reverseCaptureName } from '../../activities/cdc/capture';
import { reversedSpec } from '../../contracts/reverse';
import { targetEngine } from '../../engines';
import { removeCapture } from '../../activities/cdc/release';
import { unfenceSource } from '../../activities/cutover/fence';
import { renderRelease } from '../../contracts/capture-release';
import { closeAll } from '../../engines/connections';
import { temporalNamespace } from '../../workers/temporal-env';
import { CliError, connectClient, migrationSpec, readStatus } from './client';

export async function cleanupCommand(opts: { id: string; spec?: string; dropTarget?: boolean }): Promise<number> {
  const { spec, recordedName } = await specFor(opts);
  // The name the migration recorded when Temporal still has it; else the one its id gives,
  // and the one the code before per-id hashing gave (a migration started then).
  const name = recordedName ?? captureName(opts.id);
  const legacy = recordedName ? null : legacyCaptureName(opts.id);
  try {
    const report = await removeCapture(spec, name, opts.id, { dropShared: !legacy || legacy === name });
    for (const line of renderRelease(report)) console.log(line);
    if (legacy && legacy !== name) {
      const old = await removeCapture(spec, legacy, opts.id, { dropShared: true });
      // Its "already gone" lines would only repeat the above: report what it found, if anything.
      if (old.removed.length || old.left.length || old.notOurs.length) for (const line of renderRelease({ ...old, alreadyGone: [] })) console.log(line);
      report.removed.push(...old.removed);
      report.left.push(...old.left);
    }
    // The reverse sync's capture on a PostgreSQL target (a migration terminated after the switch), and a fence of that target's.
    if (targetEngine(spec).reverseFeed === 'debezium' && spec.mode === 'online') {
      const back = reversedSpec(spec);
      const rev = await removeCapture(back, reverseCaptureName(opts.id), opts.id);
      if (rev.removed.length || rev.left.length || rev.notOurs.length) for (const line of renderRelease({ ...rev, alreadyGone: [] })) console.log(`reverse (on the target): ${line}`);
      report.removed.push(...rev.removed);
      report.left.push(...rev.left);
      const targetFence = await unfenceSource({ spec: back, migrationId: opts.id }).catch((err) => {
        report.left.push({ what: 'the target fence', reason: (err as Error).message, command: `ferry cleanup --id ${opts.id}` });
        return null;
      });
      if (targetFence && targetFence.detail !== 'nothing was fenced') {
        console.log(`lifted the target fence: ${targetFence.detail}`);
        report.removed.push(`the target fence (${targetFence.detail})`);
      }
    }
    // A fence whose workflow is gone (terminated mid-cutover): its ledger says what to lift.
    const fence = await unfenceSource({ spec, migrationId: opts.id }).catch((err) => {
      report.left.push({ what: 'the source fence', reason: (err as Error).message, command: `ferry cleanup --id ${opts.id}` });
      return null;
    });
    if (fence && fence.detail !== 'nothing was fenced') {
      console.log(`lifted the source fence: ${fence.detail}`);
      report.removed.push(`the source fence (${fence.detail})`);
    }
    // What Ferry created on the target (a rehearsal run with --keep, a migration abandoned): exactly its ledger's entries.
    if (opts.dropTarget) {
      const dropped = await targetEngine(spec).dropCreated(spec, opts.id);
      for (const d of dropped.dropped) console.log(`dropped ${d} (target)`);
      for (const k of dropped.kept) console.log(`kept ${k} (target)`);
      report.removed.push(...dropped.dropped);
    }
    if (!report.removed.length && !report.left.length) console.log(`nothing left of migration ${opts.id} (capture name ${name})`);
    if (report.left.length) {
      console.error(`ferry: ${report.left.length} thing${report.left.length > 1 ? 's' : ''} of migration ${opts.id} could not be removed (see above); fix the cause and run \`ferry cleanup --id ${opts.id}\` again, or remove them by hand`);
      return 1;
    }
    return 0;
  } finally {
    await closeAll();
  }
}

/** The workflow's own spec when Temporal has it; --spec otherwise. A running migration is refused. */
async function specFor(opts: { id: string; spec?: string }): Promise<{ spec: Spec; recordedName: string | null }> {
  let fromWorkflow: Spec | null = null;
  let recordedName: string | null = null;
  let why = '';
  try {
    const client = await connectClient();
    try {
      const desc = await client.workflow.getHandle(opts.id).describe();
      if (desc.status.name === 'RUNNING') {
        throw new CliError(`migration ${opts.id} is still running: cleaning up would pull its change capture away under it; abort it first (ferry signal --id ${opts.id} abort), which releases it`, 2);
      }
      fromWorkflow = await migrationSpec(client, opts.id);
      // The capture name it recorded (an aborted or failed migration's status carries it).
      recordedName = (await readStatus(client, opts.id).catch(() => null))?.status?.capture?.name ?? null;
    } finally {
      await client.connection.close().catch(() => undefined);
    }
  } catch (err) {
    if (err instanceof CliError && err.exitCode === 2 && /still running|is not a migration/.test(err.message)) throw err;
    why = err instanceof WorkflowNotFoundError || err instanceof CliError ? `no workflow ${opts.id} in namespace ${temporalNamespace()}` : `Temporal could not be asked (${(err as Error).message})`;
  }
  try {
    // Its references resolve from this environment, like a worker's.
    if (fromWorkflow) return { spec: validateSpec(fromWorkflow, process.env), recordedName };
    if (opts.spec) return { spec: loadSpecFile(opts.spec), recordedName: null };
  } catch (err) {
    if (err instanceof SpecError) {
      throw new CliError(`${fromWorkflow ? `the spec of ${opts.id}` : opts.spec}: nothing was removed:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, 2);
    }
    throw err;
  }
  throw new CliError(`${why}: give the migration's spec with --spec FILE (its source and sync sections say where to clean up)`, 2);
}
