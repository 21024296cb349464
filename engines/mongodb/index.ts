// MongoDB, in every role Ferry gives it: a target (collections, bulk writes of mapped
// documents, change writes, verification, the stores kept beside the data). Its change-source
// role (change streams, for the reverse sync after cutover) belongs here too.
import type { Engine } from '../engine';
import { mongoClient } from '../connections';
import { MongoTarget } from './target';
import { MongoSink } from './sink';
import { MongoVerifier } from './verifier';
import { MongoStore } from './mismatches';
import { MongoDeadLetters } from './dead-letters';
import { MongoRoutingStore } from './routing';
import { mongoSpecProblems } from './spec-rules';
import { mongoPlanView } from './plan-view';
import { mongoFieldProblems } from './mapping/field-names';
import { lossWarnings } from './mapping/loss';
import { dropCreated } from './created-ledger';
import { inversionProblems } from './mapping/inverse';
import { MongoRehearsalStore } from './rehearsals';

export const mongodb: Engine = {
  name: 'mongodb',
  handles: (url) => /^mongodb(\+srv)?:\/\//i.test(url),
  urlForm: 'mongodb://',
  postgresWire: false,
  reverseFeed: 'change-stream',
  reverseProblems: inversionProblems,
  readsTables: false,
  landsAs: 'collection',
  specProblems: mongoSpecProblems,
  tableWarnings: lossWarnings,
  tableProblems: mongoFieldProblems,
  planView: mongoPlanView,
  async ping(spec) {
    const client = await mongoClient(spec.target.url);
    await client.db(spec.target.database).command({ ping: 1 });
  },
  // The connection check (ping) already proved what a MongoDB target needs.
  privilegeProblems: async () => [],
  target: (spec) => new MongoTarget(spec),
  sink: (spec) => new MongoSink(spec),
  verifier: (spec) => new MongoVerifier(spec),
  mismatches: (spec) => new MongoStore(spec),
  deadLetters: (spec) => new MongoDeadLetters(spec),
  routing: (spec) => new MongoRoutingStore(spec),
  rehearsals: (spec) => new MongoRehearsalStore(spec),
  async dropCreated(spec, migrationId) {
    const client = await mongoClient(spec.target.url);
    return dropCreated(client.db(spec.target.database), migrationId);
  },
};
