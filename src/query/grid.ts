import type { Redactor } from '../config/redactor.js';
import type { GridJob } from '../config/types.js';
import type { ApiClient } from '../http/api-client.js';
import type { Logger } from '../logger.js';
import { buildRequest } from './build-request.js';
import { queryAll } from './jsonpath.js';
import { readJson } from './read-json.js';
import type { TemplateContext } from './template.js';

/** One page of raw rows, as selected by `grid.rows`. */
export interface Page {
  readonly rows: readonly unknown[];
  readonly bytes: number;
  readonly url: URL;
}

export interface QueryDeps {
  api: ApiClient;
  redactor: Redactor;
  logger: Logger;
  signal?: AbortSignal | undefined;
}

/** Fetches a grid query's pages one after another, so rows flow to the sinks page by page. */
export async function* fetchGridPages(job: GridJob, ctx: TemplateContext, deps: QueryDeps): AsyncGenerator<Page> {
  const request = { ...buildRequest('grid', job.grid, deps.api.connection, ctx), signal: deps.signal };
  const response = await deps.api.send(request);
  const { json, bytes } = await readJson(response, request, deps.redactor, deps.api.connection.timeout);
  const rows = queryAll(job.grid.rows, json);
  if (rows.length === 1 && Array.isArray(rows[0]) && !job.grid.rows.endsWith('[*]') && !job.grid.rows.endsWith('*')) {
    // `rows: $.data` selects the array itself; the user meant its items.
    yield { rows: rows[0] as unknown[], bytes, url: request.url };
    return;
  }
  yield { rows, bytes, url: request.url };
}
