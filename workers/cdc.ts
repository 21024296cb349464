// Entry point for the cdc task queue (same as `ferry worker --queue cdc`).
import { runWorkers } from './run';

runWorkers(['cdc']).catch((err) => {
  console.error(err);
  process.exit(1);
});
