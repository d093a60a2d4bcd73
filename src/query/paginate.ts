import type { Redactor } from '../config/redactor.js';
import type { PaginateSpec } from '../config/schema.js';
import { RestqError } from '../errors/restq-error.js';
import type { HttpRequest, HttpResponse } from '../http/transport.js';
import { safeUrl } from '../http/safe-url.js';

/** What the paginator learns from one page. */
export interface PageOutcome {
  request: HttpRequest;
  headers: HttpResponse['headers'];
  /** Rows the page held (as selected by `grid.rows`). */
  rowCount: number;
  /** Values of `valuePaths` found in the body, by expression. */
  values: ReadonlyMap<string, unknown>;
}

/** Decides the request of the next page, or that there is none. */
export interface Paginator {
  /** For the run summary and errors, e.g. "cursor". */
  readonly strategy: string;
  /** JSONPath expressions the body must be searched for (next URL, cursor). */
  readonly valuePaths: readonly string[];
  first(request: HttpRequest): HttpRequest;
  /** Undefined when the last page was reached. Throws E_PAGINATION instead of looping. */
  next(page: PageOutcome): HttpRequest | undefined;
}

interface PaginatorContext {
  job: string;
  redactor: Redactor;
}

function withUrl(request: HttpRequest, url: URL): HttpRequest {
  return { ...request, url };
}

function withParams(request: HttpRequest, params: Record<string, string>): HttpRequest {
  const url = new URL(request.url);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return withUrl(request, url);
}

function isEmptyValue(value: unknown): boolean {
  return value === undefined || value === null || value === '' || value === false;
}

/** The single page of a job without `paginate`. */
const singlePage: Paginator = {
  strategy: 'none',
  valuePaths: [],
  first: (request) => request,
  next: () => undefined,
};

/**
 * Follows URLs (from the body or a Link header): relative ones resolve against the current
 * request URL; another origin is refused so the connection's credentials never leave its API;
 * a URL seen before is an error rather than an endless loop.
 */
class UrlFollower {
  readonly #seen = new Set<string>();
  readonly #ctx: PaginatorContext;
  readonly #strategy: string;
  #origin = '';

  constructor(ctx: PaginatorContext, strategy: string) {
    this.#ctx = ctx;
    this.#strategy = strategy;
  }

  first(request: HttpRequest): HttpRequest {
    this.#origin = request.url.origin;
    this.#seen.add(request.url.href);
    return request;
  }

  follow(page: PageOutcome, raw: unknown, source: string): HttpRequest | undefined {
    if (isEmptyValue(raw)) return undefined;
    const { job, redactor } = this.#ctx;
    if (typeof raw !== 'string') {
      throw new RestqError('E_PAGINATION', `job "${job}": paginate.${this.#strategy}: ${source} is a ${typeof raw}, expected a URL string`, { permanent: true });
    }
    let url: URL;
    try {
      url = new URL(raw, page.request.url);
    } catch (error) {
      throw new RestqError('E_PAGINATION', `job "${job}": paginate.${this.#strategy}: ${source} is not a URL: ${redactor.redact(raw.slice(0, 200))}`, { permanent: true, cause: error });
    }
    if (url.origin !== this.#origin) {
      throw new RestqError(
        'E_PAGINATION',
        `job "${job}": paginate.${this.#strategy}: the next page ${safeUrl(url, redactor)} is on another origin than ${this.#origin}; restq does not send the connection's credentials there`,
        { permanent: true },
      );
    }
    if (this.#seen.has(url.href)) {
      throw new RestqError(
        'E_PAGINATION',
        `job "${job}": paginate.${this.#strategy}: the API returned ${safeUrl(url, redactor)} as the next page again after ${this.#seen.size} pages; stopping instead of looping (check ${source})`,
        { permanent: true },
      );
    }
    this.#seen.add(url.href);
    return withUrl(page.request, url);
  }
}

function nextUrlPaginator(path: string, ctx: PaginatorContext): Paginator {
  const follower = new UrlFollower(ctx, 'nextUrl');
  return {
    strategy: 'nextUrl',
    valuePaths: [path],
    first: (request) => follower.first(request),
    next: (page) => follower.follow(page, page.values.get(path), `nextUrl ${path}`),
  };
}

/** RFC 8288: the target of the first link with `rel="next"` (rel may list several types). */
export function parseLinkNext(header: string | string[] | undefined): string | undefined {
  const text = Array.isArray(header) ? header.join(', ') : header;
  if (!text) return undefined;
  for (const match of text.matchAll(/<([^>]*)>((?:\s*;\s*[^;,"=\s]+\s*(?:=\s*(?:"[^"]*"|[^;,]*))?)*)/g)) {
    for (const param of match[2]!.matchAll(/;\s*([^=;\s]+)\s*(?:=\s*(?:"([^"]*)"|([^;,\s]*)))?/g)) {
      if (param[1]!.toLowerCase() !== 'rel') continue;
      const rels = (param[2] ?? param[3] ?? '').toLowerCase().split(/\s+/);
      if (rels.includes('next')) return match[1]!;
    }
  }
  return undefined;
}

function linkHeaderPaginator(ctx: PaginatorContext): Paginator {
  const follower = new UrlFollower(ctx, 'linkHeader');
  return {
    strategy: 'linkHeader',
    valuePaths: [],
    first: (request) => follower.first(request),
    next: (page) => follower.follow(page, parseLinkNext(page.headers['link']), 'the Link header rel="next"'),
  };
}

function cursorPaginator(spec: { path: string; param: string }, ctx: PaginatorContext): Paginator {
  const seen = new Set<string>();
  return {
    strategy: 'cursor',
    valuePaths: [spec.path],
    first: (request) => {
      const initial = request.url.searchParams.get(spec.param);
      if (initial) seen.add(initial);
      return request;
    },
    next: (page) => {
      const raw = page.values.get(spec.path);
      if (isEmptyValue(raw)) return undefined;
      if (typeof raw === 'object') {
        throw new RestqError('E_PAGINATION', `job "${ctx.job}": paginate.cursor: ${spec.path} is an ${Array.isArray(raw) ? 'array' : 'object'}, expected a string or number`, { permanent: true });
      }
      const cursor = String(raw);
      if (seen.has(cursor)) {
        throw new RestqError(
          'E_PAGINATION',
          `job "${ctx.job}": paginate.cursor: the API returned the cursor ${ctx.redactor.redact(cursor.slice(0, 80))} (${spec.path}) a second time after ${seen.size} pages; stopping instead of looping`,
          { permanent: true },
        );
      }
      seen.add(cursor);
      return withParams(page.request, { [spec.param]: cursor });
    },
  };
}

function offsetPaginator(spec: { param: string; limitParam?: string | undefined; limit: number }): Paginator {
  let offset = 0;
  return {
    strategy: 'offset',
    valuePaths: [],
    first: (request) => {
      // A job may start further in (`query: {offset: 500}`); otherwise from 0.
      const start = Number(request.url.searchParams.get(spec.param) ?? 0);
      offset = Number.isFinite(start) ? start : 0;
      return withParams(request, { [spec.param]: String(offset), ...(spec.limitParam ? { [spec.limitParam]: String(spec.limit) } : {}) });
    },
    next: (page) => {
      // A short page is the last one (an empty page is short too).
      if (page.rowCount < spec.limit) return undefined;
      offset += spec.limit;
      return withParams(page.request, { [spec.param]: String(offset) });
    },
  };
}

function pageNumberPaginator(spec: { param: string; start: number }): Paginator {
  let number = spec.start;
  return {
    strategy: 'page',
    valuePaths: [],
    first: (request) => withParams(request, { [spec.param]: String(number) }),
    next: (page) => {
      if (page.rowCount === 0) return undefined;
      number++;
      return withParams(page.request, { [spec.param]: String(number) });
    },
  };
}

/** The paginator of `grid.paginate` (the loader guarantees exactly one strategy is set). */
export function createPaginator(spec: PaginateSpec | undefined, ctx: PaginatorContext): Paginator {
  if (!spec) return singlePage;
  if (spec.nextUrl) return nextUrlPaginator(spec.nextUrl, ctx);
  if (spec.cursor) return cursorPaginator(spec.cursor, ctx);
  if (spec.offset) return offsetPaginator(spec.offset);
  if (spec.page) return pageNumberPaginator(spec.page);
  if (spec.linkHeader) return linkHeaderPaginator(ctx);
  return singlePage;
}
