// Independent equality checks between source and target, for tests: every row, every value.
import { Pool } from 'pg';
import { BSON, MongoClient, type Document } from 'mongodb';
import { introspectTables } from '../../engines/postgres/source';
import { documentMapper } from '../../engines/mongodb/mapping/document';
import { parseQualifiedName, quoteQualified, quoteIdent, type QualifiedName } from '../../engines/postgres/identifiers';

const rawText = { getTypeParser: () => (v: string) => v } as never;

/** Canonical Extended JSON with keys sorted, so field order never matters. */
function canonical(doc: Document): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      const ej = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(ej).sort().map((k) => [k, sort(ej[k])]));
    }
    return v;
  };
  return JSON.stringify(sort(BSON.EJSON.serialize(doc, { relaxed: false })));
}

/** Maps every source row as Ferry would and compares it with the stored documents. */
export async function assertMongoEqual(sourceUrl: string, mongoUrl: string, database: string, tables: string[]): Promise<void> {
  const pool = new Pool({ connectionString: sourceUrl, types: rawText, options: '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3' });
  const mongo = await MongoClient.connect(mongoUrl);
  try {
    const { plans, problems } = await introspectTables(pool, tables.map((t) => ({ name: parseQualifiedName(t) as QualifiedName })));
    if (problems.length) throw new Error(JSON.stringify(problems));
    for (const plan of plans) {
      const map = documentMapper(plan);
      const rows = (await pool.query(`SELECT * FROM ${quoteQualified(plan.table)}`)).rows;
      const expected = new Set(rows.map((r) => canonical(map(r))));
      // promoteValues: false keeps Int64 and Int32 apart, as they are stored.
      const docs = await mongo.db(database).collection(plan.table.name).find({}, { promoteValues: false }).toArray();
      const actual = new Set(docs.map(canonical));
      const missing = [...expected].filter((d) => !actual.has(d));
      const extra = [...actual].filter((d) => !expected.has(d));
      if (missing.length || extra.length || docs.length !== rows.length) {
        throw new Error(`${plan.display}: ${rows.length} rows vs ${docs.length} docs; missing ${missing.length} (e.g. ${missing[0]}), extra ${extra.length} (e.g. ${extra[0]})`);
      }
    }
  } finally {
    await pool.end();
    await mongo.close();
  }
}

/**
 * md5 over every row's text form in key order, on both sides. The order is the keys' text
 * in byte order ("C"), the same on any two databases whatever their default collations.
 */
export async function assertPostgresEqual(sourceUrl: string, targetUrl: string, tables: string[]): Promise<void> {
  const src = new Pool({ connectionString: sourceUrl });
  const tgt = new Pool({ connectionString: targetUrl });
  try {
    const { plans, problems } = await introspectTables(src, tables.map((t) => ({ name: parseQualifiedName(t) as QualifiedName })));
    if (problems.length) throw new Error(JSON.stringify(problems));
    for (const plan of plans) {
      const sql = `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY ${plan.key.map((k) => `t.${quoteIdent(k)}::text COLLATE "C"`).join(', ')}), '')) AS h FROM ${quoteQualified(plan.table)} t`;
      const [a, b] = await Promise.all([src.query(sql), tgt.query(sql)]);
      if (a.rows[0].h !== b.rows[0].h) {
        throw new Error(`${plan.display}: source ${a.rows[0].n} rows (md5 ${a.rows[0].h}) vs target ${b.rows[0].n} rows (md5 ${b.rows[0].h})`);
      }
    }
  } finally {
    await src.end();
    await tgt.end();
  }
}
