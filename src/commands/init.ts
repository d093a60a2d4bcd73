import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RestqError } from '../errors/restq-error.js';

/** The files `restq init` writes, relative to the project directory. */
export const INIT_FILES: Readonly<Record<string, string>> = {
  'connections.yaml': `# restq connections: one entry per REST API (docs: restq --help, README).
# \`\${VAR}\` is read from the environment, or from a .env file beside this one (copy .env.example);
# \`\${VAR:-default}\` gives a default. Secrets belong in .env or the environment, never in git.
# Editor completion: \`restq schema --out schema\`, then add this first line:
#   # yaml-language-server: $schema=./schema/connections.schema.json
connections:
  api:
    # Base of every relative job path (required).
    baseUrl: \${API_BASE_URL:-https://api.example.com/v1}
    # [Access Token] used as is; next to \`refresh\` it only seeds the token store.
    accessToken: \${API_ACCESS_TOKEN:-replace-me}
    # [Is Bearer Token] true: "Authorization: Bearer <token>"; false: "Authorization: <token>".
    bearer: true
    # [API Key] / [API Secret]: the OAuth2 client id and secret, sent to the token endpoint.
    # apiKey: \${API_CLIENT_ID}
    # apiSecret: \${API_CLIENT_SECRET}
    # [Security Protocol] Default | TLS1.0 | TLS1.1 | TLS1.2 | TLS1.3
    # securityProtocol: Default
    # OAuth2 refresh: restq keeps the token in .restq/ (or Redis) and renews it before it expires.
    # refresh:
    #   refreshToken: \${API_REFRESH_TOKEN}            # [Refresh Token] seeds the store
    #   endpoint: https://auth.example.com/oauth/token  # [Refresh Token Endpoint]
    #   params: "scope=read"                            # [Refresh Token Endpoint Parameters]
    #   accessTokenPath: $.access_token                 # [Access Token Json Path]
    #   expiresInPath: $.expires_in
    #   refreshTokenPath: $.refresh_token               # a rotated refresh token
    #   clientAuth: body                                # body | basic | none
    # grant: client_credentials                         # a token from apiKey/apiSecret alone
    # [Headers] sent on every request of this connection.
    # headers: { X-Tenant: acme }
    # [Proxy] CONNECT for https, forward proxy for http; domain: → NTLM.
    # proxy: { host: proxy.corp.local, port: 3128, username: svc-etl, password: \${PROXY_PASSWORD} }
    timeout: 30s
    retry: { attempts: 4, maxDelay: 30s }
    # rateLimit: { requests: 10, per: 1s }
`,
  'jobs/example.yaml': `# A grid query: each object selected by \`rows\` becomes one output row.
# Try it: restq run example --dry-run   (prints the request, sends nothing)
connection: api
# schedule: "0 * * * *"          # cron; none = on demand only (restq run example)
timezone: UTC
grid:
  method: GET
  path: /items
  query: { updated_since: "{{lastSuccessAt}}" }   # empty on a first run: left out
  rows: $.data[*]
  # columns: { id: $.id, name: $.name }
  # paginate: { nextUrl: $.links.next }
output:
  - csv: out/{job}/{date}.csv
attempts: 3
timeout: 10m
`,
  '.env.example': `# Copy to .env (kept out of git) and fill in; restq reads .env beside connections.yaml.
API_BASE_URL=https://api.example.com/v1
API_ACCESS_TOKEN=
# API_CLIENT_ID=
# API_CLIENT_SECRET=
# API_REFRESH_TOKEN=
# Distributed mode (BullMQ on Redis); unset = standalone, state in .restq/
# REDIS_URL=redis://127.0.0.1:6379
# RESTQ_SECRET_KEY=   # 64 hex characters (openssl rand -hex 32): encrypts stored tokens
`,
  '.gitignore': `out/
.restq/
.env
`,
};

export interface InitResult {
  dir: string;
  written: string[];
}

/**
 * `restq init [DIR]`: scaffolds a project that validates as is. Refuses (writing nothing) when
 * any of its files exists already, so it never overwrites a user's work.
 */
export function initProject(dir: string): InitResult {
  const existing = Object.keys(INIT_FILES).filter((file) => existsSync(path.join(dir, file)));
  if (existing.length > 0) {
    throw new RestqError('E_INIT', `refusing to overwrite ${existing.map((f) => path.join(dir, f)).join(', ')}: restq init writes a new project; pick an empty directory (restq init DIR)`, { permanent: true });
  }
  const written: string[] = [];
  for (const [file, text] of Object.entries(INIT_FILES)) {
    const target = path.join(dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text, { flag: 'wx' });
    written.push(target);
  }
  return { dir, written };
}

/** `restq init [DIR]`: writes the files and says what to do next (on stderr). */
export function initCli(dir: string): void {
  const result = initProject(path.resolve(dir));
  const shown = (file: string) => (path.relative(process.cwd(), file).startsWith('..') ? file : path.relative(process.cwd(), file));
  for (const file of result.written) process.stderr.write(`wrote ${shown(file)}\n`);
  const cd = shown(result.dir);
  process.stderr.write(`next: ${cd ? `cd ${cd} && ` : ''}cp .env.example .env, edit connections.yaml and jobs/example.yaml, then restq validate and restq run example --dry-run\n`);
}
