// Entry point for the control task queue (same as `ferry worker --queue control`).
import { runWorkers } from './run';

runWorkers(['control']).catch((err) => {
  console.error(err);
  process.exit(1);
});
