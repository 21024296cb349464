// Entry point for the copy task queue (same as `ferry worker --queue copy`).
import { runWorkers } from './run';

runWorkers(['copy']).catch((err) => {
  console.error(err);
  process.exit(1);
});
