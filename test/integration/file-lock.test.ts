import { spawn } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempProject } from '../helpers/temp-project.js';

const FILE_LOCK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/file-lock.js');

/** A process that takes the lock, logs "in PID" and "out PID" around 200 ms of work, and exits. */
function contender(lock: string, log: string, go: number): Promise<number | null> {
  const script = `
    const { appendFileSync } = await import('node:fs');
    const { withFileLock } = await import(${JSON.stringify(FILE_LOCK)});
    await new Promise((r) => setTimeout(r, Math.max(0, ${go} - Date.now())));
    await withFileLock(${JSON.stringify(lock)}, { staleMs: 5000, waitMs: 60000, code: 'E_STATE', what: 'test' }, async () => {
      appendFileSync(${JSON.stringify(log)}, 'in ' + process.pid + '\\n');
      await new Promise((r) => setTimeout(r, 200));
      appendFileSync(${JSON.stringify(log)}, 'out ' + process.pid + '\\n');
    });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('close', resolve));
}

describe('withFileLock across processes', () => {
  it('processes racing for a stale lock (left by a killed process) take it over one at a time', { timeout: 120_000 }, async () => {
    const project = tempProject();
    try {
      const lock = project.file('state.lock');
      const log = project.file('log');
      writeFileSync(lock, '999999\n');
      const old = new Date(Date.now() - 60_000);
      utimesSync(lock, old, old); // a lock whose holder died a minute ago
      writeFileSync(log, '');
      // All start at the same moment, so each finds the same stale lock.
      const go = Date.now() + 3000;
      const codes = await Promise.all(Array.from({ length: 10 }, () => contender(lock, log, go)));
      expect(codes).toEqual(Array.from({ length: 10 }, () => 0));
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(20);
      // Mutual exclusion: every "in" is followed by the "out" of the same process.
      for (let i = 0; i < lines.length; i += 2) {
        expect(lines[i]).toMatch(/^in \d+$/);
        expect(lines[i + 1]).toBe(lines[i]!.replace('in', 'out'));
      }
      // The stale lock and the takeover guard are gone; nothing is left locked.
      expect(existsSync(lock)).toBe(false);
      expect(existsSync(`${lock}.takeover`)).toBe(false);
    } finally {
      project.cleanup();
    }
  });
});
