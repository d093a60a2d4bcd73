import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const cli = path.resolve('dist/cli.js');
const root = mkdtempSync(path.join(tmpdir(), 'restq-init-'));

async function restq(args: string[], cwd = root): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('node', [cli, ...args], { cwd, env: { ...process.env, REDIS_URL: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('first steps', () => {
  it('restq --version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const result = await restq(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('restq init DIR scaffolds a project that validates, and never overwrites one', async () => {
    const dir = path.join(root, 'fresh');
    const init = await restq(['init', 'fresh']);
    expect(init.code).toBe(0);
    expect(init.stderr).toContain(`wrote ${path.join('fresh', 'connections.yaml')}`);
    const connections = readFileSync(path.join(dir, 'connections.yaml'), 'utf8');
    // The seed fields of the classic connection are all there, commented where optional.
    for (const seed of ['[Access Token]', '[Is Bearer Token]', '[API Key]', '[Security Protocol]', '[Refresh Token]', '[Refresh Token Endpoint]', '[Refresh Token Endpoint Parameters]', '[Access Token Json Path]', '[Headers]', '[Proxy]']) {
      expect(connections).toContain(seed);
    }
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['out/', '.restq/', '.env']));
    expect(readFileSync(path.join(dir, '.env.example'), 'utf8')).toContain('API_ACCESS_TOKEN=');
    expect(statSync(path.join(dir, 'jobs', 'example.yaml')).isFile()).toBe(true);

    const validate = await restq(['validate'], dir);
    expect(validate).toMatchObject({ code: 0 });
    expect(validate.stderr).toMatch(/ok: 1 connection, 1 job/);
    const dry = await restq(['run', 'example', '--dry-run'], dir);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ job: 'example', connection: 'api' });

    // A second init in the same place: exit 1, names the files, changes nothing.
    writeFileSync(path.join(dir, 'jobs', 'example.yaml'), 'connection: api\nscalar: { path: /n, value: $.n }\noutput: [{ stdout: { format: ndjson } }]\n');
    const again = await restq(['init', 'fresh']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('refusing to overwrite');
    expect(again.stderr).toContain(path.join(dir, 'connections.yaml'));
    expect(readFileSync(path.join(dir, 'jobs', 'example.yaml'), 'utf8')).toContain('scalar:');
  });
});
