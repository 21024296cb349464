// Benchmarks run in a Temporal namespace of their own, with Ferry's search attributes
// registered, so no other worker on the same server takes their tasks.
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { searchAttributes } from '../../workflows/definitions';

/** A namespace of its own, so no other worker on this Temporal server takes the bench's tasks. */
export async function ensureNamespace(connection: Connection, namespace: string, log: (line: string) => void): Promise<void> {
  const ws = connection.workflowService;
  try {
    await ws.describeNamespace({ namespace });
  } catch (err) {
    if ((err as { code?: number }).code !== 5) throw err; // 5 = NOT_FOUND
    log(`temporal: registering namespace ${namespace} (retention 1 day)`);
    await ws.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  }
  const wanted = Object.values(searchAttributes).map((k) => ({ name: k.name, type: encodeSearchAttributeIndexedValueType(k.type)! }));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const have = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = wanted.filter((w) => !(w.name in (have.customAttributes ?? {})));
      if (missing.length) {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((m) => [m.name, m.type])) });
        throw new Error(`search attributes ${missing.map((m) => m.name).join(', ')} just added`);
      }
      // Usable when a visibility query on them is accepted.
      await ws.listWorkflowExecutions({ namespace, pageSize: 1, query: `${wanted[0].name} = 'bench'` });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`temporal namespace ${namespace} not usable after 60 s: ${(err as Error).message}`);
      await new Promise((res) => setTimeout(res, 1_000));
    }
  }
}
