import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { openTokenStore } from '../auth/open-token-store.js';
import { tokenProviders } from '../auth/token-provider-factory.js';
import { formatSummary } from '../commands/progress-line.js';
import { loadConfig } from '../config/load-config.js';
import { ApiClients } from '../http/api-client-registry.js';
import { createLogger } from '../log/logger.js';
import { runJob } from '../runner.js';
import { readSettings } from '../runtime/settings.js';
import { openStateStore } from '../state/open-state-store.js';
import { startSampleApi } from './sample-api.js';

/**
 * `npm run demo`: starts the bundled sample API on loopback and runs every shipped job in
 * jobs/ against it with the shipped connections.yaml. No Redis, no network.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Each start of the sample API issues a fresh single-use refresh token. Passing it in through
// DEMO_REFRESH_TOKEN changes the YAML value, so the token store (.restq/state.json) re-seeds
// instead of presenting the previous run's rotated token to a server that never issued it.
const initialRefreshToken = `demo-rt-${randomBytes(8).toString('hex')}`;
const api = await startSampleApi({ refreshToken: initialRefreshToken });
process.stderr.write(`sample API listening on ${api.url}\n`);
const settings = readSettings({ ...process.env, DEMO_API_URL: api.url, DEMO_REFRESH_TOKEN: initialRefreshToken });
let failed = 0;
try {
  const config = loadConfig({ dir: root, env: settings.env });
  const logger = createLogger({ level: settings.logLevel ?? 'warn', color: settings.color, redactor: config.redactor });
  const store = await openTokenStore({ config, settings });
  const clients = new ApiClients({ config, logger, tokens: tokenProviders({ config, store, logger }) });
  // Run history and cursors in .restq/ (standalone), so `restq history JOB` works after the demo.
  const state = openStateStore({ configDir: config.dir, historyLimit: settings.history });
  const incremental = Object.values(config.jobs).filter((j) => j.kind === 'grid' && j.incremental).map((j) => j.name);
  // A fresh sample API each time: start the incremental jobs from incremental.start again.
  for (const name of incremental) await state.resetCursor(name);
  const runs = new Map<string, { rows: number; requests: number }>();
  try {
    for (const name of Object.keys(config.jobs)) {
      try {
        // What a job's stdout sink prints (a scalar's bare value) is shown under the job, labelled.
        let printed = '';
        const stdout = new Writable({ write: (chunk: Buffer, _encoding, done) => ((printed += String(chunk)), done()) });
        const before = api.orderRequests.length;
        const result = await runJob({ config, job: name, clients, logger, state, stdout });
        runs.set(name, { rows: result.rows, requests: api.orderRequests.length - before });
        process.stderr.write(`✓ ${formatSummary(result)}\n`);
        if (printed) process.stderr.write(`  stdout:\n${printed.trimEnd().split('\n').map((l) => `    ${l}`).join('\n')}\n`);
        for (const output of result.outputs.filter((o) => o.startsWith('csv '))) {
          const file = path.resolve(output.slice(4));
          const lines = readFileSync(file, 'utf8').split('\r\n').filter((l) => l !== '').slice(0, 3);
          process.stderr.write(`  ${path.relative(root, file)}:\n${lines.map((l) => `    ${l}`).join('\n')}\n`);
        }
      } catch (error) {
        failed++;
        process.stderr.write(`✗ ${name}: ${config.redactor.redact((error as Error).message)}\n`);
      }
    }
    // The incremental job again after a few orders changed: only those come back.
    for (const name of incremental) {
      const first = runs.get(name);
      if (!first) continue;
      api.touch([5, 42, 99], new Date(Date.now() - 1000));
      const before = api.orderRequests.length;
      try {
        const result = await runJob({ config, job: name, clients, logger, state });
        const requests = api.orderRequests.length - before;
        process.stderr.write(
          `✓ ${name} again after orders 5, 42 and 99 changed: ${result.rows} rows in ${requests} request${requests === 1 ? '' : 's'} (first run: ${first.rows} rows in ${first.requests} requests); window ${result.window?.start} → ${result.window?.end}, cursor now ${result.cursorAfter}\n`,
        );
        for (const request of api.orderRequests.slice(before)) process.stderr.write(`    GET ${request}\n`);
      } catch (error) {
        failed++;
        process.stderr.write(`✗ ${name} (second run): ${config.redactor.redact((error as Error).message)}\n`);
      }
    }
    process.stderr.write(`token endpoint: ${api.stats.tokensIssued} token(s) issued, ${api.stats.invalidGrants} invalid_grant; state in ${path.relative(root, path.join(config.dir, '.restq', 'state.json'))}\n`);
  } finally {
    await clients.close();
    await store.close();
    await state.close();
  }
} finally {
  await api.close();
}
process.exitCode = failed > 0 ? 1 : 0;
