// One timed step of the cutover or of the way back after it: shown in status as it runs, with
// its duration and what it did (or why it failed). The figures an operator and a drill read.
import type { CutoverStep, CutoverStepName } from '../../contracts/cutover';
import { innermostMessage } from '../failures';

/** A step that found the way on unsafe (a gate, a difference): its message is the reason shown, as it is. */
export class StepFailed extends Error {}

export const nowIso = () => new Date(Date.now()).toISOString();

/** Runs `run` as the step `name`, recorded in `steps` (a status array the queries show). */
export async function runStep<T>(steps: CutoverStep[], name: CutoverStepName, run: () => Promise<T>, describe?: (r: T) => string): Promise<T> {
  const s: CutoverStep = { name, state: 'running', startedAt: nowIso(), durationSeconds: null, detail: null };
  steps.push(s);
  const started = Date.now();
  try {
    const r = await run();
    Object.assign(s, { state: 'done', durationSeconds: (Date.now() - started) / 1000, detail: describe?.(r) ?? null });
    return r;
  } catch (err) {
    Object.assign(s, { state: 'failed', durationSeconds: (Date.now() - started) / 1000, detail: innermostMessage(err) });
    throw err;
  }
}
