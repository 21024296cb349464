// Verifying a chunk on a MongoDB target. The source side is the documents exactly as the
// copy builds them (buildDocuments), the target side the documents as stored (read with
// every BSON type kept), both digested by checksum.ts and matched by _id. Extra documents
// are found by an _id range query when _id orders like the source key (integers, uuids,
// byte-ordered text); otherwise the table-level sweep streams every _id and asks the source.
import type { Document } from 'mongodb';
import type { Pool } from 'pg';
import type { ShadowQuery, Spec } from '../../contracts/spec';
import type { ChunkRange } from '../../contracts/backfill';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';
import { documentId, buildDocuments } from './mapping/document';
import { pgPool } from '../connections';
import { quoteIdent, quoteQualified } from '../postgres/identifiers';
import { keyOf, keyTypes, readBatch, readKeys } from '../postgres/source';
import { MongoTarget } from './target';
import { ChunkHash, canonicalText, documentDigests } from '../checksum';
import type { ChunkComparison, KeyReadTiming, SourceQueryRows, TargetQueryRows, Verifier } from '../engine';
import { canonicalRowsMongo, runQueryMongo } from './shadow-query';
import type { SourceRow } from '../rows';
import { databaseCollation } from '../postgres/key-ranges';
import { SWEEP_CHUNK, type Mismatch, type MismatchStore } from '../mismatches';

const BATCH = 2_000;
/** Every BSON type as stored: Int32 stays Int32, Int64 stays Long, bytes stay Binary. */
export const rawBson = { promoteValues: false, promoteLongs: false, promoteBuffers: false } as const;

/** The _id of a key (text form), as the copy writes it. */
export function idForKey(plan: TablePlan, key: string[]): unknown {
  return documentId(plan, key);
}

const INTEGER = new Set([20, 21, 23]);
const UUID_OID = 2950;
const TEXT = new Set([25, 1043]);
/** Collations (and libc locales) that order text by code point, as MongoDB orders strings. */
const BYTE_ORDER = new Set(['C', 'POSIX', 'C.UTF-8', 'C.utf8', 'ucs_basic']);

/** The bare name of a qualified, possibly quoted collation: `pg_catalog."C"` → `C`. */
function collationName(qualified: string): string {
  const m = /(?:"((?:[^"]|"")*)"|([^".]+))$/.exec(qualified);
  return m ? (m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]) : qualified;
}

/**
 * Whether MongoDB's _id order is the source key order, so a chunk's _id range holds
 * exactly the chunk's documents: integer and uuid keys, and text keys under a byte-order
 * collation (the column's, or the database default when the column names none).
 */
export async function idOrderMatchesKey(pool: Pool, plan: TablePlan): Promise<boolean> {
  const cols = plan.key.map((k) => plan.columns.find((c) => c.name === k)!);
  if (cols.some((c) => c.elementOid !== 0 || c.lossy === 'string')) return false;
  const text = cols.filter((c) => TEXT.has(c.baseOid));
  if (cols.some((c) => !INTEGER.has(c.baseOid) && c.baseOid !== UUID_OID && !TEXT.has(c.baseOid))) return false;
  if (text.length === 0) return true;
  const db = await databaseCollation(pool);
  // PostgreSQL 17's builtin provider (C, C.UTF-8) orders by code point, which is byte order.
  const dbByteOrder = db.provider === 'b' || (db.provider === 'c' && BYTE_ORDER.has(db.collate));
  return text.every((c: ColumnInfo) => (c.collation === null ? dbByteOrder : BYTE_ORDER.has(collationName(c.collation))));
}

/** The BSON type every _id of a range-checked table has. */
function idType(plan: TablePlan): string {
  if (plan.key.length > 1) return 'object';
  const oid = plan.columns.find((c) => c.name === plan.key[0])!.baseOid;
  return INTEGER.has(oid) ? 'number' : oid === UUID_OID ? 'binData' : 'string';
}

function idRange(plan: TablePlan, range: ChunkRange): Document {
  const cond: Document = {};
  if (range.lo) cond.$gte = idForKey(plan, range.lo);
  if (range.hi) cond.$lt = idForKey(plan, range.hi);
  return Object.keys(cond).length ? { _id: cond } : {};
}

export async function verifyChunkMongo(spec: Spec, plan: TablePlan, range: ChunkRange): Promise<ChunkComparison> {
  const pool = pgPool(spec.source.url);
  const coll = await new MongoTarget(spec).collection(plan);
  const checkable = await idOrderMatchesKey(pool, plan);
  const sh = new ChunkHash();
  const th = new ChunkHash();
  const mismatches: Mismatch[] = [];
  const unreadable: Mismatch[] = [];
  const sourceIds = new Set<string>();
  let next: Promise<Record<string, string | null>[]> | null = readBatch(pool, plan, range, null, BATCH);
  while (next) {
    const rows: Record<string, string | null>[] = await next;
    // Read the next source batch while this one is compared.
    next = rows.length === BATCH ? readBatch(pool, plan, range, keyOf(plan, rows[rows.length - 1]), BATCH) : null;
    if (rows.length === 0) break;
    const docs = await buildDocuments(plan, pool, rows);
    const found = await coll.find({ _id: { $in: docs.map((d) => d._id) } }, rawBson).toArray();
    const [digests, targetDigests] = await Promise.all([documentDigests(docs), documentDigests(found)]);
    const byId = new Map<string, bigint>();
    found.forEach((d, i) => byId.set(canonicalText(d._id), targetDigests[i]));
    docs.forEach((d, i) => {
      const id = canonicalText(d._id);
      if (checkable) sourceIds.add(id);
      sh.add(digests[i]);
      const t = byId.get(id);
      if (t === undefined) mismatches.push({ kind: 'missing', key: keyOf(plan, rows[i]) });
      else {
        th.add(t);
        if (t !== digests[i]) mismatches.push({ kind: 'different', key: keyOf(plan, rows[i]) });
      }
    });
  }
  if (checkable) {
    const filter = idRange(plan, range);
    if ((await coll.countDocuments(filter)) > th.rows) {
      for await (const d of coll.find(filter, rawBson)) {
        const id = canonicalText(d._id);
        if (sourceIds.has(id)) continue;
        th.add((await documentDigests([d]))[0]);
        const key = readableKey(plan, d._id);
        if (key) mismatches.push({ kind: 'extra', key });
        else unreadable.push({ kind: 'extra', key: [`_id ${canonicalText(d._id)}`] });
      }
    }
  }
  if (checkable && range.lo === null) {
    // _ids of another BSON type sort outside every chunk's range: the first chunk looks for them.
    for await (const d of coll.find({ _id: { $not: { $type: idType(plan) } } } as Document, rawBson)) {
      th.add((await documentDigests([d]))[0]);
      unreadable.push({ kind: 'extra', key: [`_id ${canonicalText(d._id)}`] });
    }
  }
  return { sourceRows: sh.rows, targetRows: th.rows, sourceHash: sh.hex(), targetHash: th.hex(), mismatches, unreadable, extrasChecked: checkable };
}

/** A scalar _id part as text PostgreSQL reads back as the key type (the inverse of the mapping). */
function partText(v: unknown): string {
  if (v === null || v === undefined) throw new Error('an _id part is null');
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  const o = v as { _bsontype?: string; value?: number; sub_type?: number; toString(enc?: string): string; toHexString?(): string };
  switch (o._bsontype) {
    case 'Int32':
    case 'Double':
      return String(o.value);
    case 'Long':
    case 'Decimal128':
      return o.toString();
    case 'Binary': {
      const hex = (v as { buffer: Uint8Array; position: number }).buffer.subarray(0, (v as { position: number }).position);
      const h = Buffer.from(hex).toString('hex');
      return o.sub_type === 4 && h.length === 32 ? `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` : `\\x${h}`;
    }
    case 'ObjectId':
      return o.toHexString!();
  }
  throw new Error(`an _id part of BSON type ${o._bsontype ?? typeof v} has no key text`);
}

/** The key (text form) of an _id; composite _ids are subdocuments with the key's parts in order. */
export function keyFromId(plan: TablePlan, id: unknown): string[] {
  if (plan.key.length === 1) return [partText(id)];
  if (id === null || typeof id !== 'object' || (id as { _bsontype?: string })._bsontype) throw new Error('a composite key needs a subdocument _id');
  const parts = Object.values(id as Record<string, unknown>);
  if (parts.length !== plan.key.length) throw new Error(`_id has ${parts.length} parts, the key ${plan.key.length}`);
  return parts.map(partText);
}

/** Whether this key addresses exactly this _id (so repair can delete the document by key). */
function addresses(plan: TablePlan, key: string[], id: unknown): boolean {
  try {
    return canonicalText(idForKey(plan, key)) === canonicalText(id);
  } catch {
    return false;
  }
}

/** The key of an _id when the key's _id is that _id again; else null (e.g. a string _id in an integer-keyed table). */
function readableKey(plan: TablePlan, id: unknown): string[] | null {
  try {
    const key = keyFromId(plan, id);
    return addresses(plan, key, id) ? key : null;
  } catch {
    return null;
  }
}

/**
 * Which of these candidate keys the source lacks, each in canonical text form (the key
 * type's own output, so the mismatch store holds the same text a source read gives).
 * A candidate the key type cannot even read is reported as null.
 */
async function absentFromSource(pool: Pool, plan: TablePlan, keys: string[][]): Promise<Array<string[] | null | undefined>> {
  const types = keyTypes(plan);
  const cols = plan.key.map((_k, i) => `k${i}`);
  const sql =
    `SELECT u.ord::int AS ord, json_build_array(${types.map((ty, i) => `(u.k${i}::${ty})::text`).join(', ')})::text AS k, ` +
    `EXISTS (SELECT 1 FROM ${quoteQualified(plan.table)} t WHERE ${plan.key.map((c, i) => `t.${quoteIdent(c)} = u.k${i}::${types[i]}`).join(' AND ')}) AS present ` +
    `FROM unnest(${cols.map((_c, i) => `$${i + 1}::text[]`).join(', ')}) WITH ORDINALITY AS u(${cols.join(', ')}, ord)`;
  const run = async (batch: string[][]) => {
    const res = await pool.query({ text: sql, values: plan.key.map((_k, i) => batch.map((key) => key[i])) });
    const out: Array<string[] | undefined> = new Array(batch.length).fill(undefined);
    for (const r of res.rows) if (r.present !== true && r.present !== 't') out[Number(r.ord) - 1] = JSON.parse(r.k);
    return out;
  };
  try {
    return await run(keys);
  } catch (err) {
    if (!/^22/.test((err as { code?: string }).code ?? '')) throw err;
    // Some _id does not read as the key type: look at them one by one to find which.
    const out: Array<string[] | null | undefined> = [];
    for (const key of keys) out.push(await run([key]).then((r) => r[0], (e) => (/^22/.test(e.code ?? '') ? null : Promise.reject(e))));
    return out;
  }
}

/**
 * Table-level search for extra documents when chunks could not look by _id range: skipped
 * when the target holds no more documents than the source rows it was found to have
 * (source count − missing); otherwise every _id is streamed and looked up on the source.
 * Extras are recorded under chunk SWEEP_CHUNK. _ids that no source key maps to (another
 * BSON type, another shape) are counted and sampled, not stored: repair could not address them.
 */
export async function sweepExtrasMongo(spec: Spec, plan: TablePlan, verifyId: string, store: MismatchStore): Promise<{ extra: number; sample: string[][] }> {
  const pool = pgPool(spec.source.url);
  const coll = await new MongoTarget(spec).collection(plan);
  await store.recordChunk(verifyId, plan.display, SWEEP_CHUNK, []);
  const [targetCount, sourceRes, counts] = await Promise.all([
    coll.countDocuments({}),
    pool.query(`SELECT count(*)::text AS n FROM ${quoteQualified(plan.table)}`),
    store.countByKind(verifyId, plan.display),
  ]);
  if (targetCount <= Number(sourceRes.rows[0].n) - counts.missing) return { extra: 0, sample: [] };
  let extra = 0;
  const sample: string[][] = [];
  const flush = async (ids: unknown[]) => {
    // An _id no key maps to is extra whatever the source holds; the others are looked up.
    const candidates = ids.map((id) => readableKey(plan, id));
    const readable = candidates.filter((c): c is string[] => c !== null);
    const absent = readable.length ? await absentFromSource(pool, plan, readable) : [];
    const found: Mismatch[] = [];
    let j = 0;
    candidates.forEach((c, i) => {
      const verdict = c === null ? null : absent[j++];
      if (verdict === undefined) return;
      extra++;
      if (verdict === null) {
        if (sample.length < 10) sample.push([`_id ${canonicalText(ids[i])}`]);
      } else {
        found.push({ kind: 'extra', key: verdict });
        if (sample.length < 10) sample.push(verdict);
      }
    });
    await store.add(verifyId, plan.display, SWEEP_CHUNK, found);
  };
  let ids: unknown[] = [];
  for await (const d of coll.find({}, { ...rawBson, projection: { _id: 1 }, batchSize: BATCH })) {
    ids.push(d._id);
    if (ids.length === BATCH) {
      await flush(ids);
      ids = [];
    }
  }
  if (ids.length) await flush(ids);
  return { extra, sample };
}

/** Digests of these keys' documents on the source (as built) and on the target (as stored), by key JSON. */
export async function keyDigestsMongo(spec: Spec, plan: TablePlan, rows: Record<string, string | null>[], keys: string[][], timing?: KeyReadTiming): Promise<{ source: Map<string, bigint>; target: Map<string, bigint> }> {
  const pool = pgPool(spec.source.url);
  const coll = await new MongoTarget(spec).collection(plan);
  const t0 = performance.now();
  const docs = await buildDocuments(plan, pool, rows);
  const source = new Map<string, bigint>();
  (await documentDigests(docs)).forEach((d, i) => source.set(JSON.stringify(keyOf(plan, rows[i])), d));
  const byId = new Map(keys.map((k) => [canonicalText(idForKey(plan, k)), JSON.stringify(k)]));
  const t1 = performance.now();
  const found = await coll.find({ _id: { $in: keys.map((k) => idForKey(plan, k)) } } as Document, rawBson).toArray();
  if (timing) {
    timing.sourceMs += t1 - t0;
    timing.targetMs = performance.now() - t1;
  }
  const target = new Map<string, bigint>();
  (await documentDigests(found)).forEach((d, i) => {
    const k = byId.get(canonicalText(found[i]._id));
    if (k !== undefined) target.set(k, d);
  });
  return { source, target };
}

/** The Verifier role of a MongoDB target: source rows are mapped to documents and hashed like the target's. */
export class MongoVerifier implements Verifier {
  constructor(private readonly spec: Spec) {}

  compareChunk(plan: TablePlan, range: ChunkRange): Promise<ChunkComparison> {
    return verifyChunkMongo(this.spec, plan, range);
  }

  sweepExtras(plan: TablePlan, verifyId: string, store: MismatchStore): Promise<{ extra: number; sample: string[][] }> {
    return sweepExtrasMongo(this.spec, plan, verifyId, store);
  }

  async keyDigests(plan: TablePlan, keys: string[][], rows?: SourceRow[], timing?: KeyReadTiming): Promise<{ source: Map<string, unknown>; target: Map<string, unknown> }> {
    const t0 = performance.now();
    const read = rows ?? (await readKeys(pgPool(this.spec.source.url), plan, keys));
    if (timing) timing.sourceMs = performance.now() - t0;
    return keyDigestsMongo(this.spec, plan, read, keys, timing);
  }

  runQuery(plan: TablePlan, query: ShadowQuery['target'], key: string[]): Promise<TargetQueryRows> {
    return runQueryMongo(this.spec, plan, query, key);
  }

  canonicalRows(plan: TablePlan, source: SourceQueryRows, target: TargetQueryRows): { source: string[]; target: string[] } {
    return canonicalRowsMongo(plan, source, target);
  }
}
