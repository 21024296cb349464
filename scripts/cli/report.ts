// `ferry report --id REHEARSAL_ID [--format html|md|json] [--out DIR|-]`: renders a stored
// rehearsal — its record read from the target's store (the spec from the rehearsal's input
// while Temporal keeps it, else --spec), with the earlier rehearsals of the same spec as its
// trend. Exit 0 when written, 2 when there is no such rehearsal or the input is bad.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadSpecFile, SpecError, validateSpec } from '../../activities/plan/spec';
import type { RehearsalInput, RehearsalRecord } from '../../contracts/rehearsal';
import { formatProblem, type Spec } from '../../contracts/spec';
import { targetEngine } from '../../engines';
import { closeAll } from '../../engines/connections';
import { renderReport, reportFileName, reportFormats, type ReportFormat } from '../../rehearsal/report';
import { CliError, connectClient, startInput } from './client';
import { renderVerdict } from './rehearsal-format';

export interface ReportOptions {
  id: string;
  format?: string;
  out?: string;
  spec?: string;
}

export async function reportCommand(opts: ReportOptions): Promise<number> {
  const formats = (opts.format ?? 'html').split(',').map((f) => f.trim()) as ReportFormat[];
  const bad = formats.filter((f) => !reportFormats.includes(f));
  if (bad.length) throw new CliError(`--format takes ${reportFormats.join(', ')} (or several, comma-separated), not ${bad.join(', ')}`, 2);
  const spec = await specOf(opts);
  try {
    const store = targetEngine(spec).rehearsals(spec);
    const record = await store.get(opts.id);
    if (!record) throw new CliError(`no record of rehearsal ${opts.id} on the target of spec ${spec.name} (a rehearsal still running records its figures when it ends: ferry status --id ${opts.id}/migration)`, 2);
    const previous = await earlier(spec, record);
    if (opts.out === '-') {
      for (const f of formats) process.stdout.write(renderReport(record, previous, f));
      return 0;
    }
    for (const line of renderVerdict(record)) console.log(line);
    for (const f of formats) console.log(`report: ${await writeOne(record, previous, f, opts.out ?? '.')}`);
    return 0;
  } finally {
    await closeAll();
  }
}

/** The reports of a rehearsal just run (ferry rehearse --report DIR): every format, with its trend. */
export async function writeReports(record: RehearsalRecord, dir: string, specAsSent: Spec): Promise<string[]> {
  const spec = validateSpec(specAsSent, process.env);
  try {
    const previous = await earlier(spec, record);
    const files: string[] = [];
    for (const f of reportFormats) files.push(await writeOne(record, previous, f, dir));
    return files;
  } finally {
    await closeAll();
  }
}

/** The spec's rehearsals before this one, oldest first (the trend). */
async function earlier(spec: Spec, record: RehearsalRecord): Promise<RehearsalRecord[]> {
  const all = await targetEngine(spec).rehearsals(spec).list(record.specName);
  return all.filter((r) => r.rehearsalId !== record.rehearsalId && r.startedAt < record.startedAt);
}

async function writeOne(record: RehearsalRecord, previous: RehearsalRecord[], format: ReportFormat, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = resolve(join(dir, reportFileName(record, format)));
  await writeFile(file, renderReport(record, previous, format));
  return file;
}

/** The rehearsal's spec (references resolved from this environment, like a worker's). */
async function specOf(opts: ReportOptions): Promise<Spec> {
  let sent: Spec | null = null;
  let why = '';
  try {
    const client = await connectClient();
    try {
      sent = (await startInput<RehearsalInput>(client, opts.id, 'rehearsal', '`ferry rehearse`')).spec;
    } finally {
      await client.connection.close().catch(() => undefined);
    }
  } catch (err) {
    if (err instanceof CliError && / is not a rehearsal/.test(err.message)) throw err;
    why = (err as Error).message;
  }
  try {
    if (sent) return validateSpec(sent, process.env);
    if (opts.spec) return loadSpecFile(opts.spec);
  } catch (err) {
    if (err instanceof SpecError) throw new CliError(`the spec of ${opts.id}:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, 2);
    throw err;
  }
  throw new CliError(`${why}: give the rehearsal's spec with --spec FILE (its target holds the records)`, 2);
}
