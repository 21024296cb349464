// The operator CLI. Exit codes: 0 success, 1 failure, 2 bad input (nothing was started).
import { Command, Option } from 'commander';
import { CliError } from './cli/errors';
import { signalVerbs } from './cli/signal-verbs';
import type { QueueName } from '../contracts/queues';

// Each command loads its module when it runs, not before: `ferry status` then loads the
// Temporal client and nothing more (no pg, mongodb, kafkajs or worker SDK), and `ferry --help`
// loads neither. Keep new commands lazy the same way.

const program = new Command('ferry')
  .description('PostgreSQL → MongoDB / PostgreSQL migrations as durable Temporal workflows')
  .showHelpAfterError()
  .exitOverride();

program
  .command('stack')
  .description('local services: up | down | status | env | logs [NAME] | stop | start | restart | kill NAME | pg MAJOR up|down|status|url')
  .argument('<action>', 'up, down, status, env, logs, stop, start, restart, kill or pg')
  .argument('[name...]', 'service name (logs, stop, start, restart, kill); for pg: a PostgreSQL major (13-17) and up, down, status or url')
  .action(async (action: string, name: string[]) => finish((await import('./cli/stack')).stackCommand([action, ...name])));

program
  .command('setup')
  .description("make a Temporal namespace ready for Ferry: create it if missing, register Ferry's search attributes (idempotent)")
  .option('--namespace <ns>', 'namespace (default: TEMPORAL_NAMESPACE or default)')
  .option('--retention-days <n>', 'retention of a namespace this creates', '7')
  .action(async (opts) => finish(await (await import('./cli/setup')).setupCommand(opts)));

program
  .command('worker')
  .description('run workers in the foreground')
  .addOption(new Option('--queue <queue>', 'task queue to poll').choices(['control', 'copy', 'cdc', 'all']).default('all'))
  .action(async (opts: { queue: string }) => {
    const { runWorkers } = await import('../workers/run');
    const queues: QueueName[] = opts.queue === 'all' ? ['control', 'copy', 'cdc'] : [opts.queue as QueueName];
    await runWorkers(queues);
  });

program
  .command('start')
  .description('check a spec and start its migration')
  .requiredOption('--spec <file>', 'migration spec, YAML or JSON')
  .option('--id <id>', 'workflow id (default: ferry-NAME-TIMESTAMP)')
  .option('--wait', 'follow progress until the migration ends; non-zero exit if it fails')
  .action(async (opts) => finish(await (await import('./cli/start')).startCommand(opts)));

program
  .command('status')
  .description("a migration's phase, per-table progress, lag and verification")
  .requiredOption('--id <id>', 'migration workflow id')
  .option('--json', 'machine-readable output')
  .action(async (opts) => finish(await (await import('./cli/status')).statusCommand(opts)));

program
  .command('wait')
  .description('block until an online migration has caught up (exit 0), or it ends or times out (exit 1)')
  .requiredOption('--id <id>', 'migration workflow id')
  .option('--caught-up', 'wait until the sync has replayed the backlog')
  .option('--max-lag <seconds>', 'caught up means lag at or under this many seconds (default: the sync says caught-up)')
  .option('--timeout <seconds>', 'give up after this long (exit 1)')
  .action(async (opts) => finish(await (await import('./cli/wait')).waitCommand(opts)));

program
  .command('signal')
  .description(`steer a running migration: ${signalVerbs.join(' | ')}`)
  .requiredOption('--id <id>', 'migration workflow id')
  .argument('<verb>', signalVerbs.join(' | '))
  .argument('[value]', 'rows per second (throttle; 0 = unlimited)')
  .option('--reason <text>', 'why (abort)')
  .action(async (verb: string, value: string | undefined, opts) => finish(await (await import('./cli/signal')).signalCommand({ ...opts, verb, value })));

program
  .command('skip')
  .description('go past the poison event a halted sync waits at (sync.onPoison: halt); it stays dead-lettered')
  .requiredOption('--id <id>', 'migration workflow id')
  .option('--position <topic/partition@offset>', 'the event you mean, as ferry status shows it (refused if the sync waits at another)')
  .action(async (opts) => finish(await (await import('./cli/skip')).skipCommand(opts)));

program
  .command('cutover')
  .description('approve the switch of applications from the source to the target; refused, naming the failing gates, unless every gate holds (see them with --check)')
  .requiredOption('--id <id>', 'migration workflow id')
  .option('--check', 'only show each gate (value and limit) and exit 0 if all pass, 1 if not; changes nothing')
  .option('--wait', 'follow the steps until the cutover has ended; exit 0 only if it cut over')
  .option('--json', 'machine-readable output (--check: { pass, gates }; --wait: the answer)')
  .option('--reason <text>', 'why, sent with the approval')
  .action(async (opts) => finish(await (await import('./cli/cutover')).cutoverCommand(opts)));

program
  .command('finalize')
  .description('after the cutover: stop following the source, release change capture and complete the migration')
  .requiredOption('--id <id>', 'migration workflow id')
  .action(async (opts) => finish(await (await import('./cli/cutover')).finalizeCommand(opts)));

program
  .command('route')
  .description('before the write switch: let applications send a share of their reads to the target (refused while shadow reads find differences)')
  .requiredOption('--id <id>', 'migration workflow id')
  .requiredOption('--reads <percent>', 'percent of reads for the target, 0-100 (0: all reads from the source)')
  .action(async (opts) => finish(await (await import('./cli/cutover')).routeCommand(opts)));

program
  .command('shadow')
  .description("the shadow reads of a syncing migration: keys compared on both sides, proven differences, latencies, each query's results")
  .requiredOption('--id <id>', 'migration workflow id')
  .option('--json', 'machine-readable output (the shadow status)')
  .action(async (opts) => finish(await (await import('./cli/shadow')).shadowCommand(opts)));

program
  .command('plan')
  .description('check a spec and print the plan and schema report; starts nothing')
  .requiredOption('--spec <file>', 'migration spec, YAML or JSON')
  .option('--chunks', 'count exact chunk boundaries from the key indexes (reads every key)')
  .option('--json', 'machine-readable output')
  .action(async (opts) => finish(await (await import('./cli/plan')).planCommand(opts)));

program
  .command('verify')
  .description("compare a migration's source and target row by row (per-chunk checksums, drill-down to keys)")
  .requiredOption('--id <id>', 'migration workflow id')
  .option('--json', 'print the report (summary and every differing key, up to --limit) as JSON')
  .option('--report <file>', 'also write the JSON report to this file')
  .option('--limit <n>', 'differing keys listed in the JSON report', '10000')
  .action(async (opts) => finish(await (await import('./cli/verify')).verifyCommand(opts)));

program
  .command('repair')
  .description('re-copy exactly the keys the last verification found different, then re-check them')
  .requiredOption('--id <id>', 'migration workflow id')
  .option('--verify-id <id>', 'the verification whose keys to repair (default: the latest)')
  .action(async (opts) => finish(await (await import('./cli/verify')).repairCommand(opts)));

program
  .command('rollback')
  .description('roll a migration back: before the switch, stop and release capture (--drop-target also removes what Ferry created on the target; the workflow completes rolled-back); during a cutover, undo the attempt and sync on; after the switch, fence the target, drain the reverse sync and point the application back at the source (refused when the migration runs no reverse sync)')
  .requiredOption('--id <id>', 'migration workflow id')
  .option('--wait', 'follow it to its end; exit 0 once rolled back (or syncing again, during a cutover)')
  .option('--drill', 'after the switch (a rehearsal): roll back, wait, and print each step\'s time and the events the reverse sync carried')
  .option('--drop-target', 'also remove exactly what Ferry created on the target (its ledger says what; what existed before stays)')
  .option('--to <phase>', 'during a cutover: sync (default: undo the attempt, go on syncing) or rolled-back (end the migration)')
  .option('--reason <text>', 'why (kept in status)')
  .action(async (opts) => finish(await (await import('./cli/rollback')).rollbackCommand(opts)));

program
  .command('cleanup')
  .description("remove what a migration's change capture left behind: connector and its offsets, replication slot, publication, marker rows")
  .requiredOption('--id <id>', 'migration workflow id (the names are derived from it)')
  .option('--spec <file>', "the migration's spec, when Temporal no longer has the workflow")
  .option('--drop-target', 'also drop exactly what Ferry created on the target for this migration (its ledger says what; what existed before stays)')
  .action(async (opts) => finish(await (await import('./cli/cleanup')).cleanupCommand(opts)));

program
  .command('rehearse')
  .description('run the whole migration as a rehearsal (backfill, catch-up, verify, shadow, cutover dry run, rollback drill, cleanup) and report go/no-go and the ETA for production; or schedule rehearsals')
  .option('--spec <file>', 'the migration spec (mode online) to rehearse')
  .option('--id <id>', 'workflow id (default: ferry-rehearsal-NAME-TIMESTAMP; with --schedule, the schedule id ferry-rehearsal-NAME)')
  .option('--report <dir>', 'wait for the end and write the report there (html, md and json)')
  .option('--scale <rows-or-factor>', 'production size for the ETA: a factor (12x) or a row count (50000000); default: the spec\'s rehearsal.production, else the source\'s statistics')
  .option('--shadow-seconds <n>', 'seconds of shadow reads while syncing before the dry run (default: the spec\'s rehearsal.shadowSeconds)')
  .option('--keep', 'leave what the rehearsal made on the target (capture is always released)')
  .option('--wait', 'follow it to its end; exit 0 on go, 1 on no-go')
  .option('--schedule <cron>', 'create a Temporal Schedule that runs this rehearsal periodically: a cron expression ("0 2 * * 1") or "@every 6h"')
  .option('--list', "list Ferry's rehearsal schedules")
  .option('--delete <schedule-id>', 'delete a rehearsal schedule')
  .action(async (opts) => finish(await (await import('./cli/rehearse')).rehearseCommand(opts)));

program
  .command('report')
  .description("render a stored rehearsal's report, with the earlier rehearsals of its spec as the trend")
  .requiredOption('--id <id>', 'the rehearsal id (ferry rehearse prints it; a scheduled run\'s id starts with the schedule id)')
  .option('--format <formats>', 'html, md or json (several comma-separated)', 'html')
  .option('--out <dir>', 'folder to write into (default: the current one); - prints to stdout')
  .option('--spec <file>', "the rehearsal's spec, when Temporal no longer has the workflow")
  .action(async (opts) => finish(await (await import('./cli/report')).reportCommand(opts)));

function finish(code: number): never {
  process.exit(code);
}

program.parseAsync(process.argv).catch((err) => {
  if (err instanceof CliError) {
    console.error(`ferry: ${err.message}`);
    process.exit(err.exitCode);
  }
  // commander's own usage errors (unknown option, missing argument): bad input.
  if (err && typeof err === 'object' && 'exitCode' in err && 'code' in err && String((err as { code: string }).code).startsWith('commander.')) {
    process.exit((err as { exitCode: number }).exitCode === 0 ? 0 : 2);
  }
  console.error(`ferry: ${(err as Error)?.stack ?? err}`);
  process.exit(1);
});
