import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { demoProject, testSettings } from '../helpers/queue-fixture.js';
import { spawnRestq, type RestqProcess } from '../helpers/restq-process.js';

const url = inject('redisUrl');
const TOKEN = 'at-enqueue-wait-51f0';
let api: SampleApi;
const processes: RestqProcess[] = [];

beforeAll(async () => {
  api = await startSampleApi({ staticTokens: [TOKEN] });
});

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await api.close();
});

describe('restq enqueue --wait of a run that fails', () => {
  it('exits 1 and prints the run\'s error code and message', async () => {
    const proj = demoProject(api.url, TOKEN, {
      missing: 'connection: demo\ngrid:\n  path: /v1/no-such-thing\n  rows: $.data[*]\noutput: [{ csv: "out/missing.csv" }]\nattempts: 2\n',
    });
    const settings = testSettings(url);
    try {
      const worker = spawnRestq(['worker'], settings.env, proj.dir);
      processes.push(worker);
      await worker.waitForStderr(/worker ready/);
      const enqueue = spawnRestq(['enqueue', 'missing', '--wait'], settings.env, proj.dir);
      processes.push(enqueue);
      expect(await enqueue.exited).toBe(1);
      const runId = enqueue.stdout().trim();
      expect(enqueue.stderr()).not.toContain('undefined');
      expect(enqueue.stderr()).toContain(`run failed [E_HTTP]: GET ${api.url}/v1/no-such-thing answered 404`);
      expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    } finally {
      proj.cleanup();
    }
  });
});
