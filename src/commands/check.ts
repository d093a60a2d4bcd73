import { openTokenStore } from '../auth/open-token-store.js';
import { TokenManager } from '../auth/token-manager.js';
import { jwtExpiry } from '../auth/jwt-expiry.js';
import type { TokenProvider } from '../auth/token-provider.js';
import { tokenProviders } from '../auth/token-providers.js';
import type { TokenStore } from '../auth/token-store.js';
import { fingerprint } from '../config/redactor.js';
import type { Config, Connection, SecurityProtocol } from '../config/types.js';
import { HttpError } from '../errors/http-error.js';
import { isRestqError, RestqError } from '../errors/restq-error.js';
import { ApiClients } from '../http/api-clients.js';
import { probeTls, type TlsProbe } from '../http/dispatcher.js';
import { httpPolicy } from '../http/http-policy.js';
import { proxyAuthScheme, proxyLabel } from '../http/proxy-tunnel.js';
import type { RateLimiters } from '../http/rate-limiter.js';
import { RedisRateLimiters } from '../http/redis-rate-limiter.js';
import { safeUrl } from '../http/safe-url.js';
import { UsageError, RunFailed } from '../errors/usage-error.js';
import { createLogger, type Logger } from '../logger.js';
import { commandLogger } from './command-logger.js';
import { loadProjectConfig, type CommandContext } from './context.js';
import { joinUrl } from '../query/build-request.js';
import { createRedisClient } from '../redis/redis-connection.js';
import type { Settings } from '../runtime/settings.js';

/** One step of `restq check`; `detail` says what was found, or on failure what to change. */
export interface CheckStep {
  name: 'proxy' | 'tls' | 'token' | 'http';
  ok: boolean;
  detail: string;
  ms: number;
}

/** `restq check --json` prints exactly this. */
export interface CheckReport {
  ok: boolean;
  steps: CheckStep[];
}

export interface CheckOptions {
  config: Config;
  connection: string;
  /** `--path`; else the connection's `check.path`; else its baseUrl. */
  path?: string | undefined;
  logger: Logger;
  store: TokenStore;
  /** The shared budget (Redis when REDIS_URL is set), as for a run. @default in-process */
  rateLimiters?: RateLimiters | undefined;
  /** @default Date.now */
  now?: () => number;
}

const silent = createLogger({ level: 'silent' });

function inDuration(ms: number): string {
  const abs = Math.abs(ms);
  const text = abs >= 86_400_000 ? `${Math.round(abs / 86_400_000)}d` : abs >= 3_600_000 ? `${Math.round(abs / 3_600_000)}h` : abs >= 60_000 ? `${Math.round(abs / 60_000)}m` : `${Math.round(abs / 1000)}s`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** The system-level code (ECONNREFUSED, ERR_SSL_…) under restq's own E_ codes. */
function systemCode(error: unknown): string {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 6; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && !e.code.startsWith('E_')) return e.code;
  }
  return '';
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = performance.now();
  try {
    const value = await fn();
    return { value, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { error, ms: Math.round(performance.now() - started) };
  }
}

function messageOf(error: unknown, config: Config): string {
  return config.redactor.redact(error instanceof Error ? error.message : String(error));
}

/** Legacy versions a server may be stuck on, tried when the default handshake fails on the version. */
const LEGACY: SecurityProtocol[] = ['TLS1.1', 'TLS1.0'];
const VERSION_CODES = /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|WRONG_VERSION_NUMBER|NO_PROTOCOLS_AVAILABLE|VERSION_TOO_LOW|HANDSHAKE_FAILURE|NO_CIPHERS|NO_SUITABLE/;

/** What to change after a failed handshake: probes older versions when the failure is about the version. */
async function tlsFix(connection: Connection, url: URL, error: unknown): Promise<string> {
  const code = systemCode(error);
  if (code === 'ECONNREFUSED') return `nothing listens on ${url.host}: check baseUrl (is the API running, is the port right?)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host ${url.hostname} does not resolve: check baseUrl`;
  if (VERSION_CODES.test(code)) {
    for (const version of LEGACY) {
      if (version === connection.securityProtocol) continue;
      const legacy = await probeTls({ ...connection, securityProtocol: version }, url, silent).then(() => true, () => false);
      if (legacy) return `the server only speaks ${version.replace('TLS', 'TLS ')}: set securityProtocol: ${version} on connection "${connection.name}"`;
    }
    if (connection.securityProtocol !== 'Default') return `the server does not accept ${connection.securityProtocol}: set securityProtocol: Default (or the version it speaks)`;
  }
  if (/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|CERT_UNTRUSTED/.test(code)) {
    return `the server's certificate is not trusted: set tls.ca of connection "${connection.name}" to the PEM file of the CA that issued it`;
  }
  return '';
}

function tlsDetail(probe: TlsProbe, now: number): string {
  const expiry = probe.validTo ? `, expires ${probe.validTo.toISOString().slice(0, 10)} (${inDuration(probe.validTo.getTime() - now)})` : '';
  return `${probe.protocol}, certificate ${probe.subject}${probe.issuer ? ` issued by ${probe.issuer}` : ''}${expiry}`;
}

/** The token step: where the token came from (store, refresh, YAML), its fingerprint and expiry. */
async function tokenStep(connection: Connection, provider: TokenProvider | undefined, now: () => number): Promise<string> {
  if (!provider) return 'none';
  if (provider instanceof TokenManager) {
    const before = provider.refreshes;
    const token = await provider.get();
    const { state } = await provider.inspect();
    const source = provider.refreshes > before ? `refreshed at ${safeUrl(new URL(connection.refresh!.endpoint))} (${connection.grant ?? 'refresh_token'})` : 'from the token store (still valid)';
    const expires = state?.expiresAt === undefined ? 'expiry unknown' : `expires ${inDuration(state.expiresAt - now())}`;
    return `${source}, ${token ? fingerprint(token.value) : 'no token'}, ${expires}`;
  }
  const token = await provider.get();
  if (!token) return `no access token${connection.apiKeyHeader ? ` (apiKey sent in header ${connection.apiKeyHeader})` : ''}`;
  const exp = jwtExpiry(token.value);
  return `fixed accessToken from connections.yaml, ${fingerprint(token.value)}, ${exp === undefined ? 'expiry unknown (not a JWT)' : `expires ${inDuration(exp - now())}`}`;
}

function httpFix(status: number | undefined, connection: Connection): string {
  if (status === 401) return 'the API rejected the token: check the credentials and scopes of the connection';
  if (status === 403) return 'the token is valid but not allowed here: check its scopes or the path';
  if (status === 404) return `nothing at that path: pass --path, or set check.path of connection "${connection.name}" to an endpoint that answers GET`;
  if (status === 407) return 'the proxy wants authentication: check proxy.username and proxy.password';
  return '';
}

/**
 * `restq check CONNECTION`: the path of a run (token store, proxy, TLS, rate budget, response
 * rules) with one GET, reported step by step; the first failing step ends the check and says
 * what to change. Nothing secret is shown: tokens appear as fingerprints.
 */
export async function checkConnection(options: CheckOptions): Promise<CheckReport> {
  const { config, logger } = options;
  const now = options.now ?? Date.now;
  const connection = config.connections[options.connection];
  if (!connection) throw new RestqError('E_CONFIG', `unknown connection "${options.connection}": defined connections are ${Object.keys(config.connections).join(', ') || '(none)'}`, { permanent: true });
  const steps: CheckStep[] = [];
  const report = (): CheckReport => ({ ok: steps.every((s) => s.ok), steps: steps.map(({ name, ok, detail, ms }) => ({ name, ok, detail, ms })) });
  const url = joinUrl(connection.baseUrl, options.path ?? connection.check?.path ?? '');

  // 1. proxy: which one, how it authenticates (its reachability shows in the next step).
  const proxy = connection.proxy;
  steps.push({ name: 'proxy', ok: true, ms: 0, detail: proxy ? `${proxyLabel(proxy)} (auth: ${proxyAuthScheme(proxy)})` : 'none (direct connection)' });

  // 2. TLS, through the same connector as the run's dispatcher.
  if (url.protocol === 'https:') {
    const tls = await timed(() => probeTls(connection, url, logger));
    if (tls.error !== undefined) {
      const fix = await tlsFix(connection, url, tls.error);
      steps.push({ name: 'tls', ok: false, ms: tls.ms, detail: `${messageOf(tls.error, config)}${fix ? `; ${fix}` : ''}` });
      return report();
    }
    steps.push({ name: 'tls', ok: true, ms: tls.ms, detail: tlsDetail(tls.value!, now()) });
  } else {
    steps.push({ name: 'tls', ok: true, ms: 0, detail: 'not used (http)' });
  }

  // A run's clients: the same token store, rate budget and response rules; one try, no retries.
  let provider: TokenProvider | undefined;
  const factory = tokenProviders({ config, store: options.store, logger });
  const checkConfig: Config = { ...config, connections: { ...config.connections, [connection.name]: { ...connection, retry: { ...connection.retry, attempts: 1 } } } };
  const clients = new ApiClients({
    config: checkConfig,
    logger,
    tokens: (c, dispatcher) => (provider = factory(c, dispatcher)),
    wrapTransport: httpPolicy({ logger, redactor: config.redactor, ...(options.rateLimiters ? { rateLimiters: options.rateLimiters } : {}) }),
  });
  try {
    const api = clients.get(connection.name);

    // 3. token.
    const token = await timed(() => tokenStep(connection, provider, now));
    if (token.error !== undefined) {
      const code = isRestqError(token.error) ? token.error.code : undefined;
      const fix = code === 'E_INVALID_GRANT' ? '' : code === 'E_TOKEN_REFRESH' && !/check/.test(messageOf(token.error, config)) ? '; check apiKey, apiSecret and refresh of the connection' : '';
      steps.push({ name: 'token', ok: false, ms: token.ms, detail: `${messageOf(token.error, config)}${fix}` });
      return report();
    }
    steps.push({ name: 'token', ok: true, ms: token.ms, detail: token.value! });

    // 4. one GET.
    const http = await timed(async () => {
      const response = await api.send({ method: 'GET', url, headers: {} });
      await (response.body.dump?.() ?? response.body.text()).catch(() => undefined);
      return response.status;
    });
    if (http.error !== undefined) {
      const status = http.error instanceof HttpError ? http.error.status : undefined;
      const code = systemCode(http.error);
      const fix = httpFix(status, connection) || (code === 'ECONNREFUSED' ? `nothing listens on ${url.host}: check baseUrl (and the proxy, if any)` : '');
      steps.push({ name: 'http', ok: false, ms: http.ms, detail: `${messageOf(http.error, config)}${fix ? `; ${fix}` : ''}` });
      return report();
    }
    steps.push({ name: 'http', ok: true, ms: http.ms, detail: `GET ${safeUrl(url, config.redactor)} answered ${http.value}` });
    return report();
  } finally {
    await clients.close();
  }
}

/** The text report: one line per step, then the verdict. */
export function formatCheckReport(connection: string, report: CheckReport): string {
  const width = Math.max(...report.steps.map((s) => s.name.length));
  const lines = report.steps.map((s) => `${s.ok ? '✓' : '✗'} ${s.name.padEnd(width)}  ${s.detail}${s.ms > 0 ? ` (${s.ms} ms)` : ''}`);
  const failed = report.steps.find((s) => !s.ok);
  lines.push(failed ? `connection "${connection}": FAILED at step ${failed.name}` : `connection "${connection}": OK`);
  return `${lines.join('\n')}\n`;
}

export interface CheckCommandOptions {
  config: Config;
  connection: string;
  path?: string | undefined;
  logger: Logger;
  /** The environment read once (token store kind, Redis for the rate budget). */
  settings: Settings;
}

/**
 * The CLI's `restq check`: opens the token store and, with Redis and a rateLimit, the Redis
 * budget, exactly as `restq run` does, then checks and closes them.
 */
export async function checkCommand(options: CheckCommandOptions): Promise<CheckReport> {
  const { config, logger, settings } = options;
  const store = await openTokenStore({ config, settings, logger });
  const queue = settings.queue;
  const redis = queue && config.connections[options.connection]?.rateLimit ? createRedisClient(queue.redis, { logger }) : undefined;
  try {
    return await checkConnection({ config, connection: options.connection, path: options.path, logger, store, rateLimiters: redis && queue ? new RedisRateLimiters({ redis, prefix: queue.prefix }) : undefined });
  } finally {
    await store.close();
    redis?.disconnect();
  }
}

/** `restq check CONNECTION [--path P] [--json]`: prints the report; a failed check exits 1. */
export async function checkCli(name: string, options: { path?: string; json?: boolean }, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  if (!config.connections[name]) {
    throw new UsageError(`unknown connection "${name}": defined connections are ${Object.keys(config.connections).join(', ') || '(none)'}`);
  }
  // Only warnings by default: the report is the output, not the request log.
  const logger = commandLogger({ settings: ctx.settings, configDir: ctx.configDir, logLevel: ctx.logLevel ?? ctx.settings.logLevel ?? 'warn' }, config);
  const report = await checkCommand({ config, connection: name, path: options.path, settings: ctx.settings, logger });
  process.stdout.write(config.redactor.redact(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(name, report)));
  const failed = report.steps.find((s) => !s.ok);
  if (failed) throw new RunFailed(`restq check ${name}: failed at step ${failed.name}`);
}
