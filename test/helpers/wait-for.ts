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
