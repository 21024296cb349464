// Root hooks: the stack's MongoDB server keeps databases in memory, so every run drops the
// databases its tests created (named by uniqueName with these prefixes) when it ends.
import { MongoClient } from 'mongodb';
import { loadStackEnv } from './stack';

const testDatabase = /^(wf_|crash_|pagila_|targets_|clistart_|mapping_|verify_)/;

export const mochaHooks = {
  async afterAll(): Promise<void> {
    loadStackEnv();
    const client = await MongoClient.connect(process.env.FERRY_MONGO_URL!, { serverSelectionTimeoutMS: 5_000 }).catch(() => null);
    if (!client) return;
    try {
      const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      for (const { name } of databases) if (testDatabase.test(name)) await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  },
};
