import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { startTelemetry } from '../../src/ops/telemetry.js';
import { readSettings } from '../../src/runtime/settings.js';
import { pollUntil as waitFor } from '../helpers/wait-for.js';

const redisUrl = inject('redisUrl');

describe('OpenTelemetry (optional)', () => {
  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    expect(await startTelemetry(readSettings({}).otel)).toBeUndefined();
  });

  it('exports BullMQ spans of an enqueued and processed run to the OTLP endpoint', async () => {
    const bodies: string[] = [];
    const collector: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += String(chunk)));
      req.on('end', () => {
        if (req.url === '/v1/traces') bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const prefix = `t-${randomUUID()}`;
    const telemetry = await startTelemetry(readSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'restq-test' }).otel);
    expect(telemetry).toBeDefined();
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('restq', { connection, prefix, telemetry: telemetry!.telemetry });
    const worker = new Worker('restq', async () => 42, { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix, telemetry: telemetry!.telemetry });
    try {
      await queue.add('orders', { job: 'orders', params: {} });
      await waitFor(async () => ((await queue.getJobCounts('completed')).completed === 1 ? true : undefined), 'the run to complete');
      await telemetry!.shutdown();
      const all = bodies.join('\n');
      expect(all).toContain('restq-test');
      expect(all).toMatch(/add restq\.orders|add.*orders/);
      expect(all).toMatch(/process restq|process.*restq/);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      collector.close();
    }
  });
});
