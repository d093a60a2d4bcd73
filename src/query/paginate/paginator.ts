import type { Redactor } from '../../config/redactor.js';
import type { HttpRequest, HttpResponse } from '../../http/http-client.js';

/** What the paginator learns from one page. */
export interface PageOutcome {
  request: HttpRequest;
  headers: HttpResponse['headers'];
  /** Rows the page held (as selected by `grid.rows`). */
  rowCount: number;
  /** Values of `valuePaths` found in the body, by expression. */
  values: ReadonlyMap<string, unknown>;
}

/**
 * Pages addressed by number (page and offset strategies), which can therefore be fetched in
 * parallel: the request of page `k` does not depend on the body of page `k - 1`.
 */
export interface IndexedPages {
  /** The request of the 0-based page `index`, derived from the first request. */
  request(first: HttpRequest, index: number): HttpRequest;
  /** Whether this page was the last one (pages after it are dropped). */
  isLast(page: PageOutcome): boolean;
  /** Pages in all, from `paginate.total` read in the first response (page count or row count). */
  pagesFor(total: number): number;
}

/** Decides the request of the next page, or that there is none. */
export interface Paginator {
  /** For the run summary and errors, e.g. "cursor". */
  readonly strategy: string;
  /** JSONPath expressions the body must be searched for (next URL, cursor, stopWhen, total). */
  readonly valuePaths: readonly string[];
  first(request: HttpRequest): HttpRequest;
  /** Undefined when the last page was reached. Throws E_PAGINATION instead of looping. */
  next(page: PageOutcome): HttpRequest | undefined;
  /** Present for strategies whose pages can be fetched in parallel. */
  readonly indexed?: IndexedPages | undefined;
}

export interface PaginatorContext {
  /** Job name, for messages. */
  job: string;
  redactor: Redactor;
  /** Where the paginate block sits, for messages: "grid.paginate" or "grid.forEach.paginate". */
  section?: string | undefined;
}

export function withUrl(request: HttpRequest, url: URL): HttpRequest {
  return { ...request, url };
}

export function withParams(request: HttpRequest, params: Record<string, string>): HttpRequest {
  const url = new URL(request.url);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return withUrl(request, url);
}

/** A pagination value that means "no more pages". */
export function isEmptyValue(value: unknown): boolean {
  return value === undefined || value === null || value === '' || value === false;
}
