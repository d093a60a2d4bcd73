import type { Paginator, PaginatorContext } from './paginator.js';
import { UrlFollower } from './url-follower.js';

/** `paginate: { nextUrl: $.links.next }`: the body names the next page's URL. */
export function nextUrlPaginator(path: string, ctx: PaginatorContext): Paginator {
  const follower = new UrlFollower(ctx, 'nextUrl');
  return {
    strategy: 'nextUrl',
    valuePaths: [path],
    first: (request) => follower.first(request),
    next: (page) => follower.follow(page, page.values.get(path), `nextUrl ${path}`),
  };
}
