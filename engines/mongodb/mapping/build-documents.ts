// Source rows → MongoDB documents, as the target holds them: the row mapping of document.ts
// plus any embedded tables. Backfill, repair and verification all build documents here, so
// what verification hashes on the source side is exactly what the copy wrote — embedding
// stays verifiable because the embedded rows are read and mapped the same way both times.
import type { Pool } from 'pg';
import type { Document } from 'mongodb';
import type { EmbedPlan, TablePlan } from '../../../contracts/tables';
import { readMatching } from '../../postgres/source';
import { type SourceRow } from '../../rows';
import { documentMapper } from './document';
import { planShape } from '../../plan-shape';

const mappers = new Map<string, (row: SourceRow) => Document>();

/** The compiled row mapper of a table, built once per table shape per process. */
export function mapperFor(plan: TablePlan): (row: SourceRow) => Document {
  const key = planShape(plan);
  let map = mappers.get(key);
  if (!map) mappers.set(key, (map = documentMapper(plan)));
  return map;
}

/** The documents for these rows, in the same order, embedded tables included. */
export async function buildDocuments(plan: TablePlan, source: Pool, rows: SourceRow[]): Promise<Document[]> {
  const map = mapperFor(plan);
  const docs = rows.map(map);
  for (const embed of plan.embeds) await embedInto(embed, source, rows, docs);
  return docs;
}

const tupleKey = (values: (string | null)[]) => JSON.stringify(values);

/**
 * One query per batch per embedded table: the related rows of every row in the batch, in
 * the embedded table's key order (so an embedded array's order is stable and verifiable).
 * Embedded documents carry their columns without an _id of their own.
 */
async function embedInto(embed: EmbedPlan, source: Pool, rows: SourceRow[], docs: Document[]): Promise<void> {
  const embeddedCols = embed.on.map(([c]) => c);
  const ownCols = embed.on.map(([, p]) => p);
  const wanted = rows.map((r) => ownCols.map((c) => r[c]));
  const usable = wanted.filter((t): t is string[] => t.every((v) => v !== null));
  const related = await readMatching(source, embed.plan, embeddedCols, [...new Map(usable.map((t) => [tupleKey(t), t])).values()]);
  const map = mapperFor(embed.plan);
  const byTuple = new Map<string, Document[]>();
  for (const r of related) {
    const doc = map(r);
    delete doc._id;
    const k = tupleKey(embeddedCols.map((c) => r[c]));
    const list = byTuple.get(k);
    if (list) list.push(doc);
    else byTuple.set(k, [doc]);
  }
  docs.forEach((doc, i) => {
    const found = wanted[i].some((v) => v === null) ? undefined : byTuple.get(tupleKey(wanted[i]));
    doc[embed.as] = embed.kind === 'many' ? (found ?? []) : (found?.[0] ?? null);
  });
}
