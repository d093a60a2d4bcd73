import type { Connection } from '../config/types.js';
import type { ScalarSpec, GridSpec } from '../config/schema.js';
import type { HttpRequest } from '../http/transport.js';
import { encodePathValue, renderDeep, renderTemplate, type TemplateContext } from '../expr/template.js';

type QuerySpec = Pick<GridSpec | ScalarSpec, 'method' | 'path' | 'query' | 'headers' | 'body'>;

/** Joined URLs by base and path: a job's path is often the same on every run and page. */
const joined = new Map<string, string>();
const JOINED_MAX = 1000;

/** `baseUrl` + a relative path keeps the base's own path (`/v2` + `/orders` → `/v2/orders`). */
export function joinUrl(baseUrl: string, pathOrUrl: string): URL {
  const key = `${baseUrl}\u0000${pathOrUrl}`;
  const href = joined.get(key);
  if (href !== undefined) return new URL(href);
  const url = join(baseUrl, pathOrUrl);
  // Per-parent paths of a forEach can be many: the map is emptied rather than grown past its bound.
  if (joined.size >= JOINED_MAX) joined.clear();
  joined.set(key, url.href);
  return url;
}

function join(baseUrl: string, pathOrUrl: string): URL {
  if (/^https?:\/\//i.test(pathOrUrl)) return new URL(pathOrUrl);
  const base = new URL(baseUrl);
  const [pathPart, search] = pathOrUrl.split(/\?(.*)/s, 2) as [string, string | undefined];
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/${pathPart.replace(/^\/+/, '')}`;
  if (search) for (const [k, v] of new URLSearchParams(search)) base.searchParams.append(k, v);
  return base;
}

/**
 * The first request of a job, with every `{{…}}` resolved (values in the path percent-encoded
 * as one segment each). Auth headers are added later.
 */
export function buildRequest(
  /** Where the request is declared, for messages: grid, scalar, grid.forEach. */
  section: string,
  spec: QuerySpec,
  connection: Connection,
  ctx: TemplateContext,
): HttpRequest {
  const url = joinUrl(connection.baseUrl, renderTemplate(spec.path, ctx, `${section}.path`, encodePathValue));
  for (const [key, raw] of Object.entries(spec.query)) {
    const value = raw === null ? '' : renderTemplate(String(raw), ctx, `${section}.query.${key}`);
    // A parameter that renders empty (e.g. since={{lastSuccessAt}} on a first run) is left out.
    if (value !== '') url.searchParams.set(key, value);
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.headers)) headers[key.toLowerCase()] = renderTemplate(value, ctx, `${section}.headers.${key}`);
  let body: string | undefined;
  if (spec.body !== null && spec.body !== undefined) {
    const rendered = renderDeep(spec.body, ctx, `${section}.body`);
    body = typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
    headers['content-type'] ??= typeof rendered === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  }
  return { method: spec.method, url, headers, body };
}
