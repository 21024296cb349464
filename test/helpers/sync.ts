// Shared by the online-migration tests: a spec with sync settings, "has the sync caught up
// past this moment", and cleanup that leaves no connector, slot, topic or group behind.
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import type { Client } from '@temporalio/client';
import { startWorkers, testSpec, type Harness } from './temporal';
import { dropDatabase, loadStackEnv } from './stack';
import { closeAll } from '../../engines/connections';
import { abortSignal } from '../../contracts/messages';
import type { MigrationStatus } from '../../contracts/migration';
import { captureName } from '../../activities/cdc/capture';
import type { Spec } from '../../contracts/spec';

/** True once the sync has applied everything committed on the source before `sinceMs`. */
export function syncedPast(s: MigrationStatus, sinceMs: number): boolean {
  const p = s.sync;
  return !!p && p.state !== 'halted' && p.lagEvents === 0 && Date.parse(p.updatedAt) - p.lagSeconds * 1000 > sinceMs;
}

export function onlineSpec(name: string, sourceRef: string, target: Record<string, unknown>, tables: unknown[], extra: Record<string, unknown> = {}): Spec {
  return testSpec({
    name,
    mode: 'online',
    source: { url: sourceRef },
    target,
    tables,
    sync: { connect: '${FERRY_CONNECT_URL}', kafka: '${FERRY_KAFKA_BROKERS}', heartbeatSeconds: 1, ...((extra.sync as object) ?? {}) },
    // Slow enough that the writes below land while chunks are being copied.
    backfill: { chunkRows: 400, batchRows: 100, parallelism: 2, maxRowsPerSecond: 1_500, ...((extra.backfill as object) ?? {}) },
  });
}

/**
 * Aborts a migration (which releases its connector and slot) and deletes its topics and group.
 * sourceAdminUrl: a superuser URL of the source's server, where a leftover slot would be.
 */
export async function cleanUpMigration(client: Client, id: string, sourceAdminUrl = process.env.FERRY_PG_ADMIN_URL): Promise<void> {
  const handle = client.workflow.getHandle(id);
  const desc = await handle.describe().catch(() => null);
  if (desc?.status.name === 'RUNNING') {
    await handle.signal(abortSignal, 'test cleanup');
    await handle.result().catch(() => undefined);
  }
  const name = captureName(id);
  const admin = new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${name}.`) || t === `__debezium-heartbeat.${name}`);
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.deleteGroups([name]).catch(() => undefined);
  await admin.disconnect();
  // Had the abort not released capture (a failed run), a slot would block dropping the database.
  await fetch(`${process.env.FERRY_CONNECT_URL}/connectors/${name}`, { method: 'DELETE' }).catch(() => undefined);
  const pool = new Pool({ connectionString: sourceAdminUrl, max: 1 });
  try {
    for (let i = 0; i < 30; i++) {
      const r = await pool.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [name]);
      if (!r.rowCount) break;
      if (!r.rows[0].active) {
        await pool.query('SELECT pg_drop_replication_slot($1)', [name]).catch(() => undefined);
        break;
      }
      await new Promise((res) => setTimeout(res, 1_000));
    }
  } finally {
    await pool.end();
  }
}

/**
 * The hooks every online-migration suite needs: workers on all three queues before, and
 * after, every migration it started cleaned up (capture, topics, group) and its databases dropped.
 */
export function onlineSuite(): { harness: Harness; databases: string[]; migrations: string[] } {
  const suite = { harness: undefined as unknown as Harness, databases: [] as string[], migrations: [] as string[] };
  before(async () => {
    loadStackEnv();
    suite.harness = await startWorkers(['control', 'copy', 'cdc']);
  });
  after(async () => {
    for (const id of suite.migrations) await cleanUpMigration(suite.harness.client, id).catch(() => undefined);
    await suite.harness?.stop();
    await closeAll();
    for (const db of suite.databases) await dropDatabase(db).catch(() => undefined);
  });
  return suite;
}
