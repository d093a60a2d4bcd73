import * as z from 'zod';
import { MAX_TIMER_MS, parseDuration, TOO_LONG_FOR_A_TIMER } from './duration.js';

// A config is parsed once per process (and on a reload): zod's JIT, which compiles a parser per
// object schema on first use, costs more than it saves there (10–20 ms of a cold `restq validate`).
z.config({ jitless: true });

// Values that came through `${VAR}` interpolation are strings; accept "3128" and "true" where
// a number or boolean is expected, as a user who wrote `port: ${PROXY_PORT}` would expect.
const number = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    z.number().int().min(min).max(max),
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

/** A duration restq waits with a timer (a timeout, a retry delay): at most MAX_TIMER_MS. */
const timerDuration = () =>
  duration().refine((ms) => ms <= MAX_TIMER_MS, { message: TOO_LONG_FOR_A_TIMER });

const stringMap = () => z.record(z.string(), z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v), z.string()));

/** A JSONPath expression (checked for syntax by the loader, which knows where it stands). */
const jsonPath = () => z.string().min(1);

export const SECURITY_PROTOCOLS = ['Default', 'SSL3', 'TLS1.0', 'TLS1.1', 'TLS1.2', 'TLS1.3'] as const;

const tlsSchema = z.strictObject({
  /** PEM file with the CA certificate(s) to trust, relative to the config directory. */
  ca: z.string().optional().describe('PEM file with the CA certificate(s) to trust, relative to the config directory (e.g. a corporate CA).'),
  /** PEM client certificate for mutual TLS. */
  cert: z.string().optional().describe('PEM client certificate for mutual TLS, relative to the config directory.'),
  /** PEM private key of the client certificate. */
  key: z.string().optional().describe('PEM private key of the client certificate, relative to the config directory.'),
  /** @default true */
  rejectUnauthorized: boolean().default(true).describe('Check the server certificate against the trusted CAs; false accepts any certificate (for tests only). Default true.'),
});

const refreshSchema = z.strictObject({
  refreshToken: z.string().optional().describe('OAuth2 refresh token that seeds the token store (a secret: use ${VAR}). A rotated token replaces it in the store; the YAML value is used again only when it changes.'),
  endpoint: z.url({ error: 'must be an absolute http(s) URL, e.g. https://auth.example.com/token' }).describe('Token endpoint (absolute http(s) URL): restq POSTs grant_type=refresh_token (or client_credentials) here. Required in refresh.'),
  params: z.union([z.string(), stringMap()]).optional().describe('Extra query parameters of the token request: a query string ("scope=read&audience=api") or a map.'),
  /** @default "$.access_token" */
  accessTokenPath: jsonPath().default('$.access_token').describe('JSONPath of the access token in the token response. Default $.access_token.'),
  /** @default "$.expires_in" */
  expiresInPath: jsonPath().default('$.expires_in').describe('JSONPath of the token lifetime in seconds; without it the JWT exp claim is used, else the token is refreshed on a 401 only. Default $.expires_in.'),
  /** @default "$.refresh_token" */
  refreshTokenPath: jsonPath().default('$.refresh_token').describe('JSONPath of a rotated refresh token in the response; it replaces the stored one atomically. Default $.refresh_token.'),
  /** @default "body" */
  clientAuth: z.enum(['body', 'basic', 'none']).default('body').describe('How apiKey/apiSecret (client id and secret) reach the token endpoint: body (form fields), basic (HTTP Basic) or none. Default body.'),
  /** Send the token request through the connection's proxy. @default true */
  proxy: boolean().default(true).describe('Send the token request through the connection\'s proxy. Default true.'),
  /** Per token request. @default 30s */
  timeout: timerDuration().default(30_000).describe('Timeout of one token request, e.g. 30s. Default 30s.'),
});

/** `grant: authorization_code`: where `restq token CONNECTION --authorize` sends the user (SPEC 12). */
const authorizeSchema = z.strictObject({
  /** The provider's authorization endpoint. */
  url: z.url({ error: 'must be an absolute http(s) URL, e.g. https://auth.example.com/authorize' }).describe('The provider\'s authorization endpoint, e.g. https://auth.example.com/authorize. Required.'),
  /** Space-separated scopes; include the one that gives a refresh token (e.g. offline_access). */
  scope: z.string().optional().describe('Space-separated scopes to ask for, e.g. "openid offline_access orders.read" (offline_access or the provider\'s equivalent gives a refresh token).'),
  /** Loopback redirect http://127.0.0.1:<redirectPort>/callback (RFC 8252): register exactly this URI. @default 8765 */
  redirectPort: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v), z.number().int().min(1).max(65535)).default(8765).describe('Port of the loopback redirect http://127.0.0.1:PORT/callback (register that URI at the provider). Default 8765.'),
  /** Extra authorization request parameters (e.g. access_type: offline, prompt: consent). */
  params: stringMap().default({}).describe('Extra authorization request parameters, e.g. { access_type: offline, prompt: consent } for Google.'),
});

export const JWT_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'HS256'] as const;

/** `grant: jwt_bearer` (RFC 7523): the assertion restq signs for each token request (SPEC 12). */
const jwtSchema = z.strictObject({
  /** PEM private key (PKCS#8, PKCS#1 or SEC1), inline or a file path relative to the config directory; not used by HS256. */
  privateKey: z.string().min(1).optional().describe('PEM private key (PKCS#8 or PKCS#1), inline or a file path; a secret. Not used by HS256 (apiSecret signs).'),
  /** @default "RS256" */
  algorithm: z.enum(JWT_ALGORITHMS).default('RS256').describe('Signature algorithm: RS256, ES256, PS256 or HS256 (apiSecret as key). Default RS256.'),
  /** `iss` claim. @default apiKey */
  issuer: z.string().min(1).optional().describe('iss claim. Default: apiKey.'),
  /** `sub` claim. @default the issuer */
  subject: z.string().min(1).optional().describe('sub claim, e.g. the service account. Default: the issuer.'),
  /** `aud` claim. @default refresh.endpoint */
  audience: z.string().min(1).optional().describe('aud claim. Default: refresh.endpoint (the token endpoint).'),
  /** `exp` = `iat` + lifetime. @default 5m */
  lifetime: duration().default(300_000).describe('Assertion lifetime (exp = iat + lifetime), e.g. 5m. Default 5m.'),
  /** Extra claims (e.g. scope). */
  claims: z.record(z.string(), z.unknown()).default({}).describe('Extra claims added to the assertion, e.g. { scope: read }.'),
  /** `kid` header. */
  keyId: z.string().min(1).optional().describe('kid header of the assertion, when the provider knows several keys.'),
});

const proxySchema = z.strictObject({
  host: z.string().min(1).describe('Proxy host name or IP address. Required in proxy.'),
  port: number(1, 65_535).describe('Proxy port, 1-65535, e.g. 3128. Required in proxy.'),
  /** `http` (default) or `https` for a TLS connection to the proxy itself. */
  protocol: z.enum(['http', 'https']).default('http').describe('http (default), or https for a TLS connection to the proxy itself.'),
  domain: z.string().optional().describe('Windows domain: set it for NTLM proxy authentication (challenge/response); without it username/password use Basic.'),
  /** Workstation name sent in NTLM messages. */
  workstation: z.string().optional().describe('Workstation name sent in NTLM messages.'),
  username: z.string().optional().describe('Proxy user name (Basic, or NTLM with domain).'),
  password: z.string().optional().describe('Proxy password (a secret: use ${VAR}).'),
});

export const RESPONSE_ACTIONS = ['refresh', 'retry', 'fail', 'skip'] as const;

const responseRuleSchema = z.strictObject({
  /** Status (or statuses) the rule applies to. @default any status */
  status: z.union([number(100), z.array(number(100)).min(1)]).optional().describe('Status (or list of statuses) the rule applies to. Default: any status.'),
  /** JSONPath into the JSON body that the condition tests. */
  path: jsonPath().optional().describe('JSONPath into the JSON body that equals/matches/exists test.'),
  /** The value at `path` equals this. */
  equals: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional().describe('The rule matches when the value at path equals this.'),
  /** The value at `path` matches this regular expression; a leading (?i) ignores case. */
  matches: z.string().optional().describe('The rule matches when the value at path matches this regular expression; a leading (?i) ignores case.'),
  /** The body has (true) or lacks (false) a value at `path`. */
  exists: boolean().optional().describe('The rule matches when the body has (true) or lacks (false) a value at path.'),
  /** refresh: like a 401 (one token refresh, one retry); retry: like a 503; fail: fail the run; skip: drop the response. */
  action: z.enum(RESPONSE_ACTIONS).describe('refresh: like a 401 (one token refresh, one retry); retry: like a 503 (backoff); fail: fail the run with message; skip: drop the response (in forEach children: that parent).'),
  /** JSONPath to the message for the run error (or a literal text). */
  message: z.string().min(1).optional().describe('For fail: JSONPath to the error message in the body, or a literal text.'),
});

export const connectionSchema = z.strictObject({
  baseUrl: z.url({ error: 'must be an absolute http(s) URL, e.g. https://api.example.com/v2' }).describe('Absolute http(s) URL that job paths are relative to, e.g. https://api.example.com/v2. Required.'),
  accessToken: z.string().optional().describe('Static access token (a secret: use ${VAR}); optional when refresh is set, where it seeds the token store.'),
  /** @default true */
  bearer: boolean().default(true).describe('true sends "Authorization: Bearer <token>", false sends "Authorization: <token>". Default true.'),
  apiKey: z.string().optional().describe('OAuth2 client id, sent to the token endpoint as clientAuth says (and on every request with apiKeyHeader).'),
  apiSecret: z.string().optional().describe('OAuth2 client secret (a secret: use ${VAR}), sent to the token endpoint as clientAuth says.'),
  /** Also send apiKey in this header on every API request. */
  apiKeyHeader: z.string().optional().describe('Also send apiKey in this header on every API request, e.g. X-API-Key.'),
  /** @default "Default" */
  securityProtocol: z.enum(SECURITY_PROTOCOLS).default('Default').describe('Pins the TLS version (min = max). Default lets Node negotiate TLS 1.2+; TLS1.0/TLS1.1 reach legacy servers (warned once); SSL3 is rejected by validate.'),
  tls: tlsSchema.optional().describe('TLS settings: trusted CA, client certificate for mutual TLS, certificate checking.'),
  refresh: refreshSchema.optional().describe('OAuth2 token endpoint: how restq gets and refreshes access tokens (one refresh per expiry across all workers).'),
  /** @default "refresh_token" when `refresh` is set */
  grant: z.enum(['refresh_token', 'client_credentials', 'authorization_code', 'jwt_bearer']).optional().describe('OAuth2 grant: refresh_token (the default when refresh is set), client_credentials (a token for apiKey/apiSecret), authorization_code (refresh token bootstrapped by `restq token --authorize`) or jwt_bearer (a signed assertion buys each token, RFC 7523).'),
  authorize: authorizeSchema.optional().describe('Authorization endpoint, scope, loopback redirect port and extra parameters for grant: authorization_code (restq token CONNECTION --authorize).'),
  jwt: jwtSchema.optional().describe('Assertion settings for grant: jwt_bearer: private key, algorithm, issuer, subject, audience, lifetime, extra claims, key id.'),
  headers: stringMap().default({}).describe('Headers added to every request of this connection (job headers may add or override them).'),
  proxy: proxySchema.optional().describe('HTTP proxy: CONNECT for https, forward proxy for http; Basic or NTLM authentication.'),
  /** Per request. @default 30s */
  timeout: timerDuration().default(30_000).describe('Timeout of one API request (e.g. 30s, 2m). Default 30s.'),
  retry: z
    .strictObject({
      /** Tries in all, including the first. @default 4 */
      attempts: number(1).default(4).describe('Tries in all, including the first. Default 4.'),
      /** @default 30s */
      maxDelay: timerDuration().default(30_000).describe('Longest wait between tries. Default 30s.'),
      /** @default 500ms */
      baseDelay: timerDuration().default(500).describe('First wait; it doubles per try (with jitter) unless Retry-After says otherwise. Default 500ms.'),
    })
    .default({ attempts: 4, maxDelay: 30_000, baseDelay: 500 }).describe('Retries of 429, 5xx and network errors with exponential backoff, honouring Retry-After.'),
  rateLimit: z.strictObject({ requests: number(1).describe('Requests allowed per period. Required.'), per: duration().describe('The period, e.g. 1s or 1m. Required.') }).optional().describe('At most `requests` requests `per` period (e.g. { requests: 10, per: 1s }), across all workers.'),
  /** Rules for APIs that signal trouble in a 2xx body or with an odd status; the first match wins. */
  responses: z.array(responseRuleSchema).default([]).describe('Rules for APIs that signal trouble in a 2xx body or with an odd status: status/path/equals/matches/exists pick a response, action says what to do. The first match wins.'),
  /** `restq check`: the path of its GET. @default the baseUrl itself */
  check: z.strictObject({ path: z.string().min(1).describe('Path (relative to baseUrl) of the GET that restq check sends. Required in check.') }).optional().describe('Settings of `restq check CONNECTION`. Default: a GET of the baseUrl itself.'),
});

export const connectionsFileSchema = z.strictObject({
  connections: z.record(z.string(), connectionSchema).describe('The connections by name; jobs refer to them with connection: NAME.'),
});

const templateValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const requestShape = {
  /** @default "GET" */
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET').describe('HTTP method: GET, POST, PUT, PATCH or DELETE. Default GET.'),
  path: z.string().min(1).describe('Path relative to the connection\'s baseUrl, or an absolute URL; {{templates}} allowed. Required.'),
  query: z.record(z.string(), templateValue).default({}).describe('Query parameters; values may use {{params.x}}, {{date}}, {{lastSuccessAt}}… A parameter that renders empty is left out.'),
  headers: stringMap().default({}).describe('Headers of this job\'s requests, added to (or overriding) the connection\'s headers.'),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown()), z.null()]).default(null).describe('Request body: an object or array sent as JSON, or a string sent as is. Default none.'),
};

const paginateSchema = z.strictObject({
  nextUrl: jsonPath().optional().describe('Follow the next-page URL found at this JSONPath (relative URLs resolve against the current request) until it is empty.'),
  cursor: z.strictObject({ path: jsonPath().describe('JSONPath of the next cursor in the response. Required.'), param: z.string().min(1).describe('Query parameter that carries the cursor. Required.') }).optional().describe('Cursor paging: read the next cursor at path, send it as query parameter param; stops on null, empty or a repeat.'),
  offset: z
    .strictObject({
      param: z.string().min(1).describe('Query parameter of the offset. Required.'),
      limitParam: z.string().min(1).optional().describe('Query parameter that carries limit, if the API takes one.'),
      limit: number(1).describe('Rows per page. Required.'),
    })
    .optional().describe('Offset paging: send param (and limitParam = limit); stops on a page shorter than limit.'),
  page: z.strictObject({ param: z.string().min(1).describe('Query parameter of the page number. Required.'), start: number(0).default(1).describe('Number of the first page. Default 1.') }).optional().describe('Page numbers in query parameter param, from start (default 1); stops on an empty page.'),
  linkHeader: boolean().optional().describe('Follow the RFC 8288 Link header\'s rel="next".'),
  /** @default 10000 */
  maxPages: number(1).default(10_000).describe('Fail the run after this many pages (a guard against endless paging). Default 10000.'),
  /** Pages in flight at once (page and offset strategies only). @default 1 */
  concurrency: number(1).default(1).describe('Pages in flight at once (page and offset strategies only); output order stays page order. Default 1.'),
  /** JSONPath to the page count (page) or row count (offset) in the first response: paging stops there (under grid.paginate the progress line also shows pages N/TOTAL and an ETA); without it parallel paging fetches ahead and drops pages past the end. */
  total: jsonPath().optional().describe('JSONPath of the page count (page) or row count (offset) in the first response: paging stops there (under grid.paginate the progress line also shows pages N/TOTAL and an ETA); without it parallel paging fetches ahead and drops pages past the end.'),
  /** JSONPath read on every page (e.g. $.has_more): pagination stops when it is false or absent. */
  stopWhen: jsonPath().optional().describe('JSONPath read on every page (e.g. $.has_more): paging stops when it is false or absent.'),
});

/** `grid.forEach`: the parent request; each of its rows drives one child request sequence (the grid). */
const forEachSchema = z.strictObject({
  ...requestShape,
  rows: jsonPath().describe('JSONPath selecting the parent rows, e.g. $.data[*]. Required.'),
  paginate: paginateSchema.optional().describe('How to fetch further pages of the parent request.'),
  /** Name of the parent row in templates: {{parent.id}}. @default "parent" */
  as: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'use letters, digits and "_" (a template name such as customer)').default('parent').describe('Name of the parent row in templates, e.g. customer for {{customer.id}}. Default parent.'),
  /** Child request sequences in flight at once; output order stays parent order. @default 1 */
  concurrency: number(1).default(1).describe('Child request sequences in flight at once; output order stays parent order. Default 1.'),
  /** Child response statuses that skip that parent (counted in the run summary). @default [] */
  skipOn: z.array(number(100)).default([]).describe('Child response statuses that skip that parent (counted in the run summary), e.g. [404]. Default none.'),
});

export const gridSchema = z.strictObject({
  ...requestShape,
  rows: jsonPath().describe('JSONPath selecting the row objects, e.g. $.data[*]. Required.'),
  /** Column name → JSONPath into the row, or a template starting with {{ (e.g. "{{customer.id}}"). */
  columns: z.record(z.string(), z.string().min(1)).optional().describe('Output column → JSONPath relative to the row, or a template starting with {{ (e.g. "{{customer.id}}"). Without it each row is flattened (customer.name).'),
  paginate: paginateSchema.optional().describe('How to fetch further pages: one of nextUrl, cursor, offset, page, linkHeader.'),
  forEach: forEachSchema.optional().describe('A parent request: for each of its rows, the grid request runs once with the parent row in its templates.'),
});

export const scalarSchema = z.strictObject({
  ...requestShape,
  value: jsonPath().describe('JSONPath of the single value, e.g. $.count. Required.'),
  /** @default "value" */
  column: z.string().min(1).default('value').describe('Name of the output column. Default value.'),
});

const csvSinkSchema = z.union([
  z.string().min(1).describe('Output file path, relative to the config directory; {job}, {date}, {time}, {runId} are replaced.'),
  z.strictObject({
    path: z.string().min(1).describe('Output file path, relative to the config directory; {job}, {date}, {time}, {runId} are replaced. Required.'),
    /** @default "," */
    delimiter: z.string().min(1).default(',').describe('Field delimiter. Default ",".'),
    /** @default true */
    header: boolean().default(true).describe('Write a header line. Default true.'),
    /** @default false */
    bom: boolean().default(false).describe('Start the file with a UTF-8 byte order mark (for Excel). Default false.'),
    /** @default false */
    append: boolean().default(false).describe('Append each run\'s rows to the file (atomically per run; the header once). Default false.'),
  }),
]);

const webhookSinkSchema = z.strictObject({
  url: z.url({ error: 'must be an absolute http(s) URL' }).describe('Receiver URL: restq POSTs {job, runId, batch, last, rows} batches here. Required.'),
  /** @default 500 */
  batchSize: number(1).default(500).describe('Rows per POST. Default 500.'),
  secret: z.string().optional().describe('HMAC key (a secret: use ${VAR}): each POST carries X-Restq-Signature: sha256=<hex HMAC-SHA256 of the body>.'),
  headers: stringMap().default({}).describe('Extra headers of each POST.'),
  /** @default "json" */
  format: z.enum(['json', 'ndjson']).default('json').describe('json: one object per batch; ndjson: one row per line. Default json.'),
  /** @default 30s */
  timeout: timerDuration().default(30_000).describe('Timeout of one POST. Default 30s.'),
  retry: z
    .strictObject({
      attempts: number(1, 100).default(5).describe('Tries of one batch in all, including the first. Default 5.'),
      maxDelay: timerDuration().default(30_000).describe('Longest wait between two tries of a batch (Retry-After is honoured up to it). Default 30s.'),
    })
    .default({ attempts: 5, maxDelay: 30_000 })
    .describe('Retries of a batch on 5xx, 429 and network errors: { attempts, maxDelay }. Default { attempts: 5, maxDelay: 30s }.'),
});

const stdoutSinkSchema = z
  .union([z.null(), z.strictObject({ format: z.enum(['ndjson', 'csv', 'json']).default('ndjson').describe('ndjson (one JSON row per line), csv or json (one array). Default ndjson.') })])
  .transform((v) => v ?? { format: 'ndjson' as const });

export const outputSchema = z.strictObject({
  csv: csvSinkSchema.optional().describe('Write the rows to a CSV file (RFC 4180), atomically: a failed run never leaves a partial file. A path, or { path, delimiter, header, bom, append }.'),
  webhook: webhookSinkSchema.optional().describe('POST the rows in JSON batches to a URL, with Idempotency-Key and an optional HMAC signature; 5xx/429/network errors are retried.'),
  stdout: stdoutSinkSchema.optional().describe('Print the rows on stdout (a scalar prints the bare value): null or { format }.'),
});

export const CURSOR_TYPES = ['datetime', 'number', 'string'] as const;

/** `incremental:` (SPEC 8): where the last good run stopped, and the next run's window. */
export const incrementalSchema = z.strictObject({
  /** JSONPath relative to each row (before `columns`) giving its cursor value, e.g. $.updated_at. */
  cursor: jsonPath().describe('JSONPath relative to each row (before columns) giving its cursor value, e.g. $.updated_at.'),
  /** How cursor values compare. @default "datetime" */
  type: z.enum(CURSOR_TYPES).default('datetime').describe('How cursor values compare: datetime (ISO 8601, epoch s or ms, as instants), number or string. Default datetime.'),
  /** The first run's window start: an ISO 8601 time (datetime) or a value of the cursor's type. */
  start: z.union([z.string().min(1), z.number()]).describe('The first run\'s window start: an ISO 8601 time (datetime) or a value of the cursor\'s type. Required.'),
  /** The next window starts this much before the stored cursor (datetime cursors only). @default 0 */
  lookback: duration().optional().describe('The next window starts this much before the stored cursor (datetime only), e.g. 10m.'),
  /** Drop rows whose cursor lies outside [window.start, window.end). @default false */
  filter: boolean().default(false).describe('Drop rows whose cursor lies outside [window.start, window.end). Default false.'),
  /** Split a run's window into requests of this size; also `restq backfill`'s default window (datetime only). */
  slice: duration().optional().describe('Split a run\'s window into requests of this size; also restq backfill\'s default window (datetime only), e.g. 1d.'),
});

/** Job names travel in shell commands, file paths and queue job names. */
export const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const jobFileSchema = z.strictObject({
  name: z.string().regex(JOB_NAME, 'job names use letters, digits, ".", "_" and "-"').optional().describe('Job name (letters, digits, ".", "_", "-"). Default: the file name without .yaml.'),
  description: z.string().optional().describe('Free text shown by status and the dashboard.'),
  connection: z.string().min(1).describe('Name of the connection in connections.yaml. Required.'),
  schedule: z.string().optional().describe('Cron expression (5 fields, or 6 with seconds), e.g. "*/15 * * * *". None: on demand only.'),
  /** @default "UTC" */
  timezone: z.string().default('UTC').describe('IANA time zone of the schedule, e.g. Europe/Berlin. Default UTC.'),
  params: z.record(z.string(), templateValue).default({}).describe('Defaults of the run-time parameters ({{params.NAME}}); --param and enqueue-time params override them.'),
  grid: gridSchema.optional().describe('A request whose response holds rows (with paging). Exactly one of grid and scalar.'),
  scalar: scalarSchema.optional().describe('A request whose response holds one value, output as one row. Exactly one of grid and scalar.'),
  /** @default [{ stdout: { format: ndjson } }] */
  output: z.array(outputSchema).min(1).default([{ stdout: { format: 'ndjson' } }]).describe('One or more sinks; all receive the same rows. Default: stdout as ndjson.'),
  /** @default 3 */
  attempts: number(1).default(3).describe('Tries of the whole run in the queue (exponential backoff). Default 3.'),
  /** Whole run. @default 10m */
  timeout: timerDuration().default(600_000).describe('Time limit of the whole run, e.g. 10m; a run may overrun it by 1 % (at most 1 s), never stops early. Default 10m.'),
  misfire: z.enum(['once', 'skip']).default('once').describe('Ticks missed while nothing ran: one catch-up run (once, default) or a skipped history record with E_MISFIRE (skip).'),
  incremental: incrementalSchema.optional().describe('Incremental extract: a cursor read from each row, the window templates {{window.start}}/{{window.end}}/{{cursor}}, lookback, filter and slice (docs/incremental.md).'),
});

export type ConnectionSpec = z.output<typeof connectionSchema>;
export type JobFileSpec = z.output<typeof jobFileSchema>;
export type GridSpec = z.output<typeof gridSchema>;
export type ScalarSpec = z.output<typeof scalarSchema>;
export type OutputSpec = z.output<typeof outputSchema>;
export type PaginateSpec = z.output<typeof paginateSchema>;
export type IncrementalSpec = z.output<typeof incrementalSchema>;
export type ForEachSpec = z.output<typeof forEachSchema>;
export type ResponseRuleSpec = z.output<typeof responseRuleSchema>;
