// Root hooks: the stack's MongoDB server keeps databases in memory, so every run drops the
// databases its tests created (named by uniqueName: a prefix and this run's token) when it ends.
import { MongoClient } from 'mongodb';
import { loadStackEnv, runToken } from './stack';

// Only this process's: a second mocha run at the same time keeps its databases.
const testDatabase = new RegExp(`^(wf|crash|pagila|targets|clistart|mapping|verify)_${runToken}`);

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
