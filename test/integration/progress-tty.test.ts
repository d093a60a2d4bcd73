/* eslint-disable no-control-regex -- this test is about the escape sequences a terminal receives */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { CLI } from '../helpers/run-cli.js';
import { sampleApiProject, type TempProject } from '../helpers/temp-project.js';

const run = promisify(execFile);
/** An SGR colour sequence (ESC [ … m); cursor control such as ESC [2K is not colour. */
const COLOUR = /\x1b\[[0-9;]*m/;

/** Runs `restq` with a pseudo-terminal as stdin/stdout/stderr (util-linux `script`), returning what the terminal showed. */
async function inTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const command = ['node', CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout } = await run('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env, TERM: 'xterm-256color' }, timeout: 20_000 });
  return stdout;
}

describe('restq run on a terminal (util-linux script gives it a pseudo-terminal)', () => {
  let api: SampleApi;
  let dir: string;
  let project: TempProject;

  beforeAll(async () => {
    api = await startSampleApi({ orders: 300, pageSize: 100 });
    project = sampleApiProject(api.url);
    dir = project.dir;
  });

  afterAll(async () => {
    await api.close();
    project.cleanup();
  });

  it('shows a live progress line that it erases before the summary, and colours logs unless NO_COLOR is set', async () => {
    const env = { NO_COLOR: '', LOG_LEVEL: 'debug' };
    const shown = await inTerminal(['--config', dir, 'run', 'orders'], env);
    expect(shown).toMatch(/\r\x1b\[2Kpages [01] · rows 300 · [\d,]+ rows\/s · [\d.]+ KB · [\d.]+s/);
    expect(shown).toMatch(/\r\x1b\[2Korders \S+: 300 rows, 1 page,/);
    expect(shown).toMatch(COLOUR);
    expect(shown).not.toMatch(/"level":/);

    const plain = await inTerminal(['--config', dir, 'run', 'orders'], { ...env, NO_COLOR: '1' });
    expect(plain).toMatch(/pages [01] · rows 300/);
    expect(plain).toContain('run started');
    expect(plain).not.toMatch(COLOUR);
  });

  it('prints nothing but the summary (and JSON log lines) when stderr is not a terminal', async () => {
    const { stdout, stderr } = await run('node', [CLI, '--config', dir, 'run', 'orders'], { env: { ...process.env, LOG_LEVEL: 'info' } });
    expect(stdout).toBe('');
    expect(stderr).not.toContain('\x1b[');
    expect(stderr).not.toContain('pages ');
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^orders \S+: 300 rows, 1 page, [\d.]+ KB, [\d.]+s → csv /)]);
  });
});
