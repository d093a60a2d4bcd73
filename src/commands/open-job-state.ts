import type { Config } from '../config/types.js';
import { isDistributed, readQueueSettings } from '../queue/queue-settings.js';
import { openRunQueue, type RunQueue } from '../queue/run-queue.js';
import { openStateStore } from '../state/open-state-store.js';
import type { StateStore } from '../state/state-store.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Job state for a command, in this process's mode; `runQueue` only in distributed mode. */
export interface JobStateAccess {
  state: StateStore;
  runQueue?: RunQueue | undefined;
  close(): Promise<void>;
}

/**
 * Distributed (REDIS_URL set): the Redis state store on the producer connection of the run
 * queue (fails within seconds with a clear message when Redis is down). Standalone: the file
 * store in `<config dir>/.restq/`.
 */
export async function openJobState(config: Config, env: Env = process.env, stateDir?: string): Promise<JobStateAccess> {
  if (isDistributed(env)) {
    const runQueue = await openRunQueue(readQueueSettings(env));
    return { state: runQueue.state, runQueue, close: () => runQueue.close() };
  }
  const state = openStateStore({ configDir: config.dir, stateDir, env });
  return { state, close: () => state.close() };
}
