import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileTokenStore } from '../../src/auth/file-token-store.js';
import { createSecretBox } from '../../src/auth/secret-box.js';
import type { RestqError } from '../../src/errors/restq-error.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stateFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-store-'));
  dirs.push(dir);
  return path.join(dir, '.restq', 'state.json');
}

describe('FileTokenStore', () => {
  it('serializes updates across store instances (as across processes) with its lock file', async () => {
    const file = stateFile();
    const stores = [new FileTokenStore({ file }), new FileTokenStore({ file })];
    let inside = 0;
    let overlap = false;
    // Each update reads the counter kept in refreshToken and writes it + 1: lost updates would show.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stores[i % 2]!.update('c', async (current) => {
          inside++;
          if (inside > 1) overlap = true;
          await new Promise((r) => setTimeout(r, 1));
          inside--;
          return { refreshToken: String(Number(current?.refreshToken ?? 0) + 1) };
        }),
      ),
    );
    expect(overlap).toBe(false);
    const state = await stores[0]!.read('c');
    expect(state).toMatchObject({ refreshToken: '20', version: 20 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('takes over a stale lock left by a killed process', async () => {
    const file = stateFile();
    const store = new FileTokenStore({ file, staleLockMs: 50 });
    await store.update('c', async () => ({ accessToken: 'first-token' }));
    writeFileSync(`${file}.lock`, '99999\n');
    const old = new Date(Date.now() - 1000);
    utimesSync(`${file}.lock`, old, old);
    const state = await store.update('c', async () => ({ accessToken: 'second-token' }));
    expect(state?.accessToken).toBe('second-token');
  });

  it('keeps secrets sealed at rest and reads them back with the key', async () => {
    const file = stateFile();
    const box = createSecretBox(Buffer.alloc(32, 7));
    await new FileTokenStore({ file, box }).update('c', async () => ({ accessToken: 'secret-access-token', refreshToken: 'secret-refresh-token' }));
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('secret-access-token');
    expect(text).not.toContain('secret-refresh-token');
    expect(await new FileTokenStore({ file, box }).read('c')).toMatchObject({ accessToken: 'secret-access-token', refreshToken: 'secret-refresh-token' });
    const wrongKey = (await new FileTokenStore({ file, box: createSecretBox(Buffer.alloc(32, 8)) }).read('c').catch((e: unknown) => e)) as RestqError;
    expect(wrongKey.code).toBe('E_STATE');
  });
});
