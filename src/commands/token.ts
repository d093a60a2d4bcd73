import { openTokenStore } from '../auth/open-token-store.js';
import { createTokenManager } from '../auth/token-providers.js';
import type { TokenStore } from '../auth/token-store.js';
import { findConnection } from '../config/lookup.js';
import { fingerprint } from '../config/redactor.js';
import type { Config } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import { createDispatcher } from '../http/dispatcher.js';
import type { Logger } from '../logger.js';
import { commandLogger } from './command-logger.js';
import { loadProjectConfig, type CommandContext } from './context.js';

/** What `restq token CONNECTION` shows: fingerprints and times, never a token. */
export interface TokenReport {
  connection: string;
  /** static: a fixed accessToken; otherwise the grant used to renew it. */
  kind: 'static' | 'refresh_token' | 'client_credentials';
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: string | null;
  refreshedAt: string | null;
  refreshedBy: string | null;
  version: number | null;
  /** True when this call made a refresh (`--refresh`). */
  refreshed: boolean;
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
  const manager = createTokenManager(connection, dispatcher, { config, store: options.store, logger });
  try {
    const { state, reseedPending } = options.refresh ? { state: await manager.forceRefresh(), reseedPending: false } : await manager.inspect();
    return {
      connection: connection.name,
      kind: connection.grant ?? 'refresh_token',
      accessToken: state?.accessToken ? fingerprint(state.accessToken) : null,
      refreshToken: state?.refreshToken ? fingerprint(state.refreshToken) : null,
      expiresAt: iso(state?.expiresAt),
      refreshedAt: iso(state?.refreshedAt),
      refreshedBy: state?.refreshedBy ?? null,
      version: state?.version ?? null,
      refreshed: manager.refreshes > 0,
      reseedPending,
    };
  } finally {
    await manager.close();
    await dispatcher.close();
  }
}

export function formatTokenReport(report: TokenReport, now = Date.now()): string {
  const expires = report.expiresAt === null ? (report.accessToken ? 'unknown (refreshed on a 401 only)' : '-') : `${report.expiresAt} (${describeIn(Date.parse(report.expiresAt) - now)})`;
  const lines = [
    `connection:      ${report.connection}${report.refreshed ? ' (refreshed now)' : ''}`,
    `grant:           ${report.kind === 'static' ? 'static accessToken (no refresh)' : report.kind}`,
    `access token:    ${report.accessToken ?? '(none yet: obtained on first use)'}`,
    ...(report.kind === 'refresh_token' ? [`refresh token:   ${report.refreshToken ?? '(none)'}`] : []),
    `expires at:      ${expires}`,
    ...(report.reseedPending ? ['note:            connections.yaml has a different token than the one stored: the next run (or --refresh) re-seeds from it'] : []),
    ...(report.kind === 'static' ? [] : [`last refreshed:  ${report.refreshedAt ? `${report.refreshedAt} by ${report.refreshedBy ?? '?'}` : 'never (seeded from connections.yaml)'}`, `version:         ${report.version ?? '-'}`]),
  ];
  return `${lines.join('\n')}\n`;
}

function describeIn(ms: number): string {
  const abs = Math.abs(ms);
  const text = abs < 120_000 ? `${Math.round(abs / 1000)} s` : abs < 7_200_000 ? `${Math.round(abs / 60_000)} min` : `${Math.round(abs / 3_600_000)} h`;
  return ms >= 0 ? `in ${text}` : `expired ${text} ago`;
}

/** `restq token CONNECTION [--refresh]`: the token state on stdout, secrets as fingerprints only. */
export async function tokenCli(name: string, options: { refresh?: boolean }, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  findConnection(config, name);
  const log = commandLogger(ctx, config);
  const store = await openTokenStore({ config, settings: ctx.settings, logger: log });
  try {
    const report = await tokenCommand({ config, connection: name, store, logger: log, refresh: options.refresh === true });
    process.stdout.write(config.redactor.redact(formatTokenReport(report)));
  } finally {
    await store.close();
  }
}
