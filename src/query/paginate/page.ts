import { withParams, type IndexedPages, type Paginator } from './paginator.js';

export interface PageSpec {
  param: string;
  /** Number of the first page. */
  start: number;
}

/**
 * `paginate: { page: { param, start } }`: page numbers start, start + 1, …; an empty page ends
 * the extract. Pages are addressed by number, so they can be fetched in parallel.
 */
export function pageNumberPaginator(spec: PageSpec): Paginator {
  let number = spec.start;
  const indexed: IndexedPages = {
    request: (first, i) => withParams(first, { [spec.param]: String(spec.start + i) }),
    isLast: (page) => page.rowCount === 0,
    pagesFor: (total) => Math.max(1, total),
  };
  return {
    strategy: 'page',
    valuePaths: [],
    indexed,
    first: (request) => {
      number = spec.start;
      return indexed.request(request, 0);
    },
    next: (page) => {
      if (indexed.isLast(page)) return undefined;
      number++;
      return withParams(page.request, { [spec.param]: String(number) });
    },
  };
}
