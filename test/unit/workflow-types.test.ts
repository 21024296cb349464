// contracts/workflow-types.ts names the workflows for code that starts them without importing
// workflow code: the names must be exactly what the control worker registers (the exports of
// workflows/index.ts), and the signatures there must be the functions' own.
import { strict as assert } from 'node:assert';
import * as workflows from '../../workflows';
import { workflowTypes, type StartableWorkflows, type WorkflowTypeName } from '../../contracts/workflow-types';

// Checked by tsc (npm test runs it): the same names both ways, and each startable workflow's
// signature assignable both ways to the real function's (arguments and result).
type Exported = keyof typeof workflows;
const sameNames: [Exported] extends [WorkflowTypeName] ? ([WorkflowTypeName] extends [Exported] ? true : false) : false = true;
const realFitsContract: StartableWorkflows = workflows;
const contractFitsReal = (s: StartableWorkflows): Pick<typeof workflows, keyof StartableWorkflows> => s;

describe('workflow type names (contracts/workflow-types.ts)', () => {
  it('name every workflow the worker registers, each under its exported function name', () => {
    assert.ok(sameNames && realFitsContract && contractFitsReal);
    const exported = Object.entries(workflows).filter(([, v]) => typeof v === 'function');
    assert.deepEqual(Object.keys(workflowTypes).sort(), exported.map(([k]) => k).sort());
    for (const [key, fn] of exported) assert.equal(workflowTypes[key as WorkflowTypeName], fn.name, key);
  });
});
