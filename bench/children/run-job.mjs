// Runs one restq job in a fresh process on the built code (dist/, as users run it: no TypeScript
// loader inflating the RSS) and reports its peak RSS. argv: configDir job [cli|library]: `cli`
// (default) tunes the heap as the restq CLI does, `library` runs the job as an application that
// imports restq would, with V8's defaults.
import { pino } from 'pino';
import { loadConfig } from '../../dist/config/load-config.js';
import { tuneHeapForJobs } from '../../dist/heap-tuning.js';
import { ApiClients } from '../../dist/http/api-client-registry.js';
import { runJob } from '../../dist/runner.js';

const [dir, job, mode = 'cli'] = process.argv.slice(2);
// As the restq CLI does before it runs jobs.
if (mode === 'cli') tuneHeapForJobs();
const config = loadConfig({ dir, env: {} });
const logger = pino({ level: 'warn' });
const clients = new ApiClients({ config, logger });
const started = performance.now();
try {
  const result = await runJob({ config, job, clients, logger });
  process.send?.({ rows: result.rows, bytes: result.bytes, ms: performance.now() - started, maxRssBytes: process.resourceUsage().maxRSS * 1024 });
} catch (error) {
  process.send?.({ error: error instanceof Error ? error.message : String(error) });
} finally {
  await clients.close();
}
