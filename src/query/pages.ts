import type { Redactor } from '../config/redactor.js';
import type { PaginateSpec } from '../config/schema.js';
import { HttpError } from '../errors/http-error.js';
import { RestqError } from '../errors/restq-error.js';
import { SkippedResponse } from '../errors/skipped-response.js';
import type { ApiClient } from '../http/api-client.js';
import type { HttpRequest, HttpResponse } from '../http/transport.js';
import { safeUrl } from '../http/safe-url.js';
import type { Logger } from '../log/logger.js';
import type { RunContext } from '../log/run-context.js';
import { buildRequest } from './build-request.js';
import { describeTopLevel, missingKey, queryAll, queryFirst } from '../expr/jsonpath.js';
import type { IndexedPages, Paginator } from './paginate/paginator.js';
import { createPaginator } from './paginate/registry.js';
import { readJson } from './read-json.js';
import { streamPlan, streamRows, type PageTail } from './stream-rows.js';
import type { TemplateContext } from '../expr/template.js';

/**
 * A chunk of one page's raw rows, as selected by `rows`. A page arrives as one or more chunks
 * (a huge page is streamed in many), then an empty chunk with `pageDone` set.
 */
export interface Page {
  readonly rows: readonly unknown[];
  /** Body bytes read since the previous chunk. */
  readonly bytes: number;
  readonly url: URL;
  /** 1-based number of the page this chunk belongs to (within its request sequence). */
  readonly page: number;
  readonly pageDone: boolean;
  /** The template context the rows were fetched with (forEach: with the parent row), for column templates. */
  readonly ctx?: TemplateContext | undefined;
  /** The page's Content-Length when the API sent one (a total for the progress line). */
  readonly contentLength?: number | undefined;
  /**
   * Pages in the whole sequence, from `paginate.total` in the first response (page and offset
   * strategies): set on the first page's closing chunk, for the progress line.
   */
  readonly totalPages?: number | undefined;
}

/** Counts a run reports besides rows and pages. */
export interface QueryStats {
  /** forEach parents skipped (skipOn status or a skip rule on the child's first request). */
  skippedParents: number;
  /** Responses dropped by a skip rule (or skipOn past a child's first page): that sequence ended there. */
  skippedResponses: number;
}

export interface QueryDeps {
  api: ApiClient;
  redactor: Redactor;
  logger: Logger;
  signal?: AbortSignal | undefined;
  /** Filled in as the query goes. @default not collected */
  stats?: QueryStats | undefined;
  /** The run the requests belong to (log fields, request count). @default none */
  run?: RunContext | undefined;
  /**
   * forEach: which parent rows are followed (an incremental job whose cursor lies on the parent
   * passes its window check here, so only changed parents get child requests). @default all
   */
  acceptParent?: ((row: unknown) => boolean) | undefined;
}

/** A request sequence: what `grid` and `grid.forEach` have in common. */
export interface PagedQuery {
  /** Where it is declared, for messages: "grid" or "grid.forEach". */
  readonly section: string;
  readonly job: string;
  readonly spec: Parameters<typeof buildRequest>[1];
  readonly rows: string;
  readonly paginate?: PaginateSpec | undefined;
  /** Which errors drop the response instead of failing the run. @default skip rules only */
  readonly isSkip?: ((error: unknown) => boolean) | undefined;
  /** A skip on the first request is thrown (forEach: skips the parent) instead of ending quietly. */
  readonly throwSkipOnFirst?: boolean | undefined;
}

/** Rows handed to the sinks at once when a whole body was parsed (streamed pages go per network chunk). */
export const CHUNK_ROWS = 1000;

type Chunks = AsyncGenerator<{ rows: unknown[]; bytes: number }, PageTail>;

/** Reads a whole body and evaluates `rows` with jsonpath-plus (any expression works). */
async function* wholeBodyRows(rowsExpr: string, response: HttpResponse, request: HttpRequest, deps: QueryDeps, valuePaths: readonly string[]): Chunks {
  const { json, bytes } = await readJson(response, request, deps.redactor, deps.api.connection.timeout);
  const values = new Map<string, unknown>();
  for (const path of valuePaths) {
    const { found, value } = queryFirst(path, json);
    if (found) values.set(path, value);
  }
  const key = missingKey(rowsExpr, json);
  if (key !== undefined) return { rowCount: 0, bytes, values, missing: { key, found: describeTopLevel(json) } };
  let rows = queryAll(rowsExpr, json);
  if (rows.length === 1 && Array.isArray(rows[0]) && !rowsExpr.endsWith('[*]') && !rowsExpr.endsWith('*')) {
    // `rows: $.data` selects the array itself; the user meant its items.
    rows = rows[0] as unknown[];
  }
  for (let i = 0; i < rows.length || i === 0; i += CHUNK_ROWS) {
    yield { rows: rows.slice(i, i + CHUNK_ROWS), bytes: i === 0 ? bytes : 0 };
  }
  return { rowCount: rows.length, bytes, values };
}

const isSkipRule = (error: unknown) => error instanceof SkippedResponse;

/**
 * Fetches a query's pages and yields their rows as they are parsed, so rows flow to the sinks
 * while a page is still downloading and never more than one chunk of rows is held. Pagination
 * decides the next request from each page; `paginate.concurrency` fetches numbered pages (page,
 * offset) in parallel, still yielded in page order. The `maxPages` guard fails the run rather
 * than stopping quietly with a partial extract.
 */
export async function* fetchPages(query: PagedQuery, ctx: TemplateContext, deps: QueryDeps): AsyncGenerator<Page> {
  const paginator = createPaginator(query.paginate, { job: query.job, redactor: deps.redactor, section: `${query.section}.paginate` });
  const plan = streamPlan(query.rows, paginator.valuePaths);
  deps.logger.debug(
    { section: query.section, rows: query.rows, streaming: plan !== undefined, paginate: paginator.strategy },
    plan ? 'rows are parsed as the body streams' : 'rows need the whole body (not a simple $.a.b[*] path)',
  );
  const first = paginator.first({ ...buildRequest(query.section, query.spec, deps.api.connection, ctx), signal: deps.signal, run: deps.run });
  const reader: PageReader = { query, plan, paginator, deps, ctx };
  const concurrency = query.paginate?.concurrency ?? 1;
  if (concurrency > 1 && paginator.indexed) yield* parallelPages(reader, paginator.indexed, first, concurrency);
  else yield* sequentialPages(reader, first);
}

interface PageReader {
  query: PagedQuery;
  plan: { rowKeys: string[] } | undefined;
  paginator: Paginator;
  deps: QueryDeps;
  ctx: TemplateContext;
}

/** Yields one page's chunks and returns what the paginator needs from it. */
async function* readPage(reader: PageReader, request: HttpRequest, response: HttpResponse, number: number): AsyncGenerator<Page, PageTail> {
  const { plan, paginator, deps, query } = reader;
  const chunks: Chunks = plan
    ? streamRows(response, request, { rowKeys: plan.rowKeys, rows: query.rows, valuePaths: paginator.valuePaths, redactor: deps.redactor, timeoutMs: deps.api.connection.timeout })
    : wholeBodyRows(query.rows, response, request, deps, paginator.valuePaths);
  const length = Number(response.headers['content-length']);
  const contentLength = Number.isSafeInteger(length) && length > 0 ? length : undefined;
  let tail: PageTail;
  try {
    let step = await chunks.next();
    for (; !step.done; step = await chunks.next()) {
      yield { rows: step.value.rows, bytes: step.value.bytes, url: request.url, page: number, pageDone: false, ctx: reader.ctx, contentLength };
    }
    tail = step.value;
    // Only a sequence's first page: an API may leave the key out of an empty last page.
    if (tail.missing && number === 1) {
      throw new RestqError(
        'E_JSONPATH',
        `job "${query.job}": ${query.section}.rows ${query.rows} found no "${tail.missing.key}" in the response of ${request.method} ${safeUrl(request.url, deps.redactor)} (${tail.missing.found}): check ${query.section}.rows (an empty array would be a 0-row run, a missing key is a wrong path); nothing was written`,
        { permanent: true },
      );
    }
  } finally {
    // When the consumer stops mid-page (a sink failed, the run was aborted), this closes the
    // page's reader, which destroys the response body instead of leaving the socket busy.
    await chunks.return({ rowCount: 0, bytes: 0, values: new Map() });
  }
  // An empty closing chunk, so rows are never held back waiting to learn the page ended.
  yield { rows: [], bytes: 0, url: request.url, page: number, pageDone: true, ctx: reader.ctx, totalPages: number === 1 ? announcedPages(reader, tail.values) : undefined };
  return tail;
}

/** A skip (rule or skipOn): thrown on a forEach child's first request, else the sequence ends here. */
function handleSkip(reader: PageReader, error: unknown, number: number): void {
  const { query, deps } = reader;
  if (!(query.isSkip ?? isSkipRule)(error)) throw error;
  if (number === 1 && query.throwSkipOnFirst) throw error;
  if (deps.stats) deps.stats.skippedResponses++;
  deps.logger.info({ section: query.section, page: number, status: error instanceof HttpError ? error.status : undefined }, `${query.section}: page ${number} was skipped (${(error as Error).message}); its request sequence ends there`);
}

function tooManyPages(reader: PageReader, maxPages: number, next: URL | undefined): RestqError {
  const { query, deps } = reader;
  return new RestqError(
    'E_PAGINATION',
    `job "${query.job}": stopped after ${query.section}.paginate.maxPages = ${maxPages} pages, but the API still offers a next page${next ? ` (${safeUrl(next, deps.redactor)})` : ''}; raise maxPages if the data really is that large`,
    { permanent: true },
  );
}

async function* sequentialPages(reader: PageReader, first: HttpRequest): AsyncGenerator<Page> {
  const { paginator, deps, query } = reader;
  const maxPages = query.paginate?.maxPages ?? 1;
  let request: HttpRequest | undefined = first;
  let announced: number | undefined;
  for (let number = 1; request; number++) {
    let response: HttpResponse;
    try {
      response = await deps.api.send(request);
    } catch (error) {
      handleSkip(reader, error, number);
      return;
    }
    const tail = yield* readPage(reader, request, response, number);
    // A page count announced by `paginate.total` ends the sequence there, as in parallel paging
    // (no request for the empty page past the end).
    if (number === 1) announced = announcedPages(reader, tail.values);
    if (announced !== undefined && number >= announced) return;
    const next = paginator.next({ request, headers: response.headers, rowCount: tail.rowCount, values: tail.values });
    if (next && number >= maxPages) throw tooManyPages(reader, maxPages, next.url);
    request = next;
  }
}

/** A `paginate.total` value as read in a response: a non-negative whole number (or such text), else undefined. */
function parseTotal(raw: unknown): number | undefined {
  const total = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof total === 'number' && Number.isInteger(total) && total >= 0 ? total : undefined;
}

/**
 * Pages in all as `paginate.total` announces them in the first response, for the progress line
 * only: undefined when there is no total or it is unusable (parallel paging fails on that itself).
 */
function announcedPages(reader: PageReader, values: ReadonlyMap<string, unknown>): number | undefined {
  const path = reader.query.paginate?.total;
  const indexed = reader.paginator.indexed;
  if (!path || !indexed) return undefined;
  const total = parseTotal(values.get(path));
  return total === undefined ? undefined : indexed.pagesFor(total);
}

/** `paginate.total` read in the first response: a non-negative whole number (or such text). */
function readTotal(reader: PageReader, path: string, values: ReadonlyMap<string, unknown>): number {
  const raw = values.get(path);
  const total = parseTotal(raw);
  if (total === undefined) {
    throw new RestqError(
      'E_PAGINATION',
      `job "${reader.query.job}": ${reader.query.section}.paginate.total ${path} is ${raw === undefined ? 'absent from the first response' : `${JSON.stringify(raw)?.slice(0, 40)}`}, expected a whole number (page count for page, row count for offset)`,
      { permanent: true },
    );
  }
  return total;
}

interface InFlight {
  request: HttpRequest;
  response: Promise<HttpResponse>;
  controller: AbortController;
}

/**
 * Numbered pages, `concurrency` requests in flight. Pages are read strictly in order: the next
 * ones wait with their bodies unread (TCP back-pressure keeps memory flat for huge pages), so at
 * most `concurrency` pages are held. With `total` the page count comes from the first page;
 * without it pages are fetched ahead and those past the last page are aborted and dropped.
 */
async function* parallelPages(reader: PageReader, indexed: IndexedPages, first: HttpRequest, concurrency: number): AsyncGenerator<Page> {
  const { query, deps } = reader;
  const maxPages = query.paginate?.maxPages ?? 1;
  const totalPath = query.paginate?.total;
  // Until the first page tells the total, only it is fetched; otherwise fetch ahead up to maxPages.
  let limit = totalPath ? 1 : maxPages;
  let launched = 0;
  const window: InFlight[] = [];
  const launch = () => {
    while (window.length < concurrency && launched < limit) {
      const controller = new AbortController();
      const signal = deps.signal ? AbortSignal.any([deps.signal, controller.signal]) : controller.signal;
      const request = { ...indexed.request(first, launched++), signal };
      const response = deps.api.send(request);
      // Rejections of pages that are dropped later must not surface as unhandled.
      response.catch(() => undefined);
      window.push({ request, response, controller });
    }
  };
  try {
    for (let number = 1; ; number++) {
      launch();
      const head = window.shift();
      if (!head) return;
      let response: HttpResponse;
      try {
        response = await head.response;
      } catch (error) {
        handleSkip(reader, error, number);
        return;
      }
      const tail = yield* readPage(reader, head.request, response, number);
      if (number === 1 && totalPath) {
        const pages = indexed.pagesFor(readTotal(reader, totalPath, tail.values));
        if (pages > maxPages) throw tooManyPages(reader, maxPages, undefined);
        limit = pages;
      }
      const outcome = { request: head.request, headers: response.headers, rowCount: tail.rowCount, values: tail.values };
      if (indexed.isLast(outcome) || number >= limit) {
        if (!totalPath && number >= maxPages && !indexed.isLast(outcome)) throw tooManyPages(reader, maxPages, undefined);
        return;
      }
    }
  } finally {
    for (const ahead of window.splice(0)) {
      ahead.controller.abort(new RestqError('E_PAGINATION', 'page past the last page: dropped'));
      // undici reports a destroyed unread body as an 'error' event: listen so it is not unhandled.
      ahead.response.then((r) => r.body.on('error', () => undefined).destroy(), () => undefined);
    }
  }
}
