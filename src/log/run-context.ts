import { AsyncLocalStorage } from 'node:async_hooks';

/** The fields every log line of a run carries, wherever it is logged from. */
export interface RunFields {
  job?: string;
  runId?: string;
  connection?: string;
}

/** Figures of one run, counted where they happen (runs of one connection share its client). */
interface RunStore extends RunFields {
  requests?: number;
}

const storage = new AsyncLocalStorage<RunStore>();

/**
 * Runs `fn` with a fresh run context. Code shared by all runs (a connection's retry and rate-limit
 * wrappers, the token manager) logs with a per-connection logger; the logger's mixin adds the
 * current run's `job` and `runId` from here, so those lines can be traced to their run too.
 */
export function withRunContext<T>(fn: () => Promise<T>): Promise<T> {
  return storage.run({}, fn);
}

/** Fills the current run context (a no-op outside one). */
export function setRunFields(fields: RunFields): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

export function runFields(): RunFields | undefined {
  const store = storage.getStore();
  if (!store) return undefined;
  const { requests: _requests, ...fields } = store;
  return fields;
}

/** Counts one API request against the current run (a no-op outside one). */
export function countRunRequest(): void {
  const store = storage.getStore();
  if (store) store.requests = (store.requests ?? 0) + 1;
}

/** API requests the current run sent so far. */
export function runRequests(): number {
  return storage.getStore()?.requests ?? 0;
}
