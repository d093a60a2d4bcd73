import { Queue } from 'bullmq';
import { describe, expect, inject, it } from 'vitest';
import { startSampleApi } from '../../src/demo/sample-api.js';
import { startTelemetry } from '../../src/ops/telemetry.js';
import { readSettings } from '../../src/runtime/settings.js';
import { sendJson, startTestServer } from '../helpers/http-test-server.js';
import { testSettings } from '../helpers/queue-fixture.js';
import { spawnRestq } from '../helpers/run-cli.js';
import { createProject } from '../helpers/temp-project.js';
import { until } from '../helpers/wait-for.js';

const redisUrl = inject('redisUrl');
const TOKEN = 'at-telemetry-test-41c9';

describe('OpenTelemetry (optional)', () => {
  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    expect(await startTelemetry(readSettings({}).otel)).toBeUndefined();
  });

  it('`restq worker` exports the span of each run it processes to the OTLP endpoint, flushed on SIGTERM', async () => {
    const api = await startSampleApi({ staticTokens: [TOKEN] });
    const collector = await startTestServer((_req, res) => sendJson(res, 200, {}));
    const project = createProject(`connections:\n  demo:\n    baseUrl: ${api.url}\n    accessToken: ${TOKEN}\n`, {
      count: 'connection: demo\nscalar: { path: /v1/orders/count, value: $.count }\noutput: [{ csv: out/count.csv }]\n',
    });
    const settings = testSettings(redisUrl);
    const worker = spawnRestq(['worker'], { ...settings.env, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'restq-telemetry-test' }, project.dir);
    const queue = new Queue(settings.queue, { connection: { url: redisUrl }, prefix: settings.prefix });
    try {
      await worker.waitForStderr(/worker ready/);
      expect(worker.stderr()).toContain('OpenTelemetry tracing of the queue is on');
      await queue.add('count', { job: 'count', params: {} });
      await until(async () => (await queue.getCompletedCount()) === 1, 'the run to complete');
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      const traces = collector.requests.filter((r) => r.url.pathname === '/v1/traces').map((r) => r.body);
      expect(traces.length).toBeGreaterThan(0);
      const all = traces.join('\n');
      expect(all).toContain('restq-telemetry-test');
      expect(all).toContain(`process ${settings.queue}`);
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await collector.close();
      await api.close();
      project.cleanup();
    }
  });
});
