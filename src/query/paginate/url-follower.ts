import { RestqError } from '../../errors/restq-error.js';
import type { HttpRequest } from '../../http/http-client.js';
import { safeUrl } from '../../http/safe-url.js';
import { isEmptyValue, withUrl, type PageOutcome, type PaginatorContext } from './paginator.js';

/**
 * Follows URLs (from the body or a Link header): relative ones resolve against the current
 * request URL; another origin is refused so the connection's credentials never leave its API;
 * a URL seen before is an error rather than an endless loop.
 */
export class UrlFollower {
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
    const where = `${this.#ctx.section ?? 'paginate'}.${this.#strategy}`;
    if (typeof raw !== 'string') {
      throw new RestqError('E_PAGINATION', `job "${job}": ${where}: ${source} is a ${typeof raw}, expected a URL string`, { permanent: true });
    }
    let url: URL;
    try {
      url = new URL(raw, page.request.url);
    } catch (error) {
      throw new RestqError('E_PAGINATION', `job "${job}": ${where}: ${source} is not a URL: ${redactor.redact(raw.slice(0, 200))}`, { permanent: true, cause: error });
    }
    if (url.origin !== this.#origin) {
      throw new RestqError(
        'E_PAGINATION',
        `job "${job}": ${where}: the next page ${safeUrl(url, redactor)} is on another origin than ${this.#origin}; restq does not send the connection's credentials there`,
        { permanent: true },
      );
    }
    if (this.#seen.has(url.href)) {
      throw new RestqError(
        'E_PAGINATION',
        `job "${job}": ${where}: the API returned ${safeUrl(url, redactor)} as the next page again after ${this.#seen.size} pages; stopping instead of looping (check ${source})`,
        { permanent: true },
      );
    }
    this.#seen.add(url.href);
    return withUrl(page.request, url);
  }
}
