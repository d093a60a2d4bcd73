import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ConfigIssue } from '../errors/config-error.js';
import { compileMatches } from '../expr/matches.js';
import { checkJsonPath } from '../expr/check-jsonpath.js';
import { parsePrivateKey, readPrivateKeyPem } from './jwt-key.js';
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
  const grant = raw['grant'];
  if (grant === 'client_credentials') {
    if (!refresh) add(at([], 'grant'), 'grant client_credentials needs refresh.endpoint (the token URL)');
    if (!raw['apiKey'] || !raw['apiSecret']) add(at([], 'grant'), 'grant client_credentials needs apiKey (client id) and apiSecret (client secret)');
  } else if (grant === 'authorization_code' || grant === 'jwt_bearer') {
    if (!refresh) add(at([], 'grant'), `grant ${grant} needs refresh.endpoint (the token URL)`);
  } else if (refresh && !refresh['refreshToken'] && !raw['accessToken']) {
    add(at(['refresh']), 'refresh needs refresh.refreshToken (or set grant: client_credentials, authorization_code or jwt_bearer)');
  }
  checkAuthorize(raw, at, add);
  checkJwt(raw, dir, at, add);

  const proxy = asMap(raw['proxy']);
  if (proxy) {
    if (proxy['domain'] && (!proxy['username'] || proxy['password'] === undefined)) {
      add(at(['proxy'], 'domain'), 'NTLM proxy auth (proxy.domain) needs proxy.username and proxy.password');
    } else if ((proxy['username'] === undefined) !== (proxy['password'] === undefined)) {
      add(at(['proxy']), 'proxy.username and proxy.password go together');
    }
  }
  if (raw['apiKeyHeader'] && !raw['apiKey']) add(at([], 'apiKeyHeader'), 'apiKeyHeader is set but apiKey is not');
  checkResponseRules(raw, at, add);
}

/** `responses:` rules: a condition needs a path and the other way round; regexes and JSONPaths must compile. */
function checkResponseRules(raw: RawMap, at: Locator, add: (where: Omit<ConfigIssue, 'message'>, message: string) => void): void {
  const rules = raw['responses'];
  if (!Array.isArray(rules)) return;
  rules.forEach((entry: unknown, index) => {
    const rule = asMap(entry);
    if (!rule) return;
    const where = `responses[${index}]`;
    const conditions = ['equals', 'matches', 'exists'].filter((k) => rule[k] !== undefined);
    const path = asString(rule['path']);
    if (conditions.length > 1) add(at(['responses', index], conditions[1]), `${where} has ${conditions.join(' and ')}: use one condition per rule (first match wins, so list two rules)`);
    if (conditions.length > 0 && path === undefined) add(at(['responses', index], conditions[0]), `${where}.${conditions[0]} needs path: (the JSONPath it tests, e.g. $.error.code)`);
    if (path !== undefined && conditions.length === 0) add(at(['responses', index], 'path'), `${where}.path needs a condition: equals, matches or exists`);
    if (rule['status'] === undefined && path === undefined) add(at(['responses', index]), `${where} matches every response: give it a status, a path condition, or both`);
    for (const key of ['path', 'message'] as const) {
      const expr = asString(rule[key]);
      if (expr === undefined || (key === 'message' && !expr.startsWith('$'))) continue;
      const problem = checkJsonPath(expr);
      if (problem) add(at(['responses', index], key), `${where}.${key} "${expr}" is not a valid JSONPath: ${problem}`);
    }
    const matches = asString(rule['matches']);
    if (matches !== undefined) {
      try {
        compileMatches(matches);
      } catch (error) {
        add(at(['responses', index], 'matches'), `${where}.matches is not a valid regular expression: ${(error as Error).message}`);
      }
    }
    if (rule['action'] === 'refresh' && !raw['refresh']) {
      add(at(['responses', index], 'action'), `${where} action refresh needs a refresh section (or grant) on the connection: there is no token to refresh`);
    }
  });
}

type Add = (where: Omit<ConfigIssue, 'message'>, message: string) => void;

function checkAuthorize(raw: RawMap, at: Locator, add: Add): void {
  const authorize = asMap(raw['authorize']);
  if (raw['grant'] !== 'authorization_code') {
    if (raw['authorize'] !== undefined) add(at([], 'authorize'), 'authorize is read by grant: authorization_code only: set grant: authorization_code, or remove authorize');
    return;
  }
  if (!authorize) add(at([], 'grant'), 'grant authorization_code needs an authorize block: url (the authorization endpoint), scope and redirectPort');
  if (!raw['apiKey']) add(at([], 'grant'), 'grant authorization_code needs apiKey (the client id registered with the provider); apiSecret only for a confidential client');
  const url = asString(authorize?.['url']);
  if (url && URL.canParse(url) && !/^https?:$/.test(new URL(url).protocol)) add(at(['authorize'], 'url'), 'authorize.url must use http or https');
  const params = asMap(authorize?.['params']);
  for (const key of ['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method'] as const) {
    if (params?.[key] !== undefined) add(at(['authorize', 'params'], key), `authorize.params.${key} is set by restq (PKCE, state, loopback redirect): remove it`);
  }
  if (params?.['scope'] !== undefined) add(at(['authorize', 'params'], 'scope'), 'set the scopes in authorize.scope, not authorize.params.scope');
}

const RESERVED_CLAIMS: Record<string, string> = { iss: 'jwt.issuer', sub: 'jwt.subject', aud: 'jwt.audience', exp: 'jwt.lifetime', iat: 'jwt.lifetime', jti: '(restq makes a new one per request)', nbf: '(not used)' };

function checkJwt(raw: RawMap, dir: string, at: Locator, add: Add): void {
  const jwt = asMap(raw['jwt']);
  if (raw['grant'] !== 'jwt_bearer') {
    if (raw['jwt'] !== undefined) add(at([], 'jwt'), 'jwt is read by grant: jwt_bearer only: set grant: jwt_bearer, or remove jwt');
    return;
  }
  if (!jwt) {
    add(at([], 'grant'), 'grant jwt_bearer needs a jwt block: privateKey, algorithm, issuer, subject, audience');
    return;
  }
  if (jwt['issuer'] === undefined && !raw['apiKey']) add(at(['jwt']), 'jwt.issuer is missing (the `iss` claim; it defaults to apiKey, which is not set either)');
  const claims = asMap(jwt['claims']);
  for (const claim of Object.keys(claims ?? {})) {
    const instead = RESERVED_CLAIMS[claim];
    if (instead) add(at(['jwt', 'claims'], claim), `jwt.claims.${claim} is a claim restq sets itself: use ${instead}`);
  }
  const algorithm = jwt['algorithm'] ?? 'RS256';
  const privateKey = jwt['privateKey'];
  if (algorithm === 'HS256') {
    if (privateKey !== undefined) add(at(['jwt'], 'privateKey'), 'algorithm HS256 signs with apiSecret (a shared secret), not a private key: remove jwt.privateKey, or use RS256/PS256/ES256');
    if (!raw['apiSecret']) add(at(['jwt'], 'algorithm'), 'algorithm HS256 signs the assertion with apiSecret, which is not set');
    return;
  }
  if (algorithm !== 'RS256' && algorithm !== 'PS256' && algorithm !== 'ES256') return; // the schema reports it
  if (typeof privateKey !== 'string' || privateKey === '') {
    add(at(['jwt']), `jwt.privateKey is missing: algorithm ${algorithm} signs with a PEM private key (inline or a file path)`);
    return;
  }
  const source = readPrivateKeyPem(privateKey, dir);
  if ('problem' in source) {
    add(at(['jwt'], 'privateKey'), `jwt.privateKey ${source.problem}`);
    return;
  }
  const parsed = parsePrivateKey(source.pem, algorithm);
  if ('problem' in parsed) add(at(['jwt'], 'privateKey'), `jwt.privateKey${source.file ? ` (file ${source.file})` : ''} ${parsed.problem}`);
}
