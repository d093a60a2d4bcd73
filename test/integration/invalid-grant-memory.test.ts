import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { openTokenStore } from '../../src/auth/open-token-store.js';
import { createRefreshClient } from '../../src/auth/refresh-client.js';
import { tokenProviders } from '../../src/auth/token-provider-factory.js';
import type { TokenManager } from '../../src/auth/token-manager.js';
import { loadConfig } from '../../src/config/load-config.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import type { RestqError } from '../../src/errors/restq-error.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { createDispatcher } from '../../src/http/dispatcher.js';
import { readSettings } from '../../src/runtime/settings.js';
import { memoryLogger, tempConfig, type TempConfig } from '../helpers/temp-config.js';

/**
 * A refresh token the endpoint refused (invalid_grant) is remembered in the token store: later
 * runs, in this process or another, fail fast without calling the endpoint again, until the
 * token is re-seeded or `restq token --refresh` asks once more.
 */
const SECRET = 'client-secret-ig';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function yaml(server: SampleApi, refreshToken: string): string {
  return `baseUrl: ${server.url}\napiKey: demo-client\napiSecret: ${SECRET}\nretry: { attempts: 1 }\nrefresh:\n  endpoint: ${server.url}/oauth/token\n  refreshToken: ${refreshToken}\n`;
}

/** One "run": a fresh store and clients (as a new process would open), one API request. */
async function attempt(temp: TempConfig, env: Record<string, string>): Promise<{ error?: RestqError; manager: TokenManager; close: () => Promise<void> }> {
  const config = loadConfig({ dir: temp.dir, env: {} });
  const { logger } = memoryLogger(config);
  const store = await openTokenStore({ config, settings: readSettings(env) });
  const factory = tokenProviders({ config, store, logger });
  let manager: TokenManager | undefined;
  const clients = new ApiClients({
    config,
    logger,
    tokens: (connection, dispatcher) => {
      const provider = factory(connection, dispatcher);
      manager = provider as TokenManager;
      return provider;
    },
  });
  const close = async () => {
    await clients.close();
    await store.close();
  };
  try {
    const response = await clients.get('api').send({ method: 'GET', url: new URL(`${config.connections['api']!.baseUrl}/v1/orders/count`), headers: {} });
    await response.body.dump?.();
    return { manager: manager!, close };
  } catch (error) {
    return { error: error as RestqError, manager: manager!, close };
  }
}

const MODES: [string, () => Record<string, string>][] = [
  ['standalone (file store)', () => ({})],
  ['distributed (Redis store)', () => ({ REDIS_URL: inject('redisUrl'), RESTQ_PREFIX: `ig-${randomBytes(4).toString('hex')}` })],
];

describe.each(MODES)('invalid_grant memory, %s', (_mode, envOf) => {
  it('later runs fail fast without calling the token endpoint; token --refresh asks once more; a re-seed clears it', async () => {
    const env = envOf();
    if (env['RESTQ_PREFIX']) {
      cleanups.push(async () => {
        const admin = new Redis(env['REDIS_URL']!);
        const keys = await admin.keys(`${env['RESTQ_PREFIX']}:*`);
        if (keys.length > 0) await admin.del(...keys);
        admin.disconnect();
      });
    }
    const server = await startSampleApi({ clientSecret: SECRET, refreshToken: `seed-${randomBytes(6).toString('hex')}` });
    cleanups.push(() => server.close());
    const seed = server.currentRefreshToken();
    const temp = tempConfig(yaml(server, seed));
    cleanups.push(() => temp.cleanup());
    // Someone else spends the seed (it rotates), so the YAML token is dead.
    const dispatcher = createDispatcher(temp.connection);
    cleanups.push(() => dispatcher.close());
    const fresh = await createRefreshClient({ connection: temp.connection, dispatcher, redactor: temp.config.redactor, logger: memoryLogger().logger })(seed);

    const first = await attempt(temp, env);
    await first.close();
    expect(first.error?.code).toBe('E_INVALID_GRANT');
    const callsAfterFirst = server.stats.tokenRequests;

    for (let i = 0; i < 3; i++) {
      const again = await attempt(temp, env);
      await again.close();
      expect(again.error?.code).toBe('E_INVALID_GRANT');
      expect(again.error?.message).toContain('restq token api --refresh');
      expect(again.error?.message).not.toContain(seed);
    }
    // Remembered: three more runs, not one more call to the token endpoint.
    expect(server.stats.tokenRequests).toBe(callsAfterFirst);

    // `restq token api --refresh` tries once more (still refused here: the token is dead).
    const forced = await attempt(temp, env);
    const refused = await forced.manager.forceRefresh().catch((e: unknown) => e as RestqError);
    await forced.close();
    expect(refused).toMatchObject({ code: 'E_INVALID_GRANT' });
    expect(server.stats.tokenRequests).toBe(callsAfterFirst + 1);

    // Re-seeding with a good refresh token clears the memory and runs work again.
    writeFileSync(path.join(temp.dir, 'connections.yaml'), `connections:\n  api:\n${yaml(server, fresh.refreshToken!).trim().split('\n').map((l) => `    ${l}`).join('\n')}\n`);
    const reseeded = await attempt(temp, env);
    await reseeded.close();
    expect(reseeded.error).toBeUndefined();
    const after = await attempt(temp, env);
    await after.close();
    expect(after.error).toBeUndefined();
  });
});
