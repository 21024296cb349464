// PostgreSQL, in every role Ferry gives it: the source (introspection, reads, chunk planning,
// change capture through Debezium in capture/), and a target (DDL, COPY, change writes,
// verification, the stores kept beside the data).
import type { Engine } from '../engine';
import { pgPool } from '../connections';
import { PostgresTarget } from './target';
import { PostgresSink } from './sink';
import { PostgresVerifier } from './verifier';
import { PostgresStore } from './mismatches';
import { PostgresDeadLetters } from './dead-letters';
import { PgRoutingStore } from './routing';
import { postgresSpecProblems } from './spec-rules';
import { postgresPlanView } from './plan-view';
import { targetPrivilegeProblems } from './privileges';
import { dropCreated } from './created-ledger';
import { PgRehearsalStore } from './rehearsals';

const targetPool = (spec: { target: { url: string } }) => pgPool(spec.target.url, 'target.url');

export const postgres: Engine = {
  name: 'postgres',
  handles: (url) => /^postgres(ql)?:\/\//i.test(url),
  urlForm: 'postgres://',
  postgresWire: true,
  reverseFeed: 'debezium',
  // Same names, types and values on both sides: the reverse sync's inverse is the identity.
  reverseProblems: () => [],
  readsTables: true,
  landsAs: 'plain table',
  specProblems: postgresSpecProblems,
  tableWarnings: () => [],
  tableProblems: () => [],
  planView: postgresPlanView,
  async ping(spec) {
    await targetPool(spec).query('SELECT 1');
  },
  privilegeProblems: targetPrivilegeProblems,
  target: (spec) => new PostgresTarget(spec),
  sink: (spec) => new PostgresSink(spec),
  verifier: (spec) => new PostgresVerifier(spec),
  mismatches: (spec) => new PostgresStore(targetPool(spec)),
  deadLetters: (spec) => new PostgresDeadLetters(targetPool(spec)),
  routing: (spec) => new PgRoutingStore(targetPool(spec), { ledger: true }),
  rehearsals: (spec) => new PgRehearsalStore(targetPool(spec)),
  dropCreated: (spec, migrationId) => dropCreated(targetPool(spec), migrationId),
};
