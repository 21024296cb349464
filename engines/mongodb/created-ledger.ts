// What Ferry created on a MongoDB target, so a rollback (`--drop-target`) drops exactly that:
//
//   _ferry_created  { _id: { migration, kind, name }, createdAt }: kind 'collection' for a
//                   migration's collections (under its id), 'ferry-collection' for Ferry's own
//                   `_ferry_*` collections, shared by every migration (under SHARED, '*')
//
// A collection counts as Ferry's only when Ferry's explicit `create` made it: one that exists
// (before, or made meanwhile by another session: NamespaceExists) is not recorded. The record
// follows the create (MongoDB has no DDL transaction here), so a crash between the two leaves
// a collection unrecorded (never dropped), never a record of someone else's collection.
import type { Db } from 'mongodb';
import type { DroppedCreated } from '../engine';

export const CREATED_COLLECTION = '_ferry_created';
export const SHARED = '*';

export type CreatedKind = 'collection' | 'ferry-collection';

interface CreatedDoc {
  _id: { migration: string; kind: CreatedKind; name: string };
  createdAt: Date;
}

const NAMESPACE_EXISTS = 48;

/** (The stack's mongo-java-server ignores listCollections' filter: the names are compared here too.) */
async function exists(db: Db, name: string): Promise<boolean> {
  return (await db.listCollections({ name }, { nameOnly: true }).toArray()).some((c) => c.name === name);
}

/** Creates the collection when it is missing; true when this call made it. */
async function tryCreate(db: Db, name: string): Promise<boolean> {
  if (await exists(db, name)) return false;
  try {
    await db.createCollection(name);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === NAMESPACE_EXISTS) return false;
    throw err;
  }
}

async function record(db: Db, migration: string, kind: CreatedKind, name: string): Promise<void> {
  // The _id's fields always in this order: MongoDB compares subdocuments field by field.
  const _id = { migration, kind, name };
  await db.collection<CreatedDoc>(CREATED_COLLECTION).updateOne({ _id }, { $setOnInsert: { createdAt: new Date() } }, { upsert: true });
}

/**
 * Creates collection `name` when missing and, when this call made it and `migration` is
 * given, records it (and the ledger collection, when that is made for it). Returns whether it made it.
 */
export async function createRecorded(db: Db, migration: string | undefined, kind: CreatedKind, name: string): Promise<boolean> {
  if (!(await tryCreate(db, name))) return false;
  if (migration !== undefined) {
    if (await tryCreate(db, CREATED_COLLECTION)) await record(db, SHARED, 'ferry-collection', CREATED_COLLECTION);
    await record(db, migration, kind, name);
  }
  return true;
}

/** One of Ferry's own collections in place, recorded as shared when this made it. */
export async function ensureFerryCollection(db: Db, name: string): Promise<void> {
  await createRecorded(db, SHARED, 'ferry-collection', name);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A migration's documents in Ferry's shared collections: its dead letters, routing record and verification mismatches. */
async function forgetMigrationDocs(db: Db, migration: string): Promise<void> {
  const own = new RegExp(`^${escapeRegex(migration)}(/|$)`);
  const deletes: Array<[string, Record<string, unknown>]> = [
    ['_ferry_dead_letters', { '_id.m': migration }],
    ['_ferry_routing', { _id: migration }],
    ['_ferry_mismatches', { '_id.v': own }],
  ];
  for (const [name, filter] of deletes) if (await exists(db, name)) await db.collection(name).deleteMany(filter);
}

/**
 * Drops the collections the ledger records for `migration`, forgets its rows and its documents
 * in Ferry's shared collections; once no other migration is recorded, the shared collections
 * that hold nothing, then the ledger. Idempotent: a second call finds no rows and does nothing
 * (a migration with no rows changes nothing, not even the shared collections).
 */
export async function dropCreated(db: Db, migration: string): Promise<DroppedCreated> {
  const dropped: string[] = [];
  const kept: string[] = [];
  if (!(await exists(db, CREATED_COLLECTION))) return { dropped, kept };
  const ledger = db.collection<CreatedDoc>(CREATED_COLLECTION);
  const recorded = await ledger.find({ '_id.migration': migration }).toArray();
  // Nothing recorded for it (never prepared with its id, or dropped already): nothing to do.
  if (recorded.length === 0 || migration === SHARED) return { dropped, kept };
  for (const row of recorded) {
    const { name } = row._id;
    if (await exists(db, name)) {
      await db.collection(name).drop();
      dropped.push(`collection ${name}`);
    }
    await ledger.deleteOne({ _id: row._id });
  }
  await forgetMigrationDocs(db, migration);
  if ((await ledger.countDocuments({ '_id.migration': { $ne: SHARED } })) > 0) return { dropped, kept };
  // No other migration is recorded: Ferry's own collections go unless they hold another migration's documents.
  for (const row of await ledger.find({ '_id.migration': SHARED, '_id.name': { $ne: CREATED_COLLECTION } }).toArray()) {
    const { name } = row._id;
    if (await exists(db, name)) {
      if ((await db.collection(name).countDocuments({}, { limit: 1 })) > 0) {
        kept.push(`collection ${name}: holds documents of other migrations`);
        continue;
      }
      await db.collection(name).drop();
      dropped.push(`collection ${name}`);
    }
    await ledger.deleteOne({ _id: row._id });
  }
  if ((await ledger.countDocuments({ '_id.name': { $ne: CREATED_COLLECTION } })) > 0) return { dropped, kept };
  await ledger.drop();
  dropped.push(`collection ${CREATED_COLLECTION}`);
  return { dropped, kept };
}
