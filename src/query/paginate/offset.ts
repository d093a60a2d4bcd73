import type { HttpRequest } from '../../http/http-client.js';
import { withParams, type IndexedPages, type PageOutcome, type Paginator } from './paginator.js';

export interface OffsetSpec {
  param: string;
  limitParam?: string | undefined;
  limit: number;
}

/**
 * `paginate: { offset: { param, limit } }`: pages at offset, offset + limit, …; a short page is
 * the last one. Pages are addressed by number, so they can be fetched in parallel.
 */
export function offsetPaginator(spec: OffsetSpec): Paginator {
  // A job may start further in (`query: {offset: 500}`); otherwise from 0.
  const startOf = (request: HttpRequest) => {
    const start = Number(request.url.searchParams.get(spec.param) ?? 0);
    return Number.isFinite(start) ? start : 0;
  };
  let start = 0;
  let index = 0;
  const indexed: IndexedPages = {
    request: (first, i) => withParams(first, { [spec.param]: String(startOf(first) + i * spec.limit), ...(spec.limitParam ? { [spec.limitParam]: String(spec.limit) } : {}) }),
    // A short page is the last one (an empty page is short too).
    isLast: (page: PageOutcome) => page.rowCount < spec.limit,
    pagesFor: (total) => Math.max(1, Math.ceil(total / spec.limit)),
  };
  return {
    strategy: 'offset',
    valuePaths: [],
    indexed,
    first: (request) => {
      start = startOf(request);
      index = 0;
      return indexed.request(request, 0);
    },
    next: (page) => {
      if (indexed.isLast(page)) return undefined;
      index++;
      return withParams(page.request, { [spec.param]: String(start + index * spec.limit) });
    },
  };
}
