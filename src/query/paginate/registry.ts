import type { PaginateSpec } from '../../config/schema.js';
import { RestqError } from '../../errors/restq-error.js';
import { cursorPaginator } from './cursor.js';
import { linkHeaderPaginator } from './link-header.js';
import { nextUrlPaginator } from './next-url.js';
import { offsetPaginator } from './offset.js';
import { pageNumberPaginator } from './page.js';
import { isEmptyValue, type Paginator, type PaginatorContext } from './paginator.js';

/** The keys of `paginate` that name a strategy (the other keys tune whichever is chosen). */
export const PAGINATOR_KEYS = ['nextUrl', 'cursor', 'offset', 'page', 'linkHeader'] as const;
export type PaginatorKey = (typeof PAGINATOR_KEYS)[number];

type Factories = { [K in PaginatorKey]: (spec: NonNullable<PaginateSpec[K]>, ctx: PaginatorContext) => Paginator };

/** Paginators by their key in `paginate:`; a new strategy registers here and nowhere else. */
export const PAGINATORS: Factories = {
  nextUrl: (path, ctx) => nextUrlPaginator(path, ctx),
  cursor: (spec, ctx) => cursorPaginator(spec, ctx),
  offset: (spec) => offsetPaginator(spec),
  page: (spec) => pageNumberPaginator(spec),
  linkHeader: (_on, ctx) => linkHeaderPaginator(ctx),
};

/** The single page of a job without `paginate`. */
const singlePage: Paginator = {
  strategy: 'none',
  valuePaths: [],
  first: (request) => request,
  next: () => undefined,
};

/** The strategy keys set in a paginate block (`linkHeader: false` does not count). */
export function paginatorKeys(spec: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(spec).filter((key) => (PAGINATOR_KEYS as readonly string[]).includes(key) && spec[key] !== undefined && spec[key] !== false);
}

/**
 * `stopWhen: $.has_more`: pagination ends on the first page where the value is false or absent,
 * whatever the strategy would do next.
 */
function withStopWhen(inner: Paginator, path: string): Paginator {
  const stopped = (values: ReadonlyMap<string, unknown>) => isEmptyValue(values.get(path)) || values.get(path) === 'false';
  return {
    ...inner,
    valuePaths: [...new Set([...inner.valuePaths, path])],
    next: (page) => (stopped(page.values) ? undefined : inner.next(page)),
    indexed: inner.indexed && { ...inner.indexed, isLast: (page) => stopped(page.values) || inner.indexed!.isLast(page) },
  };
}

/**
 * The paginator of a `paginate` block: exactly one strategy key (the loader checks that too),
 * wrapped by `stopWhen` when set. An unknown or missing strategy is an error listing the choices.
 */
export function createPaginator(spec: PaginateSpec | undefined, ctx: PaginatorContext): Paginator {
  if (!spec) return singlePage;
  const keys = paginatorKeys(spec);
  const key = keys[0] as PaginatorKey | undefined;
  if (keys.length !== 1 || key === undefined) {
    throw new RestqError(
      'E_CONFIG',
      `job "${ctx.job}": ${ctx.section ?? 'paginate'} needs exactly one strategy of ${PAGINATOR_KEYS.join(', ')}${keys.length ? ` (found ${keys.join(', ')})` : ''}`,
      { permanent: true },
    );
  }
  const factory = PAGINATORS[key] as (spec: unknown, ctx: PaginatorContext) => Paginator;
  let paginator = factory(spec[key], ctx);
  if (spec.stopWhen) paginator = withStopWhen(paginator, spec.stopWhen);
  if (spec.total) paginator = { ...paginator, valuePaths: [...new Set([...paginator.valuePaths, spec.total])] };
  return paginator;
}
