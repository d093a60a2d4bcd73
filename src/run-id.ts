import { randomBytes } from 'node:crypto';

/** Time-ordered run id for `restq run`: sorts by start time, unique across processes. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}
