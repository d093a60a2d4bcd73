import type { Config } from '../config/types.js';
import type { RunQueue } from '../queue/run-queue.js';
import { isDistributed, type Settings } from '../runtime/settings.js';
import { openStateStore } from '../state/open-state-store.js';
import type { StateStore } from '../state/state-store.js';

/** Job state for a command, in this process's mode; `runQueue` only in distributed mode. */
export interface JobStateAccess {
  state: StateStore;
  runQueue?: RunQueue | undefined;
  close(): Promise<void>;
}

/**
 * Distributed (Redis configured): the Redis state store on the producer connection of the run
 * queue (fails within seconds with a clear message when Redis is down). Standalone: the file
 * store in `<config dir>/.restq/`.
 */
export async function openJobState(config: Config, settings: Settings, stateDir?: string): Promise<JobStateAccess> {
  if (isDistributed(settings)) {
    // BullMQ only in distributed mode: a standalone `restq run` must not load it (cold start).
    const { openRunQueue } = await import('../queue/run-queue.js');
    const runQueue = await openRunQueue(settings.queue);
    return { state: runQueue.state, runQueue, close: () => runQueue.close() };
  }
  const state = openStateStore({ configDir: config.dir, stateDir, historyLimit: settings.history });
  return { state, close: () => state.close() };
}
