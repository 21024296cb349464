// Where a Ferry run spent its time, read back from Temporal: the migration's own history
// and its children's (following continue-as-new), as a timeline of the parent's steps and
// per-activity-type totals. Nothing here depends on which activities Ferry has today.
import type { Client } from '@temporalio/client';

type Ts = { seconds?: unknown; nanos?: number | null } | null | undefined;

function ms(ts: Ts): number {
  if (!ts) return NaN;
  const s = ts.seconds;
  const secs = typeof s === 'number' ? s : Number(String(s ?? 0));
  return secs * 1000 + (ts.nanos ?? 0) / 1e6;
}

interface AnyEvent {
  eventId?: unknown;
  eventTime?: Ts;
  [attributes: string]: unknown;
}

/** One step of the parent workflow, in the order it started. */
export interface Step {
  what: string;
  startS: number;
  durationS: number;
}

/** Totals for one activity type (or the workflow tasks) over every run of the migration. */
export interface ActivityTotals {
  name: string;
  count: number;
  /** First scheduled → last closed. */
  spanS: number;
  /** Sum of started → closed (last attempt). */
  busyS: number;
  maxS: number;
  /** Sum of scheduled → started: time waiting for a worker slot. */
  waitS: number;
  retries: number;
}

export interface Timeline {
  workflowS: number;
  startedAt: number;
  closedAt: number;
  steps: Step[];
  activities: ActivityTotals[];
  runs: number;
  /**
   * Seconds of the workflow's span during which no activity of the migration was running
   * anywhere (workflow tasks, scheduling, child starts and closes): orchestration on the
   * critical path.
   */
  idleS: number;
}

/** Total length of the union of [start, end] intervals, clipped to [from, to]. */
export function coveredMs(intervals: Array<[number, number]>, from: number, to: number): number {
  const sorted = intervals
    .map(([a, b]) => [Math.max(a, from), Math.min(b, to)] as [number, number])
    .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [curA, curB] = [NaN, NaN];
  for (const [a, b] of sorted) {
    if (!(a <= curB)) {
      if (curB > curA) total += curB - curA;
      [curA, curB] = [a, b];
    } else curB = Math.max(curB, b);
  }
  if (curB > curA) total += curB - curA;
  return total;
}

interface RunEvents {
  workflowId: string;
  events: AnyEvent[];
}

async function runEvents(client: Client, workflowId: string, runId?: string): Promise<RunEvents[]> {
  const out: RunEvents[] = [];
  let current: string | undefined = runId;
  for (let guard = 0; guard < 1000; guard++) {
    const history = await client.workflow.getHandle(workflowId, current).fetchHistory();
    const events = (history.events ?? []) as unknown as AnyEvent[];
    out.push({ workflowId, events });
    const last = events[events.length - 1] as { workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string } } | undefined;
    const next = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!next || !current) break; // without a run id we read the latest run: nothing follows it
    current = next;
  }
  return out;
}

const CLOSE_KEYS = ['activityTaskCompletedEventAttributes', 'activityTaskFailedEventAttributes', 'activityTaskTimedOutEventAttributes', 'activityTaskCanceledEventAttributes'];
const CHILD_CLOSE_KEYS = ['childWorkflowExecutionCompletedEventAttributes', 'childWorkflowExecutionFailedEventAttributes', 'childWorkflowExecutionCanceledEventAttributes', 'childWorkflowExecutionTimedOutEventAttributes', 'childWorkflowExecutionTerminatedEventAttributes'];
const WF_CLOSE_KEYS = ['workflowExecutionCompletedEventAttributes', 'workflowExecutionFailedEventAttributes', 'workflowExecutionTerminatedEventAttributes', 'workflowExecutionCanceledEventAttributes', 'workflowExecutionTimedOutEventAttributes', 'workflowExecutionContinuedAsNewEventAttributes'];

export async function migrationTimeline(client: Client, workflowId: string): Promise<Timeline> {
  // The parent: its latest run (a migration does not continue-as-new; children may).
  const parentRuns = await runEvents(client, workflowId);
  const all: RunEvents[] = [...parentRuns];
  const pending: Array<{ workflowId: string; runId: string }> = [];
  const seen = new Set<string>();
  for (let i = 0; i < all.length; i++) {
    for (const e of all[i].events) {
      const started = e.childWorkflowExecutionStartedEventAttributes as { workflowExecution?: { workflowId?: string; runId?: string } } | undefined;
      const ex = started?.workflowExecution;
      if (ex?.workflowId && ex.runId && !seen.has(ex.runId)) {
        seen.add(ex.runId);
        pending.push({ workflowId: ex.workflowId, runId: ex.runId });
      }
    }
    while (pending.length) {
      const c = pending.shift()!;
      all.push(...(await runEvents(client, c.workflowId, c.runId)));
    }
  }

  const parent = parentRuns[parentRuns.length - 1].events;
  const startedAt = ms(parent[0]?.eventTime);
  const closeEvent = parent.find((e) => WF_CLOSE_KEYS.some((k) => e[k]));
  const closedAt = ms(closeEvent?.eventTime ?? parent[parent.length - 1]?.eventTime);

  // Parent steps: its activities and child workflows, each from scheduled/initiated to closed.
  const steps: Step[] = [];
  const byId = new Map<string, AnyEvent>();
  for (const e of parent) byId.set(String(e.eventId), e);
  const childStart = new Map<string, { at: number; what: string }>();
  for (const e of parent) {
    const sched = e.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined;
    if (sched) continue; // closed below
    for (const k of CLOSE_KEYS) {
      const a = e[k] as { scheduledEventId?: unknown } | undefined;
      if (!a) continue;
      const s = byId.get(String(a.scheduledEventId));
      const name = (s?.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined)?.activityType?.name ?? 'activity';
      const at = ms(s?.eventTime);
      steps.push({ what: `${name}${k === 'activityTaskCompletedEventAttributes' ? '' : ` (${k.replace(/^activityTask|EventAttributes$/g, '').toLowerCase()})`}`, startS: (at - startedAt) / 1000, durationS: (ms(e.eventTime) - at) / 1000 });
    }
    const init = e.startChildWorkflowExecutionInitiatedEventAttributes as { workflowId?: string; workflowType?: { name?: string } } | undefined;
    if (init?.workflowId) childStart.set(init.workflowId, { at: ms(e.eventTime), what: `child ${init.workflowType?.name ?? 'workflow'} ${init.workflowId.split('/').slice(1).join('/')}` });
    for (const k of CHILD_CLOSE_KEYS) {
      const c = e[k] as { workflowExecution?: { workflowId?: string } } | undefined;
      const id = c?.workflowExecution?.workflowId;
      const st = id ? childStart.get(id) : undefined;
      if (st) steps.push({ what: st.what, startS: (st.at - startedAt) / 1000, durationS: (ms(e.eventTime) - st.at) / 1000 });
    }
  }
  steps.sort((a, b) => a.startS - b.startS);

  // Activity totals over every run, plus the workflow tasks (the orchestration's own cost).
  const totals = new Map<string, { count: number; first: number; last: number; busy: number; max: number; wait: number; retries: number }>();
  const running: Array<[number, number]> = [];
  const add = (name: string, scheduled: number, started: number, closed: number, attempt: number) => {
    if (name !== '(workflow tasks)') running.push([Number.isFinite(started) ? started : scheduled, closed]);
    let t = totals.get(name);
    if (!t) totals.set(name, (t = { count: 0, first: Infinity, last: -Infinity, busy: 0, max: 0, wait: 0, retries: 0 }));
    t.count++;
    t.first = Math.min(t.first, scheduled);
    t.last = Math.max(t.last, closed);
    const run = Number.isFinite(started) ? closed - started : closed - scheduled;
    t.busy += run;
    t.max = Math.max(t.max, run);
    if (Number.isFinite(started)) t.wait += started - scheduled;
    t.retries += Math.max(0, attempt - 1);
  };
  for (const run of all) {
    const ids = new Map<string, AnyEvent>();
    for (const e of run.events) ids.set(String(e.eventId), e);
    const startedFor = new Map<string, AnyEvent>();
    for (const e of run.events) {
      const st = (e.activityTaskStartedEventAttributes ?? e.workflowTaskStartedEventAttributes) as { scheduledEventId?: unknown } | undefined;
      if (st) startedFor.set(String(st.scheduledEventId), e);
    }
    for (const e of run.events) {
      for (const k of CLOSE_KEYS) {
        const a = e[k] as { scheduledEventId?: unknown } | undefined;
        if (!a) continue;
        const s = ids.get(String(a.scheduledEventId));
        const st = startedFor.get(String(a.scheduledEventId));
        const name = (s?.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined)?.activityType?.name ?? 'activity';
        const attempt = Number((st?.activityTaskStartedEventAttributes as { attempt?: number } | undefined)?.attempt ?? 1);
        add(name, ms(s?.eventTime), ms(st?.eventTime), ms(e.eventTime), attempt);
      }
      const wt = e.workflowTaskCompletedEventAttributes as { scheduledEventId?: unknown } | undefined;
      if (wt) {
        const s = ids.get(String(wt.scheduledEventId));
        const st = startedFor.get(String(wt.scheduledEventId));
        add('(workflow tasks)', ms(s?.eventTime), ms(st?.eventTime), ms(e.eventTime), 1);
      }
    }
  }
  const activities = [...totals.entries()].map(([name, t]) => ({
    name, count: t.count, spanS: (t.last - t.first) / 1000, busyS: t.busy / 1000, maxS: t.max / 1000, waitS: t.wait / 1000, retries: t.retries,
  }));
  activities.sort((a, b) => b.busyS - a.busyS);
  const idleS = (closedAt - startedAt - coveredMs(running, startedAt, closedAt)) / 1000;
  return { workflowS: (closedAt - startedAt) / 1000, startedAt, closedAt, steps, activities, runs: all.length, idleS };
}
