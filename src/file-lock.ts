import { mkdir, open, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { RestqError, type RestqErrorCode } from './errors/restq-error.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLockOptions {
  /** A lock file older than this is left over from a killed process. @default 60000 */
  staleMs?: number;
  /** How long to wait for another process's lock. @default 120000 */
  waitMs?: number;
  /** Mode of a directory created for the lock. @default 0o755 */
  dirMode?: number;
  /** Code and words of the error when the wait runs out. */
  code: RestqErrorCode;
  what: string;
}

/**
 * Runs `task` holding an O_EXCL lock file, for exclusion across processes on one machine (the
 * token state file, CSV files that several runs append to). A holder refreshes the file's mtime
 * while it works, so only a lock left by a killed process goes stale and is taken over.
 */
export async function withFileLock<T>(lock: string, options: FileLockOptions, task: () => Promise<T>): Promise<T> {
  const stale = options.staleMs ?? 60_000;
  const deadline = Date.now() + (options.waitMs ?? 120_000);
  await mkdir(path.dirname(lock), { recursive: true, mode: options.dirMode ?? 0o755 });
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > stale) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new RestqError(options.code, `${options.what} stays locked by another restq process (${lock}); delete the lock file if no restq process is running`);
      }
      await sleep(wait);
    }
  }
  const heartbeat = setInterval(() => void utimes(lock, new Date(), new Date()).catch(() => undefined), Math.max(1000, stale / 3));
  heartbeat.unref();
  try {
    return await task();
  } finally {
    clearInterval(heartbeat);
    await rm(lock, { force: true });
  }
}
