import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from '../../src/config/json-schema.js';

const schemas = jsonSchemas();
// The schema is for editors: check it is valid draft-07 and agrees with the shipped files.
const ajv = new Ajv({ strict: true, allErrors: true, validateFormats: false, strictTypes: false });
const connections = ajv.compile(schemas['connections.schema.json']!);
const job = ajv.compile(schemas['job.schema.json']!);
const yamlOf = (file: string) => parse(readFileSync(file, 'utf8')) as unknown;
const jobFiles = readdirSync('jobs').filter((f) => f.endsWith('.yaml'));

describe('JSON Schema export', () => {
  it('is draft-07', () => {
    expect(schemas['job.schema.json']!['$schema']).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('accepts the shipped connections.yaml and jobs, which point editors at it', () => {
    expect(connections(yamlOf('connections.yaml')), JSON.stringify(connections.errors)).toBe(true);
    expect(readFileSync('connections.yaml', 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\/schema\/connections\.schema\.json\n/);
    expect(jobFiles.length).toBeGreaterThan(0);
    for (const file of jobFiles) {
      const full = path.join('jobs', file);
      expect(job(yamlOf(full)), `${file}: ${JSON.stringify(job.errors)}`).toBe(true);
      expect(readFileSync(full, 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/job\.schema\.json\n/);
    }
  });

  it('accepts every key of SPEC sections 2 and 3, and ${VAR} where a number or boolean goes', () => {
    const full = {
      connections: {
        crm: {
          baseUrl: 'https://api.example.com/v2',
          accessToken: '${CRM_ACCESS_TOKEN}',
          bearer: '${BEARER:-true}',
          apiKey: 'id',
          apiSecret: 'secret',
          apiKeyHeader: 'X-API-Key',
          securityProtocol: 'TLS1.2',
          tls: { ca: './ca.pem', rejectUnauthorized: true },
          refresh: {
            refreshToken: 'rt',
            endpoint: 'https://auth.example.com/token',
            params: 'scope=read',
            accessTokenPath: '$.access_token',
            expiresInPath: '$.expires_in',
            refreshTokenPath: '$.refresh_token',
            clientAuth: 'basic',
          },
          grant: 'client_credentials',
          headers: { 'X-Tenant': 'acme' },
          proxy: { host: 'proxy', port: '${PROXY_PORT}', domain: 'CORP', username: 'u', password: 'p' },
          timeout: '30s',
          retry: { attempts: 4, maxDelay: '30s' },
          rateLimit: { requests: 10, per: '1s' },
        },
      },
    };
    expect(connections(full), JSON.stringify(connections.errors)).toBe(true);
    const fullJob = {
      connection: 'crm',
      schedule: '*/15 * * * *',
      timezone: 'Europe/Berlin',
      params: { status: 'open' },
      grid: {
        method: 'GET',
        path: '/orders',
        query: { status: '{{params.status}}' },
        headers: {},
        body: null,
        rows: '$.data[*]',
        columns: { id: '$.id' },
        paginate: { nextUrl: '$.links.next', maxPages: 10000 },
      },
      output: [
        { csv: 'out/{job}/{date}.csv' },
        { csv: { path: 'x.csv', delimiter: ';', header: true, bom: false, append: false } },
        { webhook: { url: 'https://hooks.example.com/in', batchSize: 500, secret: '${HOOK_SECRET}' } },
        { stdout: { format: 'ndjson' } },
        { stdout: null },
      ],
      attempts: 3,
      timeout: '10m',
    };
    expect(job(fullJob), JSON.stringify(job.errors)).toBe(true);
    expect(job({ connection: 'crm', scalar: { path: '/count', value: '$.count', column: 'n' } })).toBe(true);
  });

  it('accepts the keys of SPEC section 12 (authorization_code, jwt_bearer) and rejects misspelt ones', () => {
    const crm = {
      baseUrl: 'https://api.example.com/v2',
      apiKey: '${CRM_CLIENT_ID}',
      grant: 'authorization_code',
      authorize: { url: 'https://auth.example.com/authorize', scope: 'openid offline_access', redirectPort: '${PORT:-8765}', params: { audience: 'api' } },
      refresh: { endpoint: 'https://auth.example.com/token' },
    };
    const erp = {
      baseUrl: 'https://erp.example.com/api',
      grant: 'jwt_bearer',
      jwt: { privateKey: '${ERP_PRIVATE_KEY}', algorithm: 'ES256', issuer: 'id', subject: 'svc', audience: 'https://erp.example.com/oauth/token', lifetime: '5m', claims: { scope: 'read' }, keyId: 'k1' },
      refresh: { endpoint: 'https://erp.example.com/oauth/token' },
    };
    expect(connections({ connections: { crm, erp } }), JSON.stringify(connections.errors)).toBe(true);
    expect(connections({ connections: { erp: { ...erp, jwt: { ...erp.jwt, algorithm: 'RS512' } } } })).toBe(false);
    expect(connections({ connections: { crm: { ...crm, authorize: { ...crm.authorize, redirectPrt: 1 } } } })).toBe(false);
  });

  it('rejects unknown keys and wrong types, as the loader does', () => {
    expect(connections({ connections: { crm: { baseUrl: 'https://x', bearrer: true } } })).toBe(false);
    expect(job({ connection: 'crm', grid: { path: '/x', rows: '$.d[*]' }, attempts: 'many' })).toBe(false);
    expect(job({ connection: 'crm', grid: { path: '/x', rows: '$.d[*]', extra: 1 } })).toBe(false);
  });
});
