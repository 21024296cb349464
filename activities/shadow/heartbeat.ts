// Heartbeats for the shadow activities: a timer that keeps the activity alive between the
// calls work makes as it goes, with the stage it is in as details (plain JSON).
import { Context } from '@temporalio/activity';

const EVERY_MS = 5_000;

export interface Alive {
  /** Heartbeats now with the current stage. */
  beat(): void;
  /** Names what the activity does now (shown in its heartbeat details) and heartbeats. */
  stage(name: string): void;
  stop(): void;
}

export function keepAlive(first: string): Alive {
  let stage = first;
  const beat = () => {
    try {
      Context.current().heartbeat({ stage });
    } catch {
      // not inside an activity (a script calling the function directly)
    }
  };
  const timer = setInterval(beat, EVERY_MS);
  beat();
  return {
    beat,
    stage(name) {
      stage = name;
      beat();
    },
    stop: () => clearInterval(timer),
  };
}
