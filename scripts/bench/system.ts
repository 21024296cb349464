// Process plumbing for the benchmark: child process groups that are always cleaned up (also
// on Ctrl-C), peak memory and CPU seconds read from /proc, and the machine's facts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

// ---- child process groups -----------------------------------------------------------------

const groups = new Set<number>();

/** Kills every process group this benchmark started; safe to call more than once. */
export function killAllGroups(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
  if (signal === 'SIGKILL') groups.clear();
}

let handlersInstalled = false;
/** Ctrl-C or SIGTERM: stop the children (TERM, then KILL), run the caller's cleanup, exit 130. */
export function installSignalHandlers(cleanup: () => Promise<void>): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  let stopping = false;
  const stop = (sig: NodeJS.Signals) => {
    if (stopping) {
      killAllGroups('SIGKILL');
      process.exit(130);
    }
    stopping = true;
    console.error(`\nbench: ${sig}: stopping the processes it started…`);
    killAllGroups('SIGTERM');
    const hard = setTimeout(() => {
      killAllGroups('SIGKILL');
      process.exit(130);
    }, 5_000);
    cleanup()
      .catch(() => undefined)
      .finally(() => {
        killAllGroups('SIGKILL');
        clearTimeout(hard);
        process.exit(130);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('exit', () => killAllGroups('SIGKILL'));
}

export interface Started {
  child: ChildProcess;
  pid: number;
  log: string;
  exited: Promise<number>;
}

/** Starts a command in its own process group, stdout and stderr into `log`. */
export function startGroup(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; log: string; cwd?: string }): Started {
  const fd = openSync(opts.log, 'a');
  const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  const pid = child.pid;
  groups.add(pid);
  const exited = new Promise<number>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => {
      resolve(code ?? (signal ? 128 : 1));
    });
  });
  void exited.then(() => {
    // The leader is gone; anything left in its group still belongs to us until killed.
    try {
      process.kill(-pid, 0);
    } catch {
      groups.delete(pid);
    }
  });
  return { child, pid, log: opts.log, exited };
}

/** SIGTERM the group, wait up to `graceMs`, then SIGKILL it. */
export async function stopGroup(s: Started, graceMs = 15_000): Promise<void> {
  try {
    process.kill(-s.pid, 'SIGTERM');
  } catch {
    groups.delete(s.pid);
    return;
  }
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  if ((await Promise.race([s.exited, timer])) === 'timeout') console.error(`bench: pid ${s.pid} did not stop within ${graceMs / 1000} s: killed`);
  try {
    process.kill(-s.pid, 'SIGKILL');
  } catch {
    // the whole group is gone
  }
  groups.delete(s.pid);
}

/** The last `lines` lines of a log, indented, for failure messages. */
export function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `    | ${l}`).join('\n');
  } catch {
    return `    (no log at ${file})`;
  }
}

// ---- memory -----------------------------------------------------------------------------

function statusField(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Peak RSS of one process over a window: VmHWM after resetting it (clear_refs 5, Linux ≥ 4.0)
 * when the window opens, cross-checked by sampling VmRSS. If the reset is refused, the peak
 * counts from the process start (and says so).
 */
export class PeakMemory {
  private maxSampled = 0;
  private timer: NodeJS.Timeout;
  readonly resetWorked: boolean;
  /** RSS when the window opened. */
  readonly startBytes: number;

  constructor(private readonly pid: number, everyMs = 200) {
    let reset = false;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      reset = true;
    } catch {
      // not permitted: VmHWM keeps the peak since the process started
    }
    this.resetWorked = reset;
    this.startBytes = statusField(pid, 'VmRSS') ?? 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  private sample(): void {
    const rss = statusField(this.pid, 'VmRSS');
    if (rss !== null && rss > this.maxSampled) this.maxSampled = rss;
  }

  /** Peak bytes: max(VmHWM, sampled VmRSS). Call before the process stops. */
  stop(): { peakBytes: number; hwmBytes: number | null; sampledBytes: number } {
    clearInterval(this.timer);
    this.sample();
    const hwm = statusField(this.pid, 'VmHWM');
    return { peakBytes: Math.max(hwm ?? 0, this.maxSampled), hwmBytes: hwm, sampledBytes: this.maxSampled };
  }
}

// ---- CPU seconds --------------------------------------------------------------------------

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

interface ProcStat {
  pid: number;
  ppid: number;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): field n is f[n - 3].
    return { pid, ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
  } catch {
    return null;
  }
}

function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Stack services found by their command lines (the stack's pid files are its own business). */
export interface ServicePids {
  postmaster: number | null;
  mongo: number | null;
  temporal: number | null;
}

export function findServices(postmasterPid: number | null): ServicePids {
  let mongo: number | null = null;
  let temporal: number | null = null;
  for (const pid of allPids()) {
    const c = cmdline(pid);
    if (!mongo && c.includes('FerryMongoServer') && !c.includes('--ping')) mongo = pid;
    if (!temporal && /temporal\S* server start-dev/.test(c)) temporal = pid;
  }
  return { postmaster: postmasterPid, mongo, temporal };
}

/** CPU seconds used so far by the services, this process, its reaped children and `extra` pids. */
export type CpuSnapshot = Record<string, number>;

export function cpuSnapshot(services: ServicePids, extra: Record<string, number> = {}): CpuSnapshot {
  const s: CpuSnapshot = {};
  const own = readStat(process.pid);
  if (own) {
    s.bench = (own.utime + own.stime) / CLK_TCK;
    // Children we waited for (pgcopydb and its pg_dump/pg_restore, the ferry CLI).
    s.children = (own.cutime + own.cstime) / CLK_TCK;
  }
  if (services.postmaster) {
    // Live backends plus what exited backends left in the postmaster's cutime.
    let ticks = 0;
    const pm = readStat(services.postmaster);
    if (pm) ticks += pm.utime + pm.stime + pm.cutime + pm.cstime;
    for (const pid of allPids()) {
      const st = readStat(pid);
      if (st && st.ppid === services.postmaster) ticks += st.utime + st.stime;
    }
    s.postgres = ticks / CLK_TCK;
  }
  for (const [name, pid] of Object.entries({ mongo: services.mongo, temporal: services.temporal, ...extra })) {
    if (!pid) continue;
    const st = readStat(pid);
    if (st) s[name] = (st.utime + st.stime) / CLK_TCK;
  }
  return s;
}

/** Per-process CPU seconds between two snapshots (names present in both). */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (k in before) d[k] = Math.max(0, v - before[k]);
  return d;
}

/** A JVM's maximum heap: `jcmd PID VM.flags`, else the -Xmx on its command line; null if unknown. */
export function javaMaxHeapBytes(pid: number): number | null {
  const r = spawnSync('jcmd', [String(pid), 'VM.flags'], { encoding: 'utf8', timeout: 15_000 });
  const flag = /MaxHeapSize=(\d+)/.exec(r.stdout ?? '');
  if (flag) return Number(flag[1]);
  const xmx = /-Xmx(\d+)([kKmMgG]?)/.exec(cmdline(pid));
  if (!xmx) return null;
  return Number(xmx[1]) * ({ k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[xmx[2].toLowerCase()] ?? 1);
}

// ---- machine facts ------------------------------------------------------------------------

export function machineFacts(): { cores: number; cpuModel: string; memGiB: number; load: string; node: string; kernel: string } {
  const c = cpus();
  const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout?.trim() ?? '?';
  return {
    cores: c.length,
    cpuModel: c[0]?.model.trim() ?? '?',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    load: loadavg().map((l) => l.toFixed(2)).join(' '),
    node: process.version,
    kernel,
  };
}

/** True when `cmd` is on PATH. */
export function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
