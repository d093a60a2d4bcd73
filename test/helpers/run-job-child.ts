/**
 * A child process that runs one job with the real code and prints one JSON line on stdout:
 * {rows, pages, maxRssKb}. Used where memory must be measured apart from the test runner.
 * Env: CHILD_CONFIG_DIR, CHILD_JOB, plus whatever the config interpolates.
 */
import { loadConfig } from '../../src/config/load-config.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { createLogger } from '../../src/log/logger.js';
import { runJob } from '../../src/runner.js';

const config = loadConfig({ dir: process.env['CHILD_CONFIG_DIR']!, env: process.env });
const logger = createLogger({ level: 'warn', redactor: config.redactor, pretty: false });
const clients = new ApiClients({ config, logger });
try {
  const result = await runJob({ config, job: process.env['CHILD_JOB']!, clients, logger });
  process.stdout.write(`${JSON.stringify({ rows: result.rows, pages: result.pages, bytes: result.bytes, maxRssKb: process.resourceUsage().maxRSS })}\n`);
} finally {
  await clients.close();
}
