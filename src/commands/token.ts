import { authorizeConnection, type AuthorizeOptions } from '../auth/authorize.js';
import { openBrowser } from '../auth/open-browser.js';
import { openTokenStore } from '../auth/open-token-store.js';
import { createTokenManager } from '../auth/token-provider-factory.js';
import type { TokenState, TokenStore } from '../auth/token-store.js';
import { findConnection } from '../config/lookup.js';
import { fingerprint } from '../config/redactor.js';
import type { Config } from '../config/types.js';
import { parseDuration } from '../config/duration.js';
import { RestqError } from '../errors/restq-error.js';
import { UsageError } from '../errors/usage-error.js';
import { createDispatcher } from '../http/dispatcher.js';
import type { Logger } from '../log/logger.js';
import { commandLogger } from './command-logger.js';
import { loadProjectConfig, type CommandContext } from './context.js';

/** What `restq token CONNECTION` shows: fingerprints and times, never a token. */
export interface TokenReport {
  connection: string;
  /** static: a fixed accessToken; otherwise the grant used to renew it. */
  kind: 'static' | 'refresh_token' | 'client_credentials' | 'authorization_code' | 'jwt_bearer';
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: string | null;
  refreshedAt: string | null;
  refreshedBy: string | null;
  version: number | null;
  /** True when this call made a refresh (`--refresh`). */
  refreshed: boolean;
  /** True when this call stored tokens from the consent flow (`--authorize`). */
  authorized?: boolean;
  /** `--authorize` only: the provider gave no refresh token (the access token works until it expires). */
  noRefreshToken?: boolean;
  /** connections.yaml holds a token other than the one that seeded the store: the next use re-seeds. */
  reseedPending: boolean;
}

export interface TokenCommandOptions {
  config: Config;
  connection: string;
  store: TokenStore;
  logger: Logger;
  /** Force a refresh now. */
  refresh?: boolean;
  /** Run the authorization code + PKCE flow and store its tokens (`--authorize`). */
  authorize?: Pick<AuthorizeOptions, 'timeoutMs' | 'print' | 'openBrowser'> | undefined;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export async function tokenCommand(options: TokenCommandOptions): Promise<TokenReport> {
  const { config, logger } = options;
  const connection = findConnection(config, options.connection);
  if (!connection.refresh) {
    if (options.refresh) throw new RestqError('E_CONFIG', `connection "${connection.name}" has a fixed accessToken and no refresh section: there is nothing to refresh`, { permanent: true });
    return {
      connection: connection.name,
      kind: 'static',
      accessToken: connection.accessToken ? fingerprint(connection.accessToken) : null,
      refreshToken: null,
      expiresAt: null,
      refreshedAt: null,
      refreshedBy: null,
      version: null,
      refreshed: false,
      reseedPending: false,
    };
  }
  const dispatcher = createDispatcher(connection, { logger });
  if (options.authorize) {
    try {
      // The code exchange goes where refreshes go: without the proxy when `refresh.proxy: false`.
      const own = connection.refresh.proxy === false && connection.proxy ? createDispatcher(connection, { proxy: false, logger }) : undefined;
      try {
        const { state, refreshTokenIssued } = await authorizeConnection({ connection, store: options.store, dispatcher: own ?? dispatcher, redactor: config.redactor, logger, ...options.authorize });
        return { ...reportOf(connection.name, 'authorization_code', state, false), authorized: true, noRefreshToken: !refreshTokenIssued };
      } finally {
        await own?.close();
      }
    } finally {
      await dispatcher.close();
    }
  }
  const manager = createTokenManager(connection, dispatcher, { config, store: options.store, logger });
  try {
    const { state, reseedPending } = options.refresh ? { state: await manager.forceRefresh(), reseedPending: false } : await manager.inspect();
    return { ...reportOf(connection.name, connection.grant ?? 'refresh_token', state, manager.refreshes > 0), reseedPending };
  } finally {
    await manager.close();
    await dispatcher.close();
  }
}

function reportOf(connection: string, kind: TokenReport['kind'], state: TokenState | undefined, refreshed: boolean): TokenReport {
  return {
    connection,
    kind,
    accessToken: state?.accessToken ? fingerprint(state.accessToken) : null,
    refreshToken: state?.refreshToken ? fingerprint(state.refreshToken) : null,
    expiresAt: iso(state?.expiresAt),
    refreshedAt: iso(state?.refreshedAt),
    refreshedBy: state?.refreshedBy ?? null,
    version: state?.version ?? null,
    refreshed,
    reseedPending: false,
  };
}

export function formatTokenReport(report: TokenReport, now = Date.now()): string {
  const expires = report.expiresAt === null ? (report.accessToken ? 'unknown (refreshed on a 401 only)' : '-') : `${report.expiresAt} (${describeIn(Date.parse(report.expiresAt) - now)})`;
  const authorizeFirst = `(none yet: run \`restq token ${report.connection} --authorize\`)`;
  const noAccessToken = report.kind === 'authorization_code' ? authorizeFirst : '(none yet: obtained on first use)';
  const noRefreshToken = report.kind === 'authorization_code' ? (report.authorized ? '(none: the provider gave no refresh token; see docs/oauth.md for the scope that asks for one)' : authorizeFirst) : '(none)';
  const lines = [
    `connection:      ${report.connection}${report.refreshed ? ' (refreshed now)' : ''}${report.authorized ? ' (authorized now)' : ''}`,
    `grant:           ${report.kind === 'static' ? 'static accessToken (no refresh)' : report.kind}`,
    `access token:    ${report.accessToken ?? noAccessToken}`,
    ...(report.kind === 'refresh_token' || report.kind === 'authorization_code' ? [`refresh token:   ${report.refreshToken ?? noRefreshToken}`] : []),
    `expires at:      ${expires}`,
    ...(report.reseedPending ? ['note:            connections.yaml has a different token than the one stored: the next run (or --refresh) re-seeds from it'] : []),
    ...(report.kind === 'static' ? [] : [`${report.authorized ? 'authorized:     ' : 'last refreshed: '} ${report.refreshedAt ? `${report.refreshedAt} by ${report.refreshedBy ?? '?'}` : report.version !== null && (report.kind === 'authorization_code' || report.kind === 'refresh_token') ? 'never (seeded from connections.yaml)' : 'never'}`, `version:         ${report.version ?? '-'}`]),
  ];
  return `${lines.join('\n')}\n`;
}

function describeIn(ms: number): string {
  const abs = Math.abs(ms);
  const text = abs < 120_000 ? `${Math.round(abs / 1000)} s` : abs < 7_200_000 ? `${Math.round(abs / 60_000)} min` : `${Math.round(abs / 3_600_000)} h`;
  return ms >= 0 ? `in ${text}` : `expired ${text} ago`;
}

export interface TokenCliOptions {
  refresh?: boolean;
  authorize?: boolean;
  /** `--no-browser` sets it false. */
  browser?: boolean;
  /** `--timeout` of `--authorize`. @default "5m" */
  timeout?: string;
}

/** `restq token CONNECTION [--refresh | --authorize [--no-browser] [--timeout 5m]]`: the token state on stdout, secrets as fingerprints only. */
export async function tokenCli(name: string, options: TokenCliOptions, ctx: CommandContext): Promise<void> {
  if (options.refresh && options.authorize) throw new UsageError('--refresh and --authorize go alone: --authorize already stores a fresh access token');
  const timeoutMs = parseDuration(options.timeout ?? '5m');
  if (timeoutMs === undefined || timeoutMs <= 0) throw new UsageError(`--timeout expects a duration such as 90s or 5m, got "${options.timeout}"`);
  const config = loadProjectConfig(ctx);
  findConnection(config, name);
  const log = commandLogger(ctx, config);
  const store = await openTokenStore({ config, settings: ctx.settings, logger: log });
  try {
    const authorize = options.authorize
      ? // Not redacted: the URL must carry the client id (apiKey), which the provider shows the user anyway.
        { timeoutMs, print: (text: string) => process.stderr.write(text), openBrowser: options.browser === false ? undefined : (url: string) => openBrowser(url) }
      : undefined;
    const report = await tokenCommand({ config, connection: name, store, logger: log, refresh: options.refresh === true, authorize });
    process.stdout.write(config.redactor.redact(formatTokenReport(report)));
  } finally {
    await store.close();
  }
}
