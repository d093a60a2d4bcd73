import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, type ConfigIssue } from '../errors/config-error.js';
import { checkConnection } from './check-connection.js';
import { checkJob } from './check-job.js';
import { collectSecrets } from './collect-secrets.js';
import { parseYamlFile } from './parse-yaml-file.js';
import { asMap } from './raw.js';
import { Redactor } from './redactor.js';
import { connectionSchema, connectionsFileSchema, JOB_NAME, jobFileSchema, type ConnectionSpec, type JobFileSpec } from './schema.js';
import { schemaIssues } from './schema-issues.js';
import type { Config, Connection, Job, SinkSpec } from './types.js';
import { locate } from './yaml-positions.js';

export interface LoadOptions {
  /** Config directory. @default process.cwd() */
  dir?: string;
  /** Environment for `${VAR}` (settings.env); `.env` beside connections.yaml fills what it lacks. */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads connections.yaml and jobs/*.yaml, checks everything, and returns a frozen Config or
 * throws one ConfigError listing every problem found (as `file:line:col message`).
 */
export function loadConfig(options: LoadOptions): Config {
  const dir = path.resolve(options.dir ?? process.cwd());
  const issues: ConfigIssue[] = [];
  const env = withDotEnv(dir, options.env, issues);

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
  const parseOptions = { env, issues, onSecret: (value: string) => redactor.add(value) };
  const warnings: string[] = [];
  const connections: Record<string, Connection> = {};
  let connectionNames: Set<string> | undefined;
  const connFile = parseYamlFile(dir, 'connections.yaml', parseOptions);
  if (connFile) {
    collectSecrets(connFile.data, (s) => redactor.add(s));
    const result = connectionsFileSchema.safeParse(connFile.data ?? {}, { reportInput: true });
    if (!result.success) issues.push(...schemaIssues(connFile, result.error, connectionsFileSchema));
    const raw = asMap(asMap(connFile.data)?.['connections']);
    if (raw) connectionNames = new Set(Object.keys(raw));
    for (const [name, entry] of Object.entries(raw ?? {})) {
      const map = asMap(entry);
      if (!map) continue;
      const at = (sub: PropertyKey[], key?: string) => ({ file: connFile.file, ...locate(connFile.doc, connFile.lines, ['connections', name, ...sub], key) });
      checkConnection(name, map, dir, at, issues, warnings);
      const parsed = connectionSchema.safeParse(map);
      if (parsed.success) connections[name] = toConnection(name, parsed.data, connFile.file, dir);
    }
  }

  const jobs: Record<string, Job> = {};
  const jobSources = new Map<string, string>();
  const jobsDir = path.join(dir, 'jobs');
  const jobFiles = existsSync(jobsDir) ? readdirSync(jobsDir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
  for (const fileName of jobFiles) {
    const parsed = parseYamlFile(dir, path.join('jobs', fileName), parseOptions);
    if (!parsed) continue;
    collectSecrets(parsed.data, (s) => redactor.add(s));
    const raw = asMap(parsed.data);
    if (!raw) {
      issues.push({ file: parsed.file, ...locate(parsed.doc, parsed.lines, []), message: 'a job file must be a mapping with connection, grid or scalar, and output' });
      continue;
    }
    const before = issues.length;
    const result = jobFileSchema.safeParse(raw, { reportInput: true });
    if (!result.success) issues.push(...schemaIssues(parsed, result.error, jobFileSchema));
    const name = typeof raw['name'] === 'string' ? raw['name'] : fileName.replace(/\.ya?ml$/, '');
    if (raw['name'] === undefined && !JOB_NAME.test(name)) {
      issues.push({ file: parsed.file, message: `file name "${fileName}" is not a valid job name (letters, digits, ".", "_" and "-"): rename the file or set name:` });
    }
    const at = (where: PropertyKey[], key?: string) => ({ file: parsed.file, ...locate(parsed.doc, parsed.lines, where, key) });
    const earlier = jobSources.get(name);
    if (earlier) {
      issues.push({
        ...at(raw['name'] === undefined ? [] : ['name']),
        message: `job name "${name}" is already used by ${earlier}: job names must be unique; set name: to another value in one of the files`,
      });
    } else jobSources.set(name, parsed.file);
    checkJob(raw, { name, connections: connFile ? connectionNames : undefined, at, issues });
    if (result.success && issues.length === before) jobs[name] = toJob(name, parsed.file, result.data);
  }

  if (issues.length > 0) {
    throw new ConfigError(sortIssues(issues).map((issue) => ({ ...issue, message: redactor.redact(issue.message) })));
  }
  return deepFreeze({ dir, connections, jobs, redactor, warnings });
}

function withDotEnv(dir: string, env: Readonly<Record<string, string | undefined>>, issues: ConfigIssue[]): Record<string, string | undefined> {
  const file = path.join(dir, '.env');
  if (!existsSync(file)) return { ...env };
  try {
    // The real environment wins over .env, as with dotenv and docker compose.
    return { ...parseEnv(readFileSync(file, 'utf8')), ...env };
  } catch (error) {
    issues.push({ file: '.env', message: `cannot read .env: ${(error as Error).message}` });
    return { ...env };
  }
}

/** Header names are case-insensitive: lower-case them once so job headers override connection headers. */
function lowerKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function toConnection(name: string, spec: ConnectionSpec, source: string, dir: string): Connection {
  const connection: Connection = { ...spec, name, source, headers: lowerKeys(spec.headers) };
  if (spec.apiKeyHeader) connection.apiKeyHeader = spec.apiKeyHeader.toLowerCase();
  if (spec.tls) {
    connection.tls = {
      ...spec.tls,
      ...(spec.tls.ca ? { ca: path.resolve(dir, spec.tls.ca) } : {}),
      ...(spec.tls.cert ? { cert: path.resolve(dir, spec.tls.cert) } : {}),
      ...(spec.tls.key ? { key: path.resolve(dir, spec.tls.key) } : {}),
    };
  }
  return connection;
}

function toSinks(spec: JobFileSpec): SinkSpec[] {
  return spec.output.map((entry): SinkSpec => {
    if (entry.csv !== undefined) {
      return typeof entry.csv === 'string'
        ? { type: 'csv', path: entry.csv, delimiter: ',', header: true, bom: false, append: false }
        : { type: 'csv', ...entry.csv };
    }
    if (entry.webhook !== undefined) return { type: 'webhook', ...entry.webhook, headers: lowerKeys(entry.webhook.headers) };
    return { type: 'stdout', format: entry.stdout?.format ?? 'ndjson' };
  });
}

function toJob(name: string, file: string, spec: JobFileSpec): Job {
  const base = {
    name,
    file,
    description: spec.description,
    connection: spec.connection,
    schedule: spec.schedule,
    timezone: spec.timezone,
    params: spec.params,
    outputs: toSinks(spec),
    attempts: spec.attempts,
    timeout: spec.timeout,
  };
  if (spec.grid) return { ...base, kind: 'grid', grid: { ...spec.grid, headers: lowerKeys(spec.grid.headers) } };
  return { ...base, kind: 'scalar', scalar: { ...spec.scalar!, headers: lowerKeys(spec.scalar!.headers) } };
}

/** connections.yaml first, then job files in name order; by position within a file. */
function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const rank = (file: string) => (file === '.env' ? 0 : file === 'connections.yaml' ? 1 : 2);
  const unique = new Map(issues.map((i) => [`${i.file}:${i.line}:${i.col} ${i.message}`, i]));
  return [...unique.values()].sort(
    (a, b) => rank(a.file) - rank(b.file) || a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0),
  );
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Redactor)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

