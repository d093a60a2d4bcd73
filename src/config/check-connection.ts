import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ConfigIssue } from '../errors/config-error.js';
import { checkJsonPath } from '../expr/jsonpath.js';
import { asMap, asString, type RawMap } from './raw.js';

/** Position of a key (or the closest existing parent) inside this connection. */
export type Locator = (sub: PropertyKey[], key?: string) => Omit<ConfigIssue, 'message'>;

/**
 * Rules the schema cannot express, read from the raw entry so they are reported even when
 * another key of the same connection has the wrong type.
 */
export function checkConnection(name: string, raw: RawMap, dir: string, at: Locator, issues: ConfigIssue[], warnings: string[]): void {
  const add = (where: Omit<ConfigIssue, 'message'>, message: string) => issues.push({ ...where, message: `connection "${name}": ${message}` });
  const protocol = raw['securityProtocol'];
  if (protocol === 'SSL3') {
    add(
      at([], 'securityProtocol'),
      "securityProtocol SSL3 is not supported: SSL 3.0 is broken (POODLE, RFC 7568) and Node's TLS cannot speak it; use Default (TLS 1.2+), or TLS1.2 / TLS1.0 for a legacy server",
    );
  }
  if (protocol === 'TLS1.0' || protocol === 'TLS1.1') {
    warnings.push(`connection "${name}" pins ${protocol}, a deprecated protocol: the OpenSSL security level is lowered for this connection only`);
  }

  const baseUrl = asString(raw['baseUrl']);
  if (baseUrl && URL.canParse(baseUrl) && !/^https?:$/.test(new URL(baseUrl).protocol)) add(at([], 'baseUrl'), 'baseUrl must use http or https');

  const tls = asMap(raw['tls']);
  if (tls) {
    for (const key of ['ca', 'cert', 'key'] as const) {
      const file = asString(tls[key]);
      if (file && !existsSync(path.resolve(dir, file))) add(at(['tls'], key), `tls.${key}: file not found: ${path.resolve(dir, file)}`);
    }
    if ((tls['cert'] === undefined) !== (tls['key'] === undefined)) add(at(['tls']), 'tls.cert and tls.key go together: set both for a client certificate, or neither');
  }

  const refresh = asMap(raw['refresh']);
  for (const key of ['accessTokenPath', 'expiresInPath', 'refreshTokenPath'] as const) {
    const expr = asString(refresh?.[key]);
    const problem = expr === undefined ? undefined : checkJsonPath(expr);
    if (problem) add(at(['refresh'], key), `refresh.${key} "${expr}" is not a valid JSONPath: ${problem}`);
  }
  if (raw['grant'] === 'client_credentials') {
    if (!refresh) add(at([], 'grant'), 'grant client_credentials needs refresh.endpoint (the token URL)');
    if (!raw['apiKey'] || !raw['apiSecret']) add(at([], 'grant'), 'grant client_credentials needs apiKey (client id) and apiSecret (client secret)');
  } else if (refresh && !refresh['refreshToken'] && !raw['accessToken']) {
    add(at(['refresh']), 'refresh needs refresh.refreshToken (or set grant: client_credentials)');
  }

  const proxy = asMap(raw['proxy']);
  if (proxy) {
    if (proxy['domain'] && (!proxy['username'] || proxy['password'] === undefined)) {
      add(at(['proxy'], 'domain'), 'NTLM proxy auth (proxy.domain) needs proxy.username and proxy.password');
    } else if ((proxy['username'] === undefined) !== (proxy['password'] === undefined)) {
      add(at(['proxy']), 'proxy.username and proxy.password go together');
    }
  }
  if (raw['apiKeyHeader'] && !raw['apiKey']) add(at([], 'apiKeyHeader'), 'apiKeyHeader is set but apiKey is not');
}
