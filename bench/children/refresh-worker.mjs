// The refresh bench's worker process: `concurrency` loops running a scalar job until the deadline,
// all sharing one token per connection through the token store (Redis when REDIS_URL is set), as
// workers do. Reports runs, failures and how long each wait for an access token took.
// argv: redisUrl prefix configDir concurrency durationMs
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { openTokenStore } from '../../dist/auth/open-token-store.js';
import { tokenProviders } from '../../dist/auth/token-providers.js';
import { loadConfig } from '../../dist/config/load-config.js';
import { ApiClients } from '../../dist/http/api-clients.js';
import { runJob } from '../../dist/runner.js';
import { readSettings } from '../../dist/runtime/settings.js';

const [redisUrl, prefix, dir, concurrency, durationMs] = process.argv.slice(2);
const settings = readSettings({ REDIS_URL: redisUrl, RESTQ_PREFIX: prefix });
const config = loadConfig({ dir, env: {} });
const logger = pino({ level: 'error' });
const store = await openTokenStore({ config, logger, settings, redisRole: 'blocking' });
const providers = tokenProviders({ config, store, logger });
const waits = [];
/** The connection's token provider, timing every get() (most are cache hits; the tail is the refresh). */
const timedProviders = (connection, dispatcher) => {
  const provider = providers(connection, dispatcher);
  return {
    get: async (signal) => {
      const started = performance.now();
      try {
        return await provider.get(signal);
      } finally {
        waits.push(performance.now() - started);
      }
    },
    invalidate: (used, signal) => provider.invalidate(used, signal),
    close: () => provider.close?.(),
  };
};
const clients = new ApiClients({ config, logger, tokens: timedProviders });
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
process.send?.({ ready: true });
const startedAt = Date.now();
const deadline = startedAt + Number(durationMs);
let runs = 0;
const errors = {};
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (Date.now() < deadline) {
      try {
        await runJob({ config, job: 'count', clients, logger, stdout: discard });
        runs++;
      } catch (error) {
        const code = error?.code ?? 'error';
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }
  }),
);
const endedAt = Date.now();
await clients.close();
await store.close();
process.send?.({ runs, errors, waits, startedAt, endedAt });
