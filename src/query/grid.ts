import type { Redactor } from '../config/redactor.js';
import type { GridJob } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import type { ApiClient } from '../http/api-client.js';
import type { HttpRequest, HttpResponse } from '../http/http-client.js';
import { safeUrl } from '../http/safe-url.js';
import type { Logger } from '../logger.js';
import { buildRequest } from './build-request.js';
import { queryAll, queryFirst } from './jsonpath.js';
import { createPaginator } from './paginate.js';
import { readJson } from './read-json.js';
import { streamPlan, streamRows, type PageTail } from './stream-rows.js';
import type { TemplateContext } from './template.js';

/**
 * A chunk of one page's raw rows, as selected by `grid.rows`. A page arrives as one or more
 * chunks (a huge page is streamed in many), then an empty chunk with `pageDone` set.
 */
export interface Page {
  readonly rows: readonly unknown[];
  /** Body bytes read since the previous chunk. */
  readonly bytes: number;
  readonly url: URL;
  /** 1-based number of the page this chunk belongs to. */
  readonly page: number;
  readonly pageDone: boolean;
  /** The page's Content-Length when the API sent one (a total for the progress line). */
  readonly contentLength?: number | undefined;
}

export interface QueryDeps {
  api: ApiClient;
  redactor: Redactor;
  logger: Logger;
  signal?: AbortSignal | undefined;
}

/** Rows handed to the sinks at once when a whole body was parsed (streamed pages go per network chunk). */
export const CHUNK_ROWS = 1000;

type Chunks = AsyncGenerator<{ rows: unknown[]; bytes: number }, PageTail>;

/** Reads a whole body and evaluates `rows` with jsonpath-plus (any expression works). */
async function* wholeBodyRows(job: GridJob, response: HttpResponse, request: HttpRequest, deps: QueryDeps, valuePaths: readonly string[]): Chunks {
  const { json, bytes } = await readJson(response, request, deps.redactor, deps.api.connection.timeout);
  let rows = queryAll(job.grid.rows, json);
  if (rows.length === 1 && Array.isArray(rows[0]) && !job.grid.rows.endsWith('[*]') && !job.grid.rows.endsWith('*')) {
    // `rows: $.data` selects the array itself; the user meant its items.
    rows = rows[0] as unknown[];
  }
  const values = new Map<string, unknown>();
  for (const path of valuePaths) {
    const { found, value } = queryFirst(path, json);
    if (found) values.set(path, value);
  }
  for (let i = 0; i < rows.length || i === 0; i += CHUNK_ROWS) {
    yield { rows: rows.slice(i, i + CHUNK_ROWS), bytes: i === 0 ? bytes : 0 };
  }
  return { rowCount: rows.length, bytes, values };
}

/**
 * Fetches a grid query's pages one after another and yields their rows as they are parsed, so
 * rows flow to the sinks while the page is still downloading and never more than one chunk of
 * rows is held. Pagination (`grid.paginate`) decides the next request from each page; the
 * `maxPages` guard fails the run rather than stopping quietly with a partial extract.
 */
export async function* fetchGridPages(job: GridJob, ctx: TemplateContext, deps: QueryDeps): AsyncGenerator<Page> {
  const { grid } = job;
  const paginator = createPaginator(grid.paginate, { job: job.name, redactor: deps.redactor });
  const maxPages = grid.paginate?.maxPages ?? 1;
  const plan = streamPlan(grid.rows, paginator.valuePaths);
  deps.logger.debug({ rows: grid.rows, streaming: plan !== undefined, paginate: paginator.strategy }, plan ? 'rows are parsed as the body streams' : 'rows need the whole body (not a simple $.a.b[*] path)');
  let request: HttpRequest | undefined = paginator.first({ ...buildRequest('grid', grid, deps.api.connection, ctx), signal: deps.signal });

  for (let number = 1; request; number++) {
    const response = await deps.api.send(request);
    const chunks: Chunks = plan
      ? streamRows(response, request, { rowKeys: plan.rowKeys, valuePaths: paginator.valuePaths, redactor: deps.redactor, timeoutMs: deps.api.connection.timeout })
      : wholeBodyRows(job, response, request, deps, paginator.valuePaths);
    const length = Number(response.headers['content-length']);
    const contentLength = Number.isSafeInteger(length) && length > 0 ? length : undefined;
    let tail: PageTail;
    try {
      let step = await chunks.next();
      for (; !step.done; step = await chunks.next()) {
        yield { rows: step.value.rows, bytes: step.value.bytes, url: request.url, page: number, pageDone: false, contentLength };
      }
      tail = step.value;
    } finally {
      // When the consumer stops mid-page (a sink failed, the run was aborted), this closes the
      // page's reader, which destroys the response body instead of leaving the socket busy.
      await chunks.return({ rowCount: 0, bytes: 0, values: new Map() });
    }
    // An empty closing chunk, so rows are never held back waiting to learn the page ended.
    yield { rows: [], bytes: 0, url: request.url, page: number, pageDone: true };
    const next = paginator.next({ request, headers: response.headers, rowCount: tail.rowCount, values: tail.values });
    if (next && number >= maxPages) {
      throw new RestqError(
        'E_PAGINATION',
        `job "${job.name}": stopped after grid.paginate.maxPages = ${maxPages} pages, but the API still offers a next page (${safeUrl(next.url, deps.redactor)}); raise maxPages if the data really is that large`,
        { permanent: true },
      );
    }
    request = next;
  }
}
