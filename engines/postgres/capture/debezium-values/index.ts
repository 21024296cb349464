// Debezium column values → PostgreSQL's own text output, so a CDC row and a backfill row are
// the same SourceRow. The backfill reads with TimeZone=UTC, DateStyle=ISO,
// IntervalStyle=postgres and extra_float_digits=3 (connections.ts); every form in this folder
// is what that session prints. The inputs are what the connector settings in
// debezium-config.ts produce (Debezium 2.7, pgoutput), checked type by type against a real
// connector in test/integration/debezium-values.test.ts. Where Debezium loses information we
// can see, the event is refused (PoisonMessage naming table, column and type) rather than
// written wrong; what it loses invisibly is listed by debeziumLimits() so prepare can warn or
// refuse.
//
// The folder keeps to itself (it imports only contracts/, ../types, ../debezium-config and
// source row types) so it can move as a whole; this file is all it shows outside.
export { rowFromDebezium } from './decode';
export { debeziumLimits } from './limits';
