import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/errors/config-error.js';
import { validateSummary } from '../../src/commands/validate.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;
const JOB = lines('connection: api', 'grid:', '  path: /orders', '  rows: $.data[*]');

let project: TempProject | undefined;
afterEach(() => project?.cleanup());

function load(files: Record<string, string>, env: Record<string, string> = {}) {
  project = tempProject(files);
  return loadConfig({ dir: project.dir, env });
}

function issuesOf(files: Record<string, string>, env: Record<string, string> = {}) {
  try {
    load(files, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('interpolation and .env', () => {
  it('replaces ${VAR} after YAML parsing, so a secret with ": " and " #" stays whole', () => {
    const secret = 'tok: with # hash, {braces} [and] "quotes"';
    const config = load(
      { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://127.0.0.1:9', '    accessToken: ${API_TOKEN}'), 'jobs/orders.yaml': JOB },
      { API_TOKEN: secret },
    );
    expect(config.connections['api']!.accessToken).toBe(secret);
  });

  it('reads .env beside connections.yaml; the real environment wins over it', () => {
    const config = load(
      {
        'connections.yaml': lines('connections:', '  api:', '    baseUrl: ${BASE_URL}', '    accessToken: ${API_TOKEN}', '    timeout: ${API_TIMEOUT}'),
        '.env': lines('BASE_URL=http://from-dotenv:1', 'API_TOKEN="dotenv-token"', 'API_TIMEOUT=5s'),
        'jobs/orders.yaml': JOB,
      },
      { BASE_URL: 'http://from-env:2' },
    );
    const api = config.connections['api']!;
    expect(api.baseUrl).toBe('http://from-env:2');
    expect(api.accessToken).toBe('dotenv-token');
    expect(api.timeout).toBe(5000);
  });

  it('uses ${VAR:-default} when the variable is unset or empty, and turns "3128"/"false" into typed values', () => {
    const config = load(
      {
        'connections.yaml': lines(
          'connections:',
          '  api:',
          '    baseUrl: ${BASE_URL:-http://127.0.0.1:8787}/v2',
          '    bearer: ${BEARER:-false}',
          '    proxy: { host: proxy.local, port: "${PROXY_PORT:-3128}" }',
          '    headers: { X-Empty: "${EMPTY:-fallback}" }',
        ),
        'jobs/orders.yaml': JOB,
      },
      { EMPTY: '' },
    );
    const api = config.connections['api']!;
    expect(api.baseUrl).toBe('http://127.0.0.1:8787/v2');
    expect(api.bearer).toBe(false);
    expect(api.proxy?.port).toBe(3128);
    expect(api.headers).toEqual({ 'x-empty': 'fallback' });
  });

  it('$${ escapes a literal ${', () => {
    const config = load(
      {
        'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://127.0.0.1:9', '    headers:', '      X-Literal: "$${NOT_A_VAR} and $${ too"'),
        'jobs/orders.yaml': JOB,
      },
      { NOT_A_VAR: 'replaced' },
    );
    expect(config.connections['api']!.headers['x-literal']).toBe('${NOT_A_VAR} and ${ too');
  });

  it('reports every missing variable with its own position, and nothing else about those values', () => {
    const issues = issuesOf({
      'connections.yaml': lines('connections:', '  api:', '    baseUrl: ${MISSING_URL}', '    accessToken: ${MISSING_TOKEN}'),
      'jobs/orders.yaml': JOB,
    });
    expect(issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.message.split(':')[0]}`)).toEqual([
      'connections.yaml:3:14 environment variable MISSING_URL is not set',
      'connections.yaml:4:18 environment variable MISSING_TOKEN is not set',
    ]);
  });
});

describe('loading a valid project', () => {
  it('names jobs by file stem unless name: is set, applies defaults, and freezes the result', () => {
    const config = load({
      'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://127.0.0.1:9', '    headers: { X-Tenant: acme }'),
      'jobs/orders.yaml': lines('schedule: "*/15 * * * *"', 'timezone: Europe/Berlin', JOB),
      'jobs/other.yml': lines('name: renamed', 'connection: api', 'scalar:', '  path: /count', '  value: $.count'),
    });
    expect(Object.keys(config.jobs).sort()).toEqual(['orders', 'renamed']);
    const orders = config.jobs['orders']!;
    expect(orders).toMatchObject({ kind: 'grid', file: 'jobs/orders.yaml', timezone: 'Europe/Berlin', attempts: 3, timeout: 600_000 });
    expect(orders.outputs).toEqual([{ type: 'stdout', format: 'ndjson' }]);
    expect(config.jobs['renamed']).toMatchObject({ kind: 'scalar', scalar: { column: 'value', method: 'GET' } });
    expect(config.connections['api']).toMatchObject({ bearer: true, securityProtocol: 'Default', timeout: 30_000, headers: { 'x-tenant': 'acme' } });
    expect(Object.isFrozen(config.jobs['orders'])).toBe(true);
    expect(validateSummary(config)).toBe(`ok: 1 connection, 2 jobs, 1 scheduled (${project!.dir})`);
  });

  it('expands the csv shorthand and keeps every sink in order', () => {
    const config = load({
      'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://127.0.0.1:9'),
      'jobs/orders.yaml': lines(JOB.trimEnd(), 'output:', '  - csv: out/{job}.csv', '  - csv: { path: "out/{date}.csv", delimiter: ";", bom: true, append: true }', '  - stdout:'),
    });
    expect(config.jobs['orders']!.outputs).toEqual([
      { type: 'csv', path: 'out/{job}.csv', delimiter: ',', header: true, bom: false, append: false },
      { type: 'csv', path: 'out/{date}.csv', delimiter: ';', header: true, bom: true, append: true },
      { type: 'stdout', format: 'ndjson' },
    ]);
  });

  it('warns (without failing) about a deprecated TLS version', () => {
    const config = load({
      'connections.yaml': lines('connections:', '  api:', '    baseUrl: https://127.0.0.1:9', '    securityProtocol: TLS1.0'),
      'jobs/orders.yaml': JOB,
    });
    expect(config.warnings).toEqual([expect.stringMatching(/connection "api" pins TLS1\.0, a deprecated protocol/)]);
  });

  it('tells where it looked when connections.yaml is missing', () => {
    project = tempProject({ 'jobs/orders.yaml': JOB });
    expect(() => loadConfig({ dir: project!.dir, env: {} })).toThrow(/connections\.yaml not found: restq looks for connections\.yaml and jobs\/\*\.yaml in .*; pass --config DIR or set RESTQ_CONFIG_DIR/);
  });
});

describe('every problem at once', () => {
  it('reports problems of several files and several connections in one error, in file and line order', () => {
    const issues = issuesOf({
      'connections.yaml': lines('connections:', '  a:', '    baseUrl: http://x', '    bearer: maybe', '  b:', '    baseUrl: http://y', '    securityProtocol: SSL3'),
      'jobs/one.yaml': lines('connection: c', 'grid:', '  path: /x', '  rows: $.data['),
      'jobs/two.yaml': lines('connection: a', 'timezone: Nowhere/City', 'schedule: "bad cron"', 'scalar:', '  path: /x', '  value: $.v'),
      'jobs/three.yaml': lines('connection: a', 'grid: { rows: $.x[*] }'),
    });
    expect(issues.map((i) => `${i.file}:${i.line}`)).toEqual([
      'connections.yaml:4',
      'connections.yaml:7',
      'jobs/one.yaml:1',
      'jobs/one.yaml:4',
      'jobs/three.yaml:2',
      'jobs/two.yaml:2',
      'jobs/two.yaml:3',
    ]);
  });

  it('rejects a job file name that cannot be a job name unless name: is set', () => {
    const issues = issuesOf({ 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x'), 'jobs/my orders.yaml': JOB, 'jobs/ok now.yaml': lines('name: ok-now', JOB) });
    expect(issues.map((i) => `${i.file} ${i.message}`)).toEqual([
      'jobs/my orders.yaml file name "my orders.yaml" is not a valid job name (letters, digits, ".", "_" and "-"): rename the file or set name:',
    ]);
  });

  it('does not echo "connection not defined" when connections.yaml itself is unreadable YAML', () => {
    const issues = issuesOf({ 'connections.yaml': lines('connections:', '  api: { baseUrl: http://x'), 'jobs/orders.yaml': JOB });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/^YAML syntax error/);
  });
});

describe('secrets found while loading', () => {
  it('registers secret keys, credential headers and query values, and *_TOKEN/*_SECRET variables with the redactor', () => {
    const config = load(
      {
        'connections.yaml': lines(
          'connections:',
          '  api:',
          '    baseUrl: http://127.0.0.1:9/${TENANT_KEY}',
          '    accessToken: access-token-value',
          '    apiKey: client-id-value',
          '    apiSecret: client-secret-value',
          '    headers: { Authorization: "Bearer header-token-value", X-Plain: visible-value }',
          '    refresh: { endpoint: "http://127.0.0.1:9/token", refreshToken: refresh-token-value, params: "client_assertion=x&api_key=form-key-value" }',
        ),
        'jobs/orders.yaml': lines(JOB.trimEnd(), '  query: { api_key: query-key-value, page: "1" }', 'output:', '  - webhook: { url: "http://127.0.0.1:9/hook", secret: hook-secret-value }'),
      },
      { TENANT_KEY: 'tenant-key-value' },
    );
    const text = [
      'access-token-value',
      'client-id-value',
      'client-secret-value',
      'Bearer header-token-value',
      'refresh-token-value',
      'form-key-value',
      'query-key-value',
      'hook-secret-value',
      'tenant-key-value',
      'visible-value',
    ].join(' ');
    const redacted = config.redactor.redact(text);
    expect(redacted).not.toMatch(/access-token-value|client-id-value|client-secret-value|header-token-value|refresh-token-value|form-key-value|query-key-value|hook-secret-value|tenant-key-value/);
    expect(redacted).toContain('visible-value');
    expect(redacted).toContain('[secret acce…(18)]');
  });

  it('never prints a secret in a configuration error', () => {
    let message = '';
    try {
      load(
        { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    accessToken: ${API_TOKEN}', '    securityProtocol: ${API_TOKEN}'), 'jobs/orders.yaml': JOB },
        { API_TOKEN: 'very-secret-token-123' },
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/securityProtocol must be one of/);
    expect(message).not.toContain('very-secret-token-123');
    expect(message).toContain('[secret very…(21)]');
  });
});
