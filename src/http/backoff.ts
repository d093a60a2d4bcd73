import { setTimeout as delay } from 'node:timers/promises';

export interface BackoffOptions {
  /** First delay before jitter. @default 500 */
  baseDelay: number;
  /** Cap of any single delay. @default 30000 */
  maxDelay: number;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog): a random delay in
 * [0, min(maxDelay, baseDelay * 2^(attempt-1))], so retrying workers do not stampede together.
 * `attempt` counts from 1 (the first retry).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelay, options.baseDelay * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/** Waits `ms`, rejecting with the signal's reason if it aborts first. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) {
    signal?.throwIfAborted();
    return;
  }
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}
