import { readFile } from 'node:fs/promises';
import { RestqError } from '../errors/restq-error.js';
import { writeFileAtomic } from '../atomic-write.js';
import { withFileLock } from '../file-lock.js';
import { applyUpdate, KeyedMutex, type StateUpdate } from './memory-token-store.js';
import { isSealed, type SecretBox } from './secret-box.js';
import type { TokenState, TokenStore } from './token-store.js';

export interface FileTokenStoreOptions {
  /** Usually `<config dir>/.restq/state.json`. */
  file: string;
  /** Encrypts accessToken and refreshToken at rest (RESTQ_SECRET_KEY). */
  box?: SecretBox | undefined;
  /** A lock file older than this is left over from a killed process. @default 60000 */
  staleLockMs?: number;
  /** How long to wait for another process's lock. @default 120000 */
  lockWaitMs?: number;
}

interface StateFile {
  format: 1;
  connections: Record<string, TokenState>;
  /** Other owners' sections of the shared file (job state: src/state/file-state-store.ts), kept as they are. */
  [other: string]: unknown;
}

const SECRET_KEYS = ['accessToken', 'refreshToken'] as const;

/**
 * Standalone token store: `.restq/state.json` (mode 0600, written to a temp file, fsynced and
 * renamed, so a crash leaves the old or the new state, never half of one). Every update re-reads
 * the file under an in-process mutex and a lock file, so `restq token --refresh` beside a running
 * `restq start` never spends a single-use refresh token twice. The new state is on disk before
 * `update` resolves, i.e. before the new access token is used.
 */
export class FileTokenStore implements TokenStore {
  readonly #options: FileTokenStoreOptions;
  readonly #mutex = new KeyedMutex();

  constructor(options: FileTokenStoreOptions) {
    this.#options = options;
  }

  get file(): string {
    return this.#options.file;
  }

  async read(connection: string): Promise<TokenState | undefined> {
    return (await this.#load()).connections[connection];
  }

  update(connection: string, update: StateUpdate): Promise<TokenState | undefined> {
    // One mutex key for the file: all connections share it on disk.
    return this.#mutex.run('file', () =>
      this.#withFileLock(async () => {
        const data = await this.#load();
        const { state, changed } = await applyUpdate(data.connections[connection], update);
        if (changed && state) {
          data.connections[connection] = state;
          await this.#save(data).catch((error: unknown) => {
            throw new RestqError('E_STATE', `cannot write token state ${this.#options.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error, permanent: true });
          });
        }
        return state;
      }),
    );
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  async #load(): Promise<StateFile> {
    const { file, box } = this.#options;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { format: 1, connections: {} };
      throw new RestqError('E_STATE', `cannot read token state ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error, permanent: true });
    }
    const corrupt = (why: string) =>
      new RestqError('E_STATE', `token state file ${file} is corrupted (${why}): restore it from a backup, or delete it and re-seed the refresh tokens in connections.yaml`, { permanent: true });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw corrupt('not valid JSON');
    }
    if (!isStateFile(parsed)) throw corrupt('unexpected structure');
    for (const [name, state] of Object.entries(parsed.connections)) {
      for (const key of SECRET_KEYS) {
        const value = state[key];
        if (value === undefined) continue;
        if (typeof value !== 'string') throw corrupt(`${name}.${key} is not a string`);
        if (isSealed(value)) {
          if (!box) throw new RestqError('E_STATE', `token state file ${file} is encrypted: set RESTQ_SECRET_KEY to the key it was written with`, { permanent: true });
          state[key] = box.open(value);
        }
        // A plain value with a key set is state from before encryption was enabled: sealed on the next write.
      }
    }
    return parsed;
  }

  async #save(data: StateFile): Promise<void> {
    const { file, box } = this.#options;
    const connections: Record<string, TokenState> = {};
    for (const [name, state] of Object.entries(data.connections)) {
      const copy = { ...state };
      if (box) for (const key of SECRET_KEYS) if (copy[key] !== undefined) copy[key] = box.seal(copy[key]);
      connections[name] = copy;
    }
    await writeFileAtomic(file, `${JSON.stringify({ ...data, format: 1, connections }, null, 2)}\n`);
  }

  /** Cross-process exclusion with an O_EXCL lock file beside the state file. */
  #withFileLock<T>(task: () => Promise<T>): Promise<T> {
    return withFileLock(
      `${this.#options.file}.lock`,
      { staleMs: this.#options.staleLockMs, waitMs: this.#options.lockWaitMs, dirMode: 0o700, code: 'E_STATE', what: `token state ${this.#options.file}` },
      task,
    );
  }
}

function isStateFile(value: unknown): value is StateFile {
  if (value === null || typeof value !== 'object') return false;
  const { format, connections } = value as Partial<StateFile>;
  if (format !== 1 || connections === null || typeof connections !== 'object' || Array.isArray(connections)) return false;
  return Object.values(connections).every((s) => s !== null && typeof s === 'object' && typeof (s as TokenState).version === 'number');
}
