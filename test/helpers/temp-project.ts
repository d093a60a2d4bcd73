import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config, Connection } from '../../src/config/types.js';

export { captureStream, memoryLogger } from './memory-logger.js';

/** A throw-away restq project directory: connections.yaml, jobs/*.yaml, .env, anything else. */
export interface TempProject {
  dir: string;
  /** Absolute path of a file inside the project. */
  file(relative: string): string;
  write(relative: string, text: string): void;
  /** Writes jobs/NAME.yaml: YAML text as is, an object as YAML. */
  writeJob(name: string, job: string | Record<string, unknown>): void;
  removeJob(name: string): void;
  /** Loads the project as `restq` does. */
  load(env?: NodeJS.ProcessEnv): Config;
  /** The project loaded with the builder's `env`, on first use. */
  readonly config: Config;
  cleanup(): void;
}

/**
 * The one temp project builder. `files` maps relative paths (connections.yaml, jobs/x.yaml,
 * .env) to their text, or to a value written as YAML. Line numbers in tests count from the
 * first line of each text. jobs/ always exists. `env` is what `config` is loaded with.
 */
export function tempProject(files: Record<string, string | object> = {}, env: NodeJS.ProcessEnv = {}): TempProject {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-test-'));
  const write = (relative: string, text: string) => {
    const target = path.join(dir, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
  };
  mkdirSync(path.join(dir, 'jobs'));
  for (const [relative, content] of Object.entries(files)) write(relative, typeof content === 'string' ? content : stringify(content));
  let config: Config | undefined;
  return {
    dir,
    get config() {
      return (config ??= loadConfig({ dir, env }));
    },
    file: (relative) => path.join(dir, relative),
    write,
    writeJob: (name, job) => write(`jobs/${name}.yaml`, typeof job === 'string' ? job : stringify(job)),
    removeJob: (name) => rmSync(path.join(dir, 'jobs', `${name}.yaml`)),
    load: (other = env) => loadConfig({ dir, env: other }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** connections.yaml with one connection `api` at `baseUrl`; extra lines are indented under it. */
export function connectionsYaml(baseUrl: string, extra: string[] = []): string {
  return ['connections:', '  api:', `    baseUrl: ${baseUrl}`, ...extra.map((l) => `    ${l}`), ''].join('\n');
}

/** connections.yaml with connection `demo` on the sample API (its static token) and jobs/orders.yaml reading every order to out/orders.csv. */
export function sampleApiProject(apiUrl: string, files: Record<string, string | object> = {}): TempProject {
  return tempProject({
    'connections.yaml': `connections:\n  demo:\n    baseUrl: ${apiUrl}\n    accessToken: demo-static-token\n`,
    'jobs/orders.yaml': 'connection: demo\ngrid:\n  path: /v1/orders\n  query: { per_page: 1000 }\n  rows: $.data[*]\noutput:\n  - csv: out/orders.csv\n',
    ...files,
  });
}

/**
 * A project whose connection `demo` is a sample API started with `staticTokens: [token]`, one
 * attempt per request (a failure shows at once); `jobs` maps names to job YAML.
 */
export function demoProject(baseUrl: string, token: string, jobs: Record<string, string> = {}): TempProject {
  return createProject(`connections:\n  demo:\n    baseUrl: ${baseUrl}\n    accessToken: ${token}\n    retry: { attempts: 1 }\n`, jobs);
}

/**
 * An incremental job over the sample API's orders on connection `demo`: the window in the query,
 * the cursor on updated_at from 2026-01-01, one CSV per run. `incremental` is more lines under
 * `incremental:`; `extra` is more lines at the end (outputs, then top-level keys).
 */
export function incrementalOrdersJob(extra = '', incremental = ''): string {
  return `connection: demo
grid:
  path: /v1/orders
  query: { updated_since: "{{window.start}}", updated_before: "{{window.end}}", per_page: 50 }
  rows: $.data[*]
  paginate: { nextUrl: $.links.next }
  columns: { id: $.id, updated_at: $.updated_at }
incremental:
  cursor: $.updated_at
  start: "2026-01-01T00:00:00Z"
${incremental}output:
  - csv: out/{job}-{runId}.csv
${extra}`;
}

/**
 * The refresh-storm project on a sample API: connection `storm` uses its refresh-token flow
 * (client demo-client, seed refresh token demo-refresh-token-0, one attempt per request); job
 * `orders` reads one page of open orders to stdout as NDJSON. `jobs` adds or replaces jobs.
 */
export function stormProject(apiUrl: string, jobs: Record<string, string> = {}): TempProject {
  const connections = `connections:
  storm:
    baseUrl: ${apiUrl}
    apiKey: demo-client
    apiSecret: demo-secret
    refresh:
      refreshToken: demo-refresh-token-0
      endpoint: ${apiUrl}/oauth/token
    retry: { attempts: 1 }
`;
  const orders = `connection: storm
grid:
  path: /v1/orders
  query: { status: open, per_page: 3 }
  rows: $.data[*]
  columns: { id: $.id }
output: [{ stdout: { format: ndjson } }]
attempts: 1
`;
  return createProject(connections, { orders, ...jobs });
}

/** A project from files (the shape older tests call `tempConfigDir`). */
export const tempConfigDir = (files: Record<string, string>): TempProject => tempProject(files);

/** A project from literal connections.yaml and job YAML texts (jobs: name → YAML). */
export function createProject(connections: string, jobs: Record<string, string> = {}): TempProject {
  return tempProject({ 'connections.yaml': connections, ...jobFiles(jobs) });
}

/** A project from connection and job objects, already loaded like `restq` does. */
export function writeProject(connections: Record<string, unknown>, jobs: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): TempProject {
  const project = tempProject({ 'connections.yaml': { connections }, ...jobFiles(jobs) }, env);
  void project.config; // a bad project fails here, where the test built it
  return project;
}

/** A loaded project with one connection "api" built from `connectionYaml` (the body under `api:`). */
export type TempConfig = TempProject & { connection: Connection };

export function tempConfig(connectionYaml: string, env: Record<string, string> = {}): TempConfig {
  const indented = connectionYaml.trim().split('\n').map((l) => `    ${l}`).join('\n');
  const project = tempProject({ 'connections.yaml': `connections:\n  api:\n${indented}\n` }, env);
  const connection = project.config.connections['api']!;
  return Object.assign(project, { connection });
}

function jobFiles(jobs: Record<string, string | unknown>): Record<string, string | object> {
  return Object.fromEntries(Object.entries(jobs).map(([name, job]) => [`jobs/${name}.yaml`, job as string | object]));
}
