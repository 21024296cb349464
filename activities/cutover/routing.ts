// The routing record, on the source and on the target: where the application writes and
// reads. Written at every cutover step so an application that follows it (not behind
// PgBouncer) always finds the current answer on whichever side it can reach.
import type { RoutingState } from '../../contracts/cutover';
import type { Spec } from '../../contracts/spec';
import { targetEngine } from '../../engines';
import { pgPool } from '../../engines/connections';
import { rethrowClassified } from '../../engines/errors';
import { PgRoutingStore } from '../../engines/postgres/routing';

export async function writeRouting(input: { spec: Spec; state: RoutingState }): Promise<RoutingState> {
  const { spec, state } = input;
  try {
    // The target first when writes move there, the source first when they stay: an application
    // that reads the side it writes to never sees "go there" before "there" knows it.
    const source = new PgRoutingStore(pgPool(spec.source.url));
    const target = targetEngine(spec).routing(spec);
    const order = state.writes === 'target' ? [target, source] : [source, target];
    for (const store of order) await store.write(state);
    return state;
  } catch (err) {
    return rethrowClassified(err, 'writing the routing record');
  }
}
