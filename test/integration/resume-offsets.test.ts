// Where a sync resumes, against a real Kafka broker: the consumer group's offsets can expire
// during a long pause or halt, and then the offsets the sync workflow carries are what it
// resumes from — never the start marker again.
import { strict as assert } from 'node:assert';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { loadStackEnv, uniqueName } from '../helpers/stack';
import { resumeOffsets } from '../../activities/cdc/offsets';
import type { CaptureInfo } from '../../contracts/capture';

describe('sync resume offsets (real Kafka)', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  let admin: Admin;
  const topic = uniqueName('ferry_resume').replace(/_/g, '-');
  const group = `${topic}-group`;
  const capture = { name: group, startOffsets: [{ topic, partition: 0, offset: '0' }] } as unknown as CaptureInfo;

  before(async () => {
    loadStackEnv();
    kafka = new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: String(i) })) });
    await producer.disconnect();
  });

  after(async () => {
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('group offsets gone: resumes from the offsets the workflow carried, not from the start marker', async () => {
    const r = await resumeOffsets(admin, capture, [topic], [], [{ topic, partition: 0, offset: '7' }]);
    assert.deepEqual(r.offsets, [{ topic, partition: 0, offset: '7' }]);
    assert.deepEqual(r.seeks, [{ topic, partition: 0, offset: '7' }]);
    const fresh = await resumeOffsets(admin, capture, [topic], [], []);
    assert.deepEqual(fresh.offsets, [{ topic, partition: 0, offset: '0' }], 'nothing known: the start marker');
  });

  it('takes the furthest of group, heartbeat and carried offsets (each was committed after its writes)', async () => {
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '3' }] });
    const behind = await resumeOffsets(admin, capture, [topic], [], [{ topic, partition: 0, offset: '7' }]);
    assert.deepEqual(behind.offsets, [{ topic, partition: 0, offset: '7' }]);
    assert.deepEqual(behind.seeks, [{ topic, partition: 0, offset: '7' }], 'the consumer seeks past what the group lost');
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '9' }] });
    const ahead = await resumeOffsets(admin, capture, [topic], [{ topic, partition: 0, offset: '8' }], [{ topic, partition: 0, offset: '7' }]);
    assert.deepEqual(ahead.offsets, [{ topic, partition: 0, offset: '9' }]);
    assert.deepEqual(ahead.seeks, [], 'the group is furthest: no seek');
  });
});
