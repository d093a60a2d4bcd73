// Runs one restq job in a fresh process on the built code (dist/, as users run it: no TypeScript
// loader inflating the RSS) and reports its peak RSS, as `restq run` or an application importing
// restq runs a job: V8's default heap settings (plus any execArgv the bench passes). argv: configDir job
import { pino } from 'pino';
import { loadConfig } from '../../dist/config/load-config.js';
import { ApiClients } from '../../dist/http/api-client-registry.js';
import { runJob } from '../../dist/runner.js';

const [dir, job] = process.argv.slice(2);
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
