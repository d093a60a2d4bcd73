import { z } from 'zod';
import { parseDuration } from './duration.js';

// Values that came through `${VAR}` interpolation are strings; accept "3128" and "true" where
// a number or boolean is expected, as a user who wrote `port: ${PROXY_PORT}` would expect.
const number = (min = 0) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    z.number().int().min(min),
  );
const boolean = () =>
  z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

const duration = () =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid duration ${JSON.stringify(value)}: use a number with a unit, e.g. 500ms, 30s, 10m, 1h`,
      });
      return z.NEVER;
    }
    return ms;
  });

const stringMap = () => z.record(z.string(), z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v), z.string()));

/** A JSONPath expression (checked for syntax by the loader, which knows where it stands). */
const jsonPath = () => z.string().min(1);

export const SECURITY_PROTOCOLS = ['Default', 'SSL3', 'TLS1.0', 'TLS1.1', 'TLS1.2', 'TLS1.3'] as const;

const tlsSchema = z.strictObject({
  /** PEM file with the CA certificate(s) to trust, relative to the config directory. */
  ca: z.string().optional(),
  /** PEM client certificate for mutual TLS. */
  cert: z.string().optional(),
  /** PEM private key of the client certificate. */
  key: z.string().optional(),
  /** @default true */
  rejectUnauthorized: boolean().default(true),
});

const refreshSchema = z.strictObject({
  refreshToken: z.string().optional(),
  endpoint: z.url({ error: 'must be an absolute http(s) URL, e.g. https://auth.example.com/token' }),
  params: z.union([z.string(), stringMap()]).optional(),
  /** @default "$.access_token" */
  accessTokenPath: jsonPath().default('$.access_token'),
  /** @default "$.expires_in" */
  expiresInPath: jsonPath().default('$.expires_in'),
  /** @default "$.refresh_token" */
  refreshTokenPath: jsonPath().default('$.refresh_token'),
  /** @default "body" */
  clientAuth: z.enum(['body', 'basic', 'none']).default('body'),
  /** Send the token request through the connection's proxy. @default true */
  proxy: boolean().default(true),
  /** Per token request. @default 30s */
  timeout: duration().default(30_000),
});

const proxySchema = z.strictObject({
  host: z.string().min(1),
  port: number(1),
  /** `http` (default) or `https` for a TLS connection to the proxy itself. */
  protocol: z.enum(['http', 'https']).default('http'),
  domain: z.string().optional(),
  /** Workstation name sent in NTLM messages. */
  workstation: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
});

export const RESPONSE_ACTIONS = ['refresh', 'retry', 'fail', 'skip'] as const;

const responseRuleSchema = z.strictObject({
  /** Status (or statuses) the rule applies to. @default any status */
  status: z.union([number(100), z.array(number(100)).min(1)]).optional(),
  /** JSONPath into the JSON body that the condition tests. */
  path: jsonPath().optional(),
  /** The value at `path` equals this. */
  equals: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
  /** The value at `path` matches this regular expression; a leading (?i) ignores case. */
  matches: z.string().optional(),
  /** The body has (true) or lacks (false) a value at `path`. */
  exists: boolean().optional(),
  /** refresh: like a 401 (one token refresh, one retry); retry: like a 503; fail: fail the run; skip: drop the response. */
  action: z.enum(RESPONSE_ACTIONS),
  /** JSONPath to the message for the run error (or a literal text). */
  message: z.string().min(1).optional(),
});

export const connectionSchema = z.strictObject({
  baseUrl: z.url({ error: 'must be an absolute http(s) URL, e.g. https://api.example.com/v2' }),
  accessToken: z.string().optional(),
  /** @default true */
  bearer: boolean().default(true),
  apiKey: z.string().optional(),
  apiSecret: z.string().optional(),
  /** Also send apiKey in this header on every API request. */
  apiKeyHeader: z.string().optional(),
  /** @default "Default" */
  securityProtocol: z.enum(SECURITY_PROTOCOLS).default('Default'),
  tls: tlsSchema.optional(),
  refresh: refreshSchema.optional(),
  /** @default "refresh_token" when `refresh` is set */
  grant: z.enum(['refresh_token', 'client_credentials']).optional(),
  headers: stringMap().default({}),
  proxy: proxySchema.optional(),
  /** Per request. @default 30s */
  timeout: duration().default(30_000),
  retry: z
    .strictObject({
      /** Tries in all, including the first. @default 4 */
      attempts: number(1).default(4),
      /** @default 30s */
      maxDelay: duration().default(30_000),
      /** @default 500ms */
      baseDelay: duration().default(500),
    })
    .default({ attempts: 4, maxDelay: 30_000, baseDelay: 500 }),
  rateLimit: z.strictObject({ requests: number(1), per: duration() }).optional(),
  /** Rules for APIs that signal trouble in a 2xx body or with an odd status; the first match wins. */
  responses: z.array(responseRuleSchema).default([]),
  /** `restq check`: the path of its GET. @default the baseUrl itself */
  check: z.strictObject({ path: z.string().min(1) }).optional(),
});

export const connectionsFileSchema = z.strictObject({
  connections: z.record(z.string(), connectionSchema),
});

const templateValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const requestShape = {
  /** @default "GET" */
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  path: z.string().min(1),
  query: z.record(z.string(), templateValue).default({}),
  headers: stringMap().default({}),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown()), z.null()]).default(null),
};

const paginateSchema = z.strictObject({
  nextUrl: jsonPath().optional(),
  cursor: z.strictObject({ path: jsonPath(), param: z.string().min(1) }).optional(),
  offset: z
    .strictObject({ param: z.string().min(1), limitParam: z.string().min(1).optional(), limit: number(1) })
    .optional(),
  page: z.strictObject({ param: z.string().min(1), start: number(0).default(1) }).optional(),
  linkHeader: boolean().optional(),
  /** @default 10000 */
  maxPages: number(1).default(10_000),
  /** Pages in flight at once (page and offset strategies only). @default 1 */
  concurrency: number(1).default(1),
  /** JSONPath to the page count (page) or row count (offset) in the first response; without it parallel paging fetches ahead and drops pages past the end. */
  total: jsonPath().optional(),
  /** JSONPath read on every page (e.g. $.has_more): pagination stops when it is false or absent. */
  stopWhen: jsonPath().optional(),
});

/** `grid.forEach`: the parent request; each of its rows drives one child request sequence (the grid). */
const forEachSchema = z.strictObject({
  ...requestShape,
  rows: jsonPath(),
  paginate: paginateSchema.optional(),
  /** Name of the parent row in templates: {{parent.id}}. @default "parent" */
  as: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'use letters, digits and "_" (a template name such as customer)').default('parent'),
  /** Child request sequences in flight at once; output order stays parent order. @default 1 */
  concurrency: number(1).default(1),
  /** Child response statuses that skip that parent (counted in the run summary). @default [] */
  skipOn: z.array(number(100)).default([]),
});

export const gridSchema = z.strictObject({
  ...requestShape,
  rows: jsonPath(),
  /** Column name → JSONPath into the row, or a template starting with {{ (e.g. "{{customer.id}}"). */
  columns: z.record(z.string(), z.string().min(1)).optional(),
  paginate: paginateSchema.optional(),
  forEach: forEachSchema.optional(),
});

export const scalarSchema = z.strictObject({
  ...requestShape,
  value: jsonPath(),
  /** @default "value" */
  column: z.string().min(1).default('value'),
});

const csvSinkSchema = z.union([
  z.string().min(1),
  z.strictObject({
    path: z.string().min(1),
    /** @default "," */
    delimiter: z.string().min(1).default(','),
    /** @default true */
    header: boolean().default(true),
    /** @default false */
    bom: boolean().default(false),
    /** @default false */
    append: boolean().default(false),
  }),
]);

const webhookSinkSchema = z.strictObject({
  url: z.url({ error: 'must be an absolute http(s) URL' }),
  /** @default 500 */
  batchSize: number(1).default(500),
  secret: z.string().optional(),
  headers: stringMap().default({}),
  /** @default "json" */
  format: z.enum(['json', 'ndjson']).default('json'),
  /** @default 30s */
  timeout: duration().default(30_000),
});

const stdoutSinkSchema = z
  .union([z.null(), z.strictObject({ format: z.enum(['ndjson', 'csv', 'json']).default('ndjson') })])
  .transform((v) => v ?? { format: 'ndjson' as const });

export const outputSchema = z.strictObject({
  csv: csvSinkSchema.optional(),
  webhook: webhookSinkSchema.optional(),
  stdout: stdoutSinkSchema.optional(),
});

/** Job names travel in shell commands, file paths and queue job names. */
export const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const jobFileSchema = z.strictObject({
  name: z.string().regex(JOB_NAME, 'job names use letters, digits, ".", "_" and "-"').optional(),
  description: z.string().optional(),
  connection: z.string().min(1),
  schedule: z.string().optional(),
  /** @default "UTC" */
  timezone: z.string().default('UTC'),
  params: z.record(z.string(), templateValue).default({}),
  grid: gridSchema.optional(),
  scalar: scalarSchema.optional(),
  /** @default [{ stdout: { format: ndjson } }] */
  output: z.array(outputSchema).min(1).default([{ stdout: { format: 'ndjson' } }]),
  /** @default 3 */
  attempts: number(1).default(3),
  /** Whole run. @default 10m */
  timeout: duration().default(600_000),
});

export type ConnectionSpec = z.output<typeof connectionSchema>;
export type JobFileSpec = z.output<typeof jobFileSchema>;
export type GridSpec = z.output<typeof gridSchema>;
export type ScalarSpec = z.output<typeof scalarSchema>;
export type OutputSpec = z.output<typeof outputSchema>;
export type PaginateSpec = z.output<typeof paginateSchema>;
export type ForEachSpec = z.output<typeof forEachSchema>;
export type ResponseRuleSpec = z.output<typeof responseRuleSchema>;
