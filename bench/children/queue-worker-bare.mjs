// The queue bench's baseline: a bare BullMQ worker making the same HTTP call restq's scalar job
// makes (undici request + JSON.parse), nothing else. argv: redisUrl prefix queue concurrency apiUrl
import { Worker } from 'bullmq';
import { Agent, request } from 'undici';
import { serveQueueBench } from '../lib/queue-bench-child.mjs';

const [redisUrl, prefix, queue, concurrency, apiUrl] = process.argv.slice(2);
const agent = new Agent();
const worker = new Worker(
  queue,
  async () => {
    const response = await request(`${apiUrl}/count`, { dispatcher: agent, headers: { authorization: 'Bearer bench-token', accept: 'application/json' } });
    const body = JSON.parse(await response.body.text());
    return body.count;
  },
  { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix, concurrency: Number(concurrency), removeOnComplete: { count: 1000 } },
);
await serveQueueBench(worker, {
  start: () => worker.waitUntilReady(),
  stop: async () => {
    await worker.close();
    await agent.close();
  },
});
