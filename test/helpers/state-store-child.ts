/**
 * A child process that appends STATE_CHILD_RUNS runs of job STATE_CHILD_JOB to the file state
 * store in STATE_CHILD_DIR, each advancing the numeric cursor to its own value, and seeds a
 * token (the token store shares state.json). Used to show two processes never lose each
 * other's updates nor corrupt the file.
 */
import { FileTokenStore } from '../../src/auth/file-token-store.js';
import { FileStateStore } from '../../src/state/file-state-store.js';

const dir = process.env['STATE_CHILD_DIR']!;
const job = process.env['STATE_CHILD_JOB']!;
const tag = process.env['STATE_CHILD_TAG']!;
const runs = Number(process.env['STATE_CHILD_RUNS']);
const store = new FileStateStore({ dir, historyLimit: 1000 });
const tokens = new FileTokenStore({ file: `${dir}/state.json` });
for (let i = 0; i < runs; i++) {
  const at = new Date().toISOString();
  const value = i * 2 + (tag === 'a' ? 0 : 1);
  await store.finishRun(
    { runId: `${tag}-${i}`, job, trigger: 'cli', status: 'succeeded', startedAt: at, finishedAt: at, durationMs: 0, rows: 1, pages: 1, bytes: 1, window: null, cursorBefore: null, error: null },
    { advance: { value: String(value), sortKey: String(value), order: 'number', fence: 0 }, lastSuccessAt: at },
  );
  if (i % 5 === 0) await tokens.update(`conn-${tag}`, async (current) => ({ refreshToken: `rt-${tag}-${i}`, accessToken: current?.accessToken ?? 'x' }));
}
