/**
 * The one poll helper: tests wait on conditions, never on fixed sleeps with tight bounds (as
 * graphile/worker's `sleepUntil`). Fails with `what` and the time waited, so a timeout says
 * which condition never held.
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `until` with the timeout before the description (the argument order older tests use). */
export function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  return until(condition, what, timeoutMs, 10);
}

/** Polls `check` until it returns a value that is not undefined, or fails at the deadline. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  let value: T | undefined;
  await until(async () => (value = await check()) !== undefined, what, timeoutMs);
  return value as T;
}

/**
 * `promise`, or an error naming `what` once `timeoutMs` passed: a hang says where it was. `what`
 * may be a function, read at the timeout (e.g. a process's output so far).
 */
export async function within<T>(promise: Promise<T>, what: string | (() => string), timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${timeoutMs} ms for: ${typeof what === 'function' ? what() : what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
