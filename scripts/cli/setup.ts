// `ferry setup`: makes a Temporal cluster ready for Ferry — the namespace exists and Ferry's
// search attributes are registered in it. Idempotent: it says what it added, and adds
// nothing on a second run. The local stack's dev server registers them at start; any other
// cluster (a team's own, staging, production) needs this once per namespace.
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { searchAttributes } from '../../contracts/search-attributes';
import { CliError } from './client';
import { temporalAddress, temporalNamespace } from '../../workers/temporal-env';

export interface SetupResult {
  namespaceCreated: boolean;
  attributesAdded: string[];
}

/**
 * Registers the namespace when it is missing and every Ferry search attribute it lacks,
 * then waits until a visibility query on them is accepted (a just-added attribute is not
 * usable at once).
 */
export async function ensureNamespace(connection: Connection, namespace: string, log: (line: string) => void, retentionDays = 1): Promise<SetupResult> {
  const ws = connection.workflowService;
  const result: SetupResult = { namespaceCreated: false, attributesAdded: [] };
  try {
    await ws.describeNamespace({ namespace });
  } catch (err) {
    if ((err as { code?: number }).code !== 5) throw err; // 5 = NOT_FOUND
    log(`temporal: registering namespace ${namespace} (retention ${retentionDays} day${retentionDays === 1 ? '' : 's'})`);
    await ws.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`) });
    result.namespaceCreated = true;
  }
  const wanted = Object.values(searchAttributes).map((k) => ({ name: k.name, type: encodeSearchAttributeIndexedValueType(k.type)! }));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const have = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = wanted.filter((w) => !(w.name in (have.customAttributes ?? {})));
      if (missing.length) {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((m) => [m.name, m.type])) });
        for (const m of missing) if (!result.attributesAdded.includes(m.name)) result.attributesAdded.push(m.name);
        log(`temporal: added search attribute${missing.length > 1 ? 's' : ''} ${missing.map((m) => m.name).join(', ')} to ${namespace}`);
        throw new Error(`search attributes ${missing.map((m) => m.name).join(', ')} just added`);
      }
      // Usable when a visibility query on them is accepted.
      await ws.listWorkflowExecutions({ namespace, pageSize: 1, query: `${wanted[0].name} = 'setup'` });
      return result;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`temporal namespace ${namespace} not usable after 60 s: ${(err as Error).message}`);
      await new Promise((res) => setTimeout(res, 1_000));
    }
  }
}

export async function setupCommand(opts: { namespace?: string; retentionDays?: string }): Promise<number> {
  const namespace = opts.namespace ?? temporalNamespace();
  const retention = opts.retentionDays === undefined ? 7 : Number(opts.retentionDays);
  if (!Number.isInteger(retention) || retention < 1) {
    throw new CliError('--retention-days must be a whole number of days, at least 1', 2);
  }
  const connection = await Connection.connect({ address: temporalAddress(), connectTimeout: '5 seconds' });
  try {
    const r = await ensureNamespace(connection, namespace, (line) => console.log(line), retention);
    if (!r.namespaceCreated && !r.attributesAdded.length) console.log(`temporal: namespace ${namespace} already has every Ferry search attribute; nothing added`);
    else console.log(`temporal: namespace ${namespace} is ready for Ferry`);
    return 0;
  } finally {
    await connection.close();
  }
}
