import type { Paginator, PaginatorContext } from './paginator.js';
import { UrlFollower } from './url-follower.js';

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

/** `paginate: { linkHeader: true }`: the `Link: <…>; rel="next"` response header. */
export function linkHeaderPaginator(ctx: PaginatorContext): Paginator {
  const follower = new UrlFollower(ctx, 'linkHeader');
  return {
    strategy: 'linkHeader',
    valuePaths: [],
    first: (request) => follower.first(request),
    next: (page) => follower.follow(page, parseLinkNext(page.headers['link']), 'the Link header rel="next"'),
  };
}
