// The queue bench's baseline: a bare BullMQ worker making the same HTTP call restq's scalar job
// makes (undici request + JSON.parse), nothing else. argv: redisUrl prefix queue concurrency apiUrl
import { Worker } from 'bullmq';
import { Agent, request } from 'undici';

const [redisUrl, prefix, queue, concurrency, apiUrl] = process.argv.slice(2);
const agent = new Agent();
let done = 0;
const worker = new Worker(
  queue,
  async () => {
    const response = await request(`${apiUrl}/count`, { dispatcher: agent, headers: { authorization: 'Bearer bench-token', accept: 'application/json' } });
    const body = JSON.parse(await response.body.text());
    return body.count;
  },
  { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix, concurrency: Number(concurrency), removeOnComplete: { count: 1000 } },
);
worker.on('completed', () => {
  done++;
});
// This process's CPU time so far (µs), for the bench's CPU-per-run figure: sent when ready and
// when asked (not with every count: getrusage 20 times a second would weigh on the figure).
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
process.on('message', (m) => {
  if (m === 'cpu') process.send?.({ cpu: cpu() });
});
const report = setInterval(() => process.send?.({ done }), 50);
await worker.waitUntilReady();
process.send?.({ ready: true, cpu: cpu() });
process.on('SIGTERM', async () => {
  clearInterval(report);
  await worker.close();
  await agent.close();
  process.exit(0);
});
