import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { CronExpressionParser } from 'cron-parser';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors/config-error.js';
import { checkJsonPath } from '../query/jsonpath.js';
import { checkTemplateName, templateNames } from '../query/template.js';
import { didYouMean } from './did-you-mean.js';
import { interpolate } from './interpolate.js';
import { Redactor } from './redactor.js';
import { connectionsFileSchema, jobFileSchema, type JobFileSpec } from './schema.js';
import type { Config, Connection, Job, SinkSpec } from './types.js';
import { locate } from './yaml-positions.js';
import { knownKeysAt } from './known-keys.js';

export interface LoadOptions {
  /** Config directory. @default process.cwd() */
  dir?: string;
  /** Environment for `${VAR}`; `.env` beside connections.yaml fills what it lacks. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

interface ParsedFile {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
}

const FLOW_HINT =
  'inside { … } or [ … ] the characters [ ] { } , must be quoted: write rows: "$.data[*]" and csv: "out/{job}.csv"';

/** Reads connections.yaml and jobs/*.yaml, checks everything, and returns a frozen Config or throws ConfigError with every problem found. */
export function loadConfig(options: LoadOptions = {}): Config {
  const dir = path.resolve(options.dir ?? process.cwd());
  const issues: ConfigIssue[] = [];
  const env = withDotEnv(dir, options.env ?? process.env, issues);

  const connectionsFile = path.join(dir, 'connections.yaml');
  if (!existsSync(connectionsFile)) {
    throw new ConfigError([
      {
        file: connectionsFile,
        message: `not found: restq looks for connections.yaml and jobs/*.yaml in ${dir}; pass --config DIR or set RESTQ_CONFIG_DIR`,
      },
    ]);
  }

  const redactor = new Redactor();
  const warnings: string[] = [];
  const connections: Record<string, Connection> = {};
  const connFile = parseYamlFile(dir, 'connections.yaml', env, issues);
  if (connFile) {
    const result = connectionsFileSchema.safeParse(connFile.data ?? {});
    if (!result.success) addSchemaIssues(connFile, result.error, connectionsFileSchema, issues);
    else {
      for (const [name, spec] of Object.entries(result.data.connections)) {
        const at = (key?: string, sub: PropertyKey[] = []) => ({
          file: connFile.file,
          ...locate(connFile.doc, connFile.lines, ['connections', name, ...sub], key),
        });
        const connection: Connection = { ...spec, name, source: connFile.file };
        if (spec.tls) {
          connection.tls = {
            ...spec.tls,
            ...(spec.tls.ca ? { ca: path.resolve(dir, spec.tls.ca) } : {}),
            ...(spec.tls.cert ? { cert: path.resolve(dir, spec.tls.cert) } : {}),
            ...(spec.tls.key ? { key: path.resolve(dir, spec.tls.key) } : {}),
          };
          for (const key of ['ca', 'cert', 'key'] as const) {
            const file = connection.tls[key];
            if (file && !existsSync(file)) issues.push({ ...at(key, ['tls']), message: `tls.${key}: file not found: ${file}` });
          }
          if ((spec.tls.cert === undefined) !== (spec.tls.key === undefined)) {
            issues.push({ ...at(undefined, ['tls']), message: 'tls.cert and tls.key go together: set both for a client certificate, or neither' });
          }
        }
        checkConnection(connection, at, issues, warnings);
        for (const secret of [spec.accessToken, spec.apiKey, spec.apiSecret, spec.refresh?.refreshToken, spec.proxy?.password]) {
          redactor.add(secret);
        }
        connections[name] = connection;
      }
    }
  }

  const jobs: Record<string, Job> = {};
  const jobSources = new Map<string, string>();
  const jobsDir = path.join(dir, 'jobs');
  const jobFiles = existsSync(jobsDir)
    ? readdirSync(jobsDir).filter((f) => /\.ya?ml$/.test(f)).sort()
    : [];
  for (const fileName of jobFiles) {
    const parsed = parseYamlFile(dir, path.join('jobs', fileName), env, issues);
    if (!parsed) continue;
    const result = jobFileSchema.safeParse(parsed.data ?? {});
    if (!result.success) {
      addSchemaIssues(parsed, result.error, jobFileSchema, issues);
      continue;
    }
    const spec = result.data;
    const name = spec.name ?? fileName.replace(/\.ya?ml$/, '');
    const at = (sub: PropertyKey[], key?: string) => ({ file: parsed.file, ...locate(parsed.doc, parsed.lines, sub, key) });
    const before = jobSources.get(name);
    if (before) {
      issues.push({ ...at(spec.name ? ['name'] : []), message: `duplicate job name "${name}": already defined in ${before}; give one of them another name:` });
      continue;
    }
    jobSources.set(name, parsed.file);
    const job = checkJob(name, parsed.file, spec, connFile ? connections : undefined, at, issues);
    if (job) {
      for (const sink of job.outputs) if (sink.type === 'webhook') redactor.add(sink.secret);
      jobs[name] = job;
    }
  }

  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze({ dir, connections, jobs, redactor, warnings });
}

function withDotEnv(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  issues: ConfigIssue[],
): Record<string, string | undefined> {
  const file = path.join(dir, '.env');
  if (!existsSync(file)) return { ...env };
  try {
    // The real environment wins over .env, as with dotenv and docker compose.
    return { ...parseEnv(readFileSync(file, 'utf8')), ...env };
  } catch (error) {
    issues.push({ file, message: `cannot read .env: ${(error as Error).message}` });
    return { ...env };
  }
}

function parseYamlFile(
  dir: string,
  relative: string,
  env: Readonly<Record<string, string | undefined>>,
  issues: ConfigIssue[],
): ParsedFile | undefined {
  const file = relative;
  const source = readFileSync(path.join(dir, relative), 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Later YAML errors are usually echoes of the first one.
    const first = doc.errors[0]!;
    const pos = first.linePos?.[0];
    const lineText = pos ? (source.split('\n')[pos.line - 1] ?? '') : '';
    const hint = /[{[]/.test(lineText) && /[{}[\],]/.test(lineText) ? `; ${FLOW_HINT}` : '';
    const message = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    issues.push({ file, line: pos?.line, col: pos?.col, message: `YAML syntax error: ${message}${hint}` });
    return undefined;
  }
  let ok = true;
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const { value, missing } = interpolate(node.value, env);
      for (const name of missing) {
        const pos = node.range ? lines.linePos(node.range[0]) : undefined;
        issues.push({
          file,
          line: pos?.line,
          col: pos?.col,
          message: `environment variable ${name} is not set: export it, add it to .env beside connections.yaml, or write \${${name}:-default}`,
        });
        ok = false;
      }
      node.value = value;
    },
  });
  return ok ? { file, doc, lines, data: doc.toJS({ maxAliasCount: 100 }) as unknown } : undefined;
}

function describePath(pathParts: readonly PropertyKey[]): string {
  return pathParts
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

function addSchemaIssues(parsed: ParsedFile, error: z.ZodError, schema: z.ZodType, issues: ConfigIssue[]): void {
  for (const issue of error.issues) {
    const where = describePath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const hint = didYouMean(key, known);
        const pos = locate(parsed.doc, parsed.lines, issue.path, key);
        issues.push({
          file: parsed.file,
          ...pos,
          message: `unknown key "${key}"${where ? ` in ${where}` : ''}${hint ? `: did you mean "${hint}"?` : known.length ? `: expected one of ${known.join(', ')}` : ''}`,
        });
      }
      continue;
    }
    const pos = locate(parsed.doc, parsed.lines, issue.path);
    const received = (issue as { input?: unknown }).input;
    let message = issue.message;
    if (issue.code === 'invalid_type' && received === undefined) message = 'is required';
    else if (issue.code === 'invalid_value' && 'values' in issue) {
      message = `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${received === undefined ? '' : `, got ${JSON.stringify(received)}`}`;
    } else if (issue.code === 'invalid_type') {
      message = `must be ${issue.expected === 'record' || issue.expected === 'object' ? 'a mapping (key: value)' : `a ${issue.expected}`}, got ${describeValue(received)}`;
    } else if (issue.code === 'invalid_union') message = `has an invalid value ${describeValue(received)}`;
    issues.push({ file: parsed.file, ...pos, message: `${where || '(file)'} ${message}` });
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function checkConnection(
  connection: Connection,
  at: (key?: string, sub?: PropertyKey[]) => Omit<ConfigIssue, 'message'>,
  issues: ConfigIssue[],
  warnings: string[],
): void {
  const name = connection.name;
  if (connection.securityProtocol === 'SSL3') {
    issues.push({
      ...at('securityProtocol'),
      message: `connection "${name}": securityProtocol SSL3 cannot be used: SSL 3.0 is broken (POODLE) and Node's TLS cannot speak it; use Default, or TLS1.2 to pin a version`,
    });
  }
  if (connection.securityProtocol === 'TLS1.0' || connection.securityProtocol === 'TLS1.1') {
    warnings.push(`connection "${name}" pins ${connection.securityProtocol}, a deprecated protocol: the OpenSSL security level is lowered for this connection only`);
  }
  for (const key of ['accessTokenPath', 'expiresInPath', 'refreshTokenPath'] as const) {
    const expr = connection.refresh?.[key];
    const problem = expr === undefined ? undefined : checkJsonPath(expr);
    if (problem) issues.push({ ...at(key, ['refresh']), message: `refresh.${key} "${expr}" is not a valid JSONPath: ${problem}` });
  }
  if (connection.grant === 'client_credentials') {
    if (!connection.refresh) issues.push({ ...at('grant'), message: `connection "${name}": grant client_credentials needs refresh.endpoint (the token URL)` });
    if (!connection.apiKey || !connection.apiSecret) {
      issues.push({ ...at('grant'), message: `connection "${name}": grant client_credentials needs apiKey (client id) and apiSecret (client secret)` });
    }
  } else if (connection.refresh && !connection.refresh.refreshToken && !connection.accessToken) {
    issues.push({
      ...at(undefined, ['refresh']),
      message: `connection "${name}": refresh needs refresh.refreshToken (or set grant: client_credentials)`,
    });
  }
  if (connection.proxy?.domain && (!connection.proxy.username || connection.proxy.password === undefined)) {
    issues.push({ ...at('domain', ['proxy']), message: `connection "${name}": NTLM proxy auth (proxy.domain) needs proxy.username and proxy.password` });
  }
  if (connection.proxy && (connection.proxy.username === undefined) !== (connection.proxy.password === undefined)) {
    issues.push({ ...at(undefined, ['proxy']), message: `connection "${name}": proxy.username and proxy.password go together` });
  }
  if (connection.apiKeyHeader && !connection.apiKey) {
    issues.push({ ...at('apiKeyHeader'), message: `connection "${name}": apiKeyHeader is set but apiKey is not` });
  }
  if (!/^https?:$/.test(new URL(connection.baseUrl).protocol)) {
    issues.push({ ...at('baseUrl'), message: `connection "${name}": baseUrl must use http or https` });
  }
}

function checkJob(
  name: string,
  file: string,
  spec: JobFileSpec,
  connections: Readonly<Record<string, Connection>> | undefined,
  at: (sub: PropertyKey[], key?: string) => Omit<ConfigIssue, 'message'>,
  issues: ConfigIssue[],
): Job | undefined {
  const before = issues.length;
  if (connections && !Object.hasOwn(connections, spec.connection)) {
    const hint = didYouMean(spec.connection, Object.keys(connections));
    issues.push({
      ...at(['connection']),
      message: `job "${name}": connection "${spec.connection}" is not defined in connections.yaml${hint ? `: did you mean "${hint}"?` : `; defined: ${Object.keys(connections).join(', ') || '(none)'}`}`,
    });
  }
  if (spec.grid && spec.scalar) issues.push({ ...at(['scalar']), message: `job "${name}": has both grid and scalar; keep exactly one` });
  if (!spec.grid && !spec.scalar) issues.push({ ...at([]), message: `job "${name}": needs a grid or a scalar query (exactly one)` });

  let timezoneOk = true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: spec.timezone });
  } catch {
    timezoneOk = false;
    issues.push({ ...at(['timezone']), message: `job "${name}": unknown timezone "${spec.timezone}": use an IANA name such as UTC or Europe/Berlin` });
  }
  if (spec.schedule !== undefined) {
    const fields = spec.schedule.trim().split(/\s+/).length;
    try {
      if (fields !== 5 && fields !== 6) throw new Error(`has ${fields} fields`);
      CronExpressionParser.parse(spec.schedule, timezoneOk ? { tz: spec.timezone } : {});
    } catch (error) {
      issues.push({
        ...at(['schedule']),
        message: `job "${name}": invalid cron schedule "${spec.schedule}" (${(error as Error).message}): use 5 fields (minute hour day month weekday) or 6 with seconds first, e.g. "*/15 * * * *"`,
      });
    }
  }

  const query = spec.grid ?? spec.scalar;
  const section = spec.grid ? 'grid' : 'scalar';
  const paths: [PropertyKey[], string][] = [];
  if (spec.grid) {
    paths.push([['grid', 'rows'], spec.grid.rows]);
    for (const [column, expr] of Object.entries(spec.grid.columns ?? {})) paths.push([['grid', 'columns', column], expr]);
    const paginate = spec.grid.paginate;
    if (paginate) {
      if (paginate.nextUrl) paths.push([['grid', 'paginate', 'nextUrl'], paginate.nextUrl]);
      if (paginate.cursor) paths.push([['grid', 'paginate', 'cursor', 'path'], paginate.cursor.path]);
      const strategies = (['nextUrl', 'cursor', 'offset', 'page', 'linkHeader'] as const).filter((k) => paginate[k] !== undefined && paginate[k] !== false);
      if (strategies.length !== 1) {
        issues.push({
          ...at(['grid', 'paginate']),
          message: `job "${name}": paginate needs exactly one of nextUrl, cursor, offset, page, linkHeader${strategies.length ? ` (found ${strategies.join(', ')})` : ''}`,
        });
      }
    }
  }
  if (spec.scalar) paths.push([['scalar', 'value'], spec.scalar.value]);
  for (const [where, expr] of paths) {
    const problem = checkJsonPath(expr);
    if (problem) issues.push({ ...at(where), message: `job "${name}": ${describePath(where)} "${expr}" is not a valid JSONPath: ${problem}` });
  }
  if (query) {
    const templated: [PropertyKey[], string][] = [[[section, 'path'], query.path]];
    for (const [k, v] of Object.entries(query.query)) if (typeof v === 'string') templated.push([[section, 'query', k], v]);
    for (const [k, v] of Object.entries(query.headers)) templated.push([[section, 'headers', k], v]);
    if (query.body !== null) templated.push([[section, 'body'], JSON.stringify(query.body)]);
    for (const [where, text] of templated) {
      for (const templateName of templateNames(text)) {
        const problem = checkTemplateName(templateName);
        if (problem) issues.push({ ...at(where), message: `job "${name}": ${describePath(where)}: ${problem}` });
      }
    }
  }

  const outputs: SinkSpec[] = [];
  spec.output.forEach((entry, index) => {
    const keys = (['csv', 'webhook', 'stdout'] as const).filter((k) => entry[k] !== undefined);
    if (keys.length !== 1) {
      issues.push({
        ...at(['output', index]),
        message: `job "${name}": output[${index}] needs exactly one of csv, webhook, stdout${keys.length ? ` (found ${keys.join(', ')}); make each its own list item` : ''}`,
      });
      return;
    }
    if (entry.csv !== undefined) {
      const csv = typeof entry.csv === 'string' ? { path: entry.csv, delimiter: ',', header: true, bom: false, append: false } : entry.csv;
      const unknown = [...csv.path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!).filter((n) => !['job', 'date', 'time', 'runId'].includes(n));
      if (unknown.length) {
        issues.push({ ...at(['output', index, 'csv']), message: `job "${name}": csv path "${csv.path}" uses unknown placeholder {${unknown[0]}}: use {job}, {date}, {time} or {runId}` });
      }
      outputs.push({ type: 'csv', ...csv });
    } else if (entry.webhook !== undefined) outputs.push({ type: 'webhook', ...entry.webhook });
    else if (entry.stdout !== undefined) outputs.push({ type: 'stdout', format: entry.stdout.format });
  });

  if (issues.length > before || !query) return undefined;
  const base = {
    name,
    file,
    description: spec.description,
    connection: spec.connection,
    schedule: spec.schedule,
    timezone: spec.timezone,
    params: spec.params,
    outputs,
    attempts: spec.attempts,
    timeout: spec.timeout,
  };
  return spec.grid ? { ...base, kind: 'grid', grid: spec.grid } : { ...base, kind: 'scalar', scalar: spec.scalar! };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Redactor)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
