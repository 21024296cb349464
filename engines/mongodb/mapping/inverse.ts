// MongoDB document → source row: the inverse of document.ts, for the reverse sync that carries
// documents written on a MongoDB target back to the PostgreSQL source after a cutover. Every
// value comes back as the PostgreSQL text its column's input reads as the value the forward
// mapping started from (inverse-values.ts has the per-type work); the key comes from _id alone,
// inverting documentId (a single key is the value itself, a composite key — or a single key
// that may be an array — a subdocument by column names).
//
// What the document cannot say is reported, not guessed: columns the spec drops or whose field
// is missing are in `absent` (null in `row`; a sink leaves them alone on update), values of a
// type the column cannot take (an application wrote them) throw a MappingError to dead-letter,
// and inversionProblems names the plans whose mapping cannot be inverted exactly at all.
// Generated columns are left out: the source computes them.
import type { Document } from 'mongodb';
import type { TablePlan } from '../../../contracts/tables';
import { planShape } from '../../plan-shape';
import type { SourceRow } from '../../rows';
import { MappingError } from '../../errors';
import { fieldOf, mayBeArray, truncationMayChange } from './columns';
import { Misfit, columnRevert, describe, type Revert } from './inverse-values';
import { OID } from './oids';

/** A document read back as a row: key in key order, the row's values, the columns it lacks. */
export interface InvertedRow {
  key: string[];
  row: SourceRow;
  absent: string[];
}

interface InverseColumn {
  name: string;
  field: string | null;
  revert: Revert;
  keyIndex: number;
}

interface CompiledInverse {
  columns: InverseColumn[];
  key: (id: unknown) => string[];
}

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** Sets a property even when its name is `__proto__` (which plain assignment would not). */
function setOwn(target: SourceRow, name: string, value: string | null): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
  else target[name] = value;
}

function misfit(plan: TablePlan, column: string, where: string, err: unknown): MappingError {
  if (err instanceof MappingError) return err;
  const what = err instanceof Misfit ? err.message : `cannot be read back: ${(err as Error).message}`;
  return new MappingError(`${plan.display}.${column} (${where}): ${what}; the document was written on the target with a value the column cannot take: fix the document or the column type`);
}

function compile(plan: TablePlan): CompiledInverse {
  const columns: InverseColumn[] = plan.columns
    .filter((c) => !c.generated || plan.key.includes(c.name))
    .map((c) => ({ name: c.name, field: fieldOf(c), revert: columnRevert(c), keyIndex: plan.key.indexOf(c.name) }));
  const keyColumns = plan.key.map((k) => {
    const found = columns.find((c) => c.name === k);
    if (!found) throw new MappingError(`${plan.display}: key column ${k} is not among the table's columns`);
    return found;
  });
  const notKey = (id: unknown, why: string) => new MappingError(`${plan.display}: _id ${describe(id)} is not a key of this table: ${why}`);
  const revertKey = (c: InverseColumn, v: unknown, id: unknown) => {
    if (v === null || v === undefined) throw notKey(id, `key column ${c.name} has no value`);
    try {
      return c.revert(v);
    } catch (err) {
      throw misfit(plan, c.name, `document _id ${describe(id)}`, err);
    }
  };
  const single = plan.key.length === 1 && !mayBeArray(plan.columns.find((c) => c.name === plan.key[0])!);
  const key = single
    ? (id: unknown) => [revertKey(keyColumns[0], id, id)]
    : (id: unknown) => {
      if (id === null || typeof id !== 'object' || Array.isArray(id) || id instanceof Date || '_bsontype' in id) {
        throw notKey(id, `expected a subdocument of ${plan.key.join(', ')}`);
      }
      const extra = Object.keys(id).filter((k) => !plan.key.includes(k));
      if (extra.length) throw notKey(id, `it has ${extra.join(', ')}, which are not key columns (${plan.key.join(', ')})`);
      return keyColumns.map((c) => revertKey(c, hasOwn(id, c.name) ? (id as Record<string, unknown>)[c.name] : undefined, id));
    };
  return { columns, key };
}

function rowMapper(plan: TablePlan): (doc: Document) => InvertedRow {
  const { columns, key: keyOf } = compile(plan);
  return (doc) => {
    const key = keyOf(doc._id);
    const where = `row ${plan.key.map((k, i) => `${k}=${key[i]}`).join(', ')}`;
    const row: SourceRow = {};
    const absent: string[] = [];
    for (const c of columns) {
      const present = c.field !== null && c.field !== '_id' && hasOwn(doc, c.field) && doc[c.field] !== undefined;
      let text: string | null = null;
      if (present) {
        const value = doc[c.field!];
        try {
          text = value === null ? null : c.revert(value);
        } catch (err) {
          throw misfit(plan, c.name, where, err);
        }
      }
      if (c.keyIndex >= 0) {
        // _id is the key (MongoDB never changes it); a field copy that disagrees is refused.
        if (present && text !== key[c.keyIndex]) {
          throw new MappingError(`${plan.display}.${c.name} (${where}): field ${JSON.stringify(c.field)} holds ${describe(doc[c.field!])} but _id says ${key[c.keyIndex]}: a key column cannot change; fix the document`);
        }
        setOwn(row, c.name, key[c.keyIndex]);
        continue;
      }
      if (!present) absent.push(c.name);
      setOwn(row, c.name, text);
    }
    return { key, row, absent };
  };
}

const mappers = new Map<string, (doc: Document) => InvertedRow>();
const keyReaders = new WeakMap<TablePlan, (id: unknown) => string[]>();

/** The compiled document → row mapper of a table, built once per table shape per process. */
export function rowMapperFor(plan: TablePlan): (doc: Document) => InvertedRow {
  const shape = planShape(plan);
  let map = mappers.get(shape);
  if (!map) mappers.set(shape, (map = rowMapper(plan)));
  return map;
}

/** The key (PostgreSQL text, key order) of the document with this _id: a delete carries no more. */
export function keyOfId(plan: TablePlan, id: unknown): string[] {
  let read = keyReaders.get(plan);
  if (!read) keyReaders.set(plan, (read = compile(plan).key));
  return read(id);
}

/** Why documents of this plan cannot be read back into exactly the rows they came from; none if they can. */
export function inversionProblems(plan: TablePlan): string[] {
  const problems: string[] = [];
  for (const e of plan.embeds ?? []) {
    problems.push(`${plan.display}: the embedded ${e.plan.display} (field ${JSON.stringify(e.as)}) cannot be written back from the documents, which hold copies of its rows, not their changes: remove the embed from the spec (tables[].embed) or set cutover.reverse.mode: off`);
  }
  for (const c of plan.columns) {
    if (c.generated || plan.key.includes(c.name)) continue;
    const where = `${plan.display}.${c.name} (${c.type})`;
    if (c.field === null) {
      if (!c.nullable && c.defaultExpr === null) {
        problems.push(`${where}: dropped from the documents but NOT NULL without a default, so a document inserted on the target cannot become a row: keep the column in the spec (remove tables[].columns.${c.name}.drop) or give it a default on the source`);
      }
      continue;
    }
    if (c.lossy === 'truncate' && truncationMayChange(c)) {
      problems.push(`${where}: lossy: truncate may have changed values on the way to the target (digits below the millisecond, numerics beyond 34 digits), so they cannot come back as they were: set tables[].columns.${c.name}.lossy: string (or fail) in the spec`);
    }
    const oid = c.elementOid || c.baseOid || c.typeOid;
    if (c.lossy !== 'string' && (oid === OID.json || oid === OID.jsonb) && (c.nullable || c.elementOid)) {
      problems.push(`${where}: JSON null and SQL NULL${c.elementOid ? ' elements' : ''} are both null in the documents, so a JSON null comes back as SQL NULL: set tables[].columns.${c.name}.lossy: string in the spec${c.elementOid ? '' : ' or make the column NOT NULL'}`);
    }
  }
  return problems;
}
