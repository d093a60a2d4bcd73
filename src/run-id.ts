import { randomUUID } from 'node:crypto';

/** Time-ordered run id for `restq run`: sorts by start time, unique across processes. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  // 32 random bits from randomUUID, which draws on a cached entropy pool: randomBytes makes a
  // system call per id (tens of µs here, a tenth of a small run's own cost).
  return `${stamp}-${randomUUID().slice(0, 8)}`;
}

/**
 * The run id of a queued run: its BullMQ job id, made safe as a file name on every OS (runs of
 * job schedulers have ids like `repeat:<key>:<millis>`, and `:` is not allowed in Windows file
 * names). Deterministic, so retries and stalled-run recovery keep the same id.
 */
export function runIdOfJob(jobId: string): string {
  return jobId.replace(/[^A-Za-z0-9._-]/g, '-');
}
