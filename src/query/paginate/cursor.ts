import { RestqError } from '../../errors/restq-error.js';
import { isEmptyValue, withParams, type Paginator, type PaginatorContext } from './paginator.js';

export interface CursorSpec {
  /** Where the body holds the next cursor. */
  path: string;
  /** Query parameter that carries it. */
  param: string;
}

/** `paginate: { cursor: { path, param } }`: an opaque token from the body goes into a query parameter. */
export function cursorPaginator(spec: CursorSpec, ctx: PaginatorContext): Paginator {
  const seen = new Set<string>();
  const where = `${ctx.section ?? 'paginate'}.cursor`;
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
        throw new RestqError('E_PAGINATION', `job "${ctx.job}": ${where}: ${spec.path} is an ${Array.isArray(raw) ? 'array' : 'object'}, expected a string or number`, { permanent: true });
      }
      const cursor = String(raw);
      if (seen.has(cursor)) {
        throw new RestqError(
          'E_PAGINATION',
          `job "${ctx.job}": ${where}: the API returned the cursor ${ctx.redactor.redact(cursor.slice(0, 80))} (${spec.path}) a second time after ${seen.size} pages; stopping instead of looping`,
          { permanent: true },
        );
      }
      seen.add(cursor);
      return withParams(page.request, { [spec.param]: cursor });
    },
  };
}
