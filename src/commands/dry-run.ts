import type { Config } from '../config/types.js';
import { findConnection, findJob } from '../config/lookup.js';
import { fingerprint } from '../config/redactor.js';
import { buildRequest } from '../query/build-request.js';
import { templateContext } from '../query/template.js';
import { newRunId } from '../run-id.js';
import type { ParamValue } from '../config/types.js';

/** The request `restq run --dry-run` would send, with every secret shown only as a fingerprint. */
export function describeDryRun(config: Config, jobName: string, params: Record<string, ParamValue>, now = new Date()) {
  const job = findJob(config, jobName);
  const connection = findConnection(config, job.connection);
  const runId = newRunId(now);
  const ctx = templateContext({ defaults: job.params, params, startedAt: now, runId });
  const request = job.kind === 'grid' ? buildRequest('grid', job.grid, connection, ctx) : buildRequest('scalar', job.scalar, connection, ctx);
  const headers: Record<string, string> = { accept: 'application/json', ...connection.headers, ...request.headers };
  if (connection.apiKeyHeader && connection.apiKey) headers[connection.apiKeyHeader] = `[secret ${fingerprint(connection.apiKey)}]`;
  const refreshed = connection.refresh !== undefined || connection.grant === 'client_credentials';
  if (connection.accessToken || refreshed) {
    const token = connection.accessToken && !refreshed ? `[secret ${fingerprint(connection.accessToken)}]` : '[obtained from the token endpoint at run time]';
    headers['authorization'] = connection.bearer ? `Bearer ${token}` : token;
  }
  return {
    job: job.name,
    connection: connection.name,
    runId,
    request: {
      method: request.method,
      url: config.redactor.redact(request.url.toString()),
      headers: JSON.parse(config.redactor.redact(JSON.stringify(headers))) as Record<string, string>,
      body: request.body === undefined ? null : config.redactor.redact(String(request.body)),
    },
    ...(job.kind === 'grid' ? { rows: job.grid.rows, columns: job.grid.columns ?? '(flattened)', paginate: job.grid.paginate ?? null } : { value: job.scalar.value }),
    outputs: job.outputs.map((o) => ({ ...o, ...('secret' in o && o.secret ? { secret: `[secret ${fingerprint(o.secret)}]` } : {}) })),
  };
}
