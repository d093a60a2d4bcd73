// Which `paginate:` keys choose a strategy: config checks them, query/paginate/registry.ts maps them to paginators.

/** The keys of `paginate` that name a strategy (the other keys tune whichever is chosen). */
export const PAGINATOR_KEYS = ['nextUrl', 'cursor', 'offset', 'page', 'linkHeader'] as const;
export type PaginatorKey = (typeof PAGINATOR_KEYS)[number];

/** The strategy keys set in a paginate block (`linkHeader: false` does not count). */
export function paginatorKeys(spec: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(spec).filter((key) => (PAGINATOR_KEYS as readonly string[]).includes(key) && spec[key] !== undefined && spec[key] !== false);
}
