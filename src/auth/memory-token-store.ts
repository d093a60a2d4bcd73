import type { RefreshContext, TokenState, TokenStore } from './token-store.js';

/** Runs tasks one at a time per key, in call order. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

export type StateUpdate = (current: TokenState | undefined, ctx: RefreshContext) => Promise<Omit<TokenState, 'version'> | undefined>;

/** Applies an update: undefined leaves the state alone, anything else is written with version + 1. */
export async function applyUpdate(current: TokenState | undefined, update: StateUpdate): Promise<{ state: TokenState | undefined; changed: boolean }> {
  // In-process refreshes end with their own timeouts; nothing else aborts them.
  const next = await update(current === undefined ? undefined : { ...current }, { signal: new AbortController().signal });
  if (next === undefined) return { state: current, changed: false };
  return { state: { ...next, version: (current?.version ?? 0) + 1 }, changed: true };
}

/**
 * Token state in this process only (tests, and `restq run` when nothing must survive). Updates
 * of one connection run one at a time, so a refresh is never made twice concurrently.
 */
export class MemoryTokenStore implements TokenStore {
  readonly #states = new Map<string, TokenState>();
  readonly #mutex = new KeyedMutex();

  async read(connection: string): Promise<TokenState | undefined> {
    const state = this.#states.get(connection);
    return state && { ...state };
  }

  update(connection: string, update: StateUpdate): Promise<TokenState | undefined> {
    return this.#mutex.run(connection, async () => {
      const { state, changed } = await applyUpdate(this.#states.get(connection), update);
      if (changed && state) this.#states.set(connection, state);
      return state && { ...state };
    });
  }

  async close(): Promise<void> {
    this.#states.clear();
  }
}
