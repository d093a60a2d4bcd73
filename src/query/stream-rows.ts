import type { Redactor } from '../config/redactor.js';
import { HttpError } from '../errors/http-error.js';
import { BIG_PAGE_BYTES, tuneHeapForBigPages } from '../heap-tuning.js';
import { toHttpError, type HttpRequest, type HttpResponse } from '../http/transport.js';
import { JsonRowSplitter } from './json-row-splitter.js';
import { describeTopLevel, missingKey, simpleArrayPath, valueAtKeys } from '../expr/jsonpath.js';
import { EXCERPT_BYTES, notJsonError } from './read-json.js';

/** What a page left besides its rows: the values pagination asked for, and its size. */
export interface PageTail {
  rowCount: number;
  bytes: number;
  /** By JSONPath expression; absent when the body did not contain it. */
  values: ReadonlyMap<string, unknown>;
  /** The key of the rows path the body lacks (a wrong `rows`), with what the body had instead. */
  missing?: { key: string; found: string };
}

export interface StreamRowsOptions {
  /** Key path of the row array, from `simpleArrayPath(grid.rows)`. */
  rowKeys: readonly string[];
  /** The `rows` expression itself, to tell a missing parent key from an empty array. @default built from rowKeys */
  rows?: string;
  /** Expressions (e.g. `$.links.next`) whose values must be picked up on the way. */
  valuePaths: readonly string[];
  redactor: Redactor;
  timeoutMs: number;
}

/**
 * A body whose Content-Length is at most this is read whole and parsed with JSON.parse, ~2.5×
 * faster than the stream parser (README "Benchmarks"); a larger or chunked body is streamed, so
 * its rows flow while it downloads and memory stays bounded however large the page.
 */
export const WHOLE_BODY_BYTES = 4 * 1024 * 1024;

/** `$.links.next` / `$['meta'].cursor` → ["links", "next"]; undefined for anything else. */
export function simpleKeyPath(expr: string): string[] | undefined {
  const match = /^\$((?:\.[A-Za-z_$][\w$-]*|\['[^'.*]+'\])+)$/.exec(expr);
  if (!match) return undefined;
  return [...match[1]!.matchAll(/\.([A-Za-z_$][\w$-]*)|\['([^']+)'\]/g)].map((m) => m[1] ?? m[2]!);
}

/**
 * The streaming plan for a `rows` expression and the pagination paths, or undefined when the
 * body has to be parsed whole (rows or a pagination value is not a plain key path, a key
 * contains "." or "*", or a pagination value lies inside the rows or contains them).
 */
export function streamPlan(rows: string, valuePaths: readonly string[]): { rowKeys: string[] } | undefined {
  const rowKeys = simpleArrayPath(rows);
  if (!rowKeys || rowKeys.some((k) => /[.*]/.test(k))) return undefined;
  for (const path of valuePaths) {
    const keys = simpleKeyPath(path);
    if (keys === undefined) return undefined;
    const shorter = Math.min(keys.length, rowKeys.length);
    if (keys.slice(0, shorter).every((k, i) => k === rowKeys[i])) return undefined;
  }
  return { rowKeys };
}

/** What the stream parser's `$.a.b.*` selector gives: the items of an array or the values of an object. */
function itemsAt(json: unknown, keys: readonly string[]): unknown[] {
  const found = valueAtKeys(json, keys);
  if (Array.isArray(found)) return found;
  if (found !== null && typeof found === 'object') return Object.values(found);
  return [];
}

/**
 * Parses a JSON body as it arrives and yields the rows each network chunk completed, so a
 * 1 GB page never sits in memory: the row array is cut at item boundaries and complete items
 * are parsed in batches (JsonRowSplitter), and the next network chunk is read only after the
 * sinks took the rows (the generator is pulled by the runner). Returns the page's row count,
 * size and the values of `valuePaths` (the next URL or cursor), which may come before or after
 * the rows.
 */
export async function* streamRows(
  response: HttpResponse,
  request: HttpRequest,
  options: StreamRowsOptions,
): AsyncGenerator<{ rows: unknown[]; bytes: number }, PageTail> {
  const valueKeys = options.valuePaths.map((p) => ({ expr: p, keys: simpleKeyPath(p)! }));
  const splitter = new JsonRowSplitter(options.rowKeys, valueKeys);
  const { rowKeys } = options;

  let bytes = 0;
  let unreported = 0;
  let head = Buffer.alloc(0);
  const fail = (error: unknown): HttpError => notJsonError({ request, response, redactor: options.redactor, bytes, head, cause: error });

  const body = (response.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    const length = Number(response.headers['content-length']);
    if (length >= 0 && length <= WHOLE_BODY_BYTES) {
      // A small body of known size (the usual page): read it whole, parse it at once.
      const buffered: Buffer[] = [];
      for (let step = await body.next(); !step.done; step = await body.next()) {
        buffered.push(step.value);
        bytes += step.value.length;
        if (head.length < EXCERPT_BYTES) head = Buffer.concat([head, step.value.subarray(0, EXCERPT_BYTES - head.length)]);
      }
      let json: unknown;
      try {
        json = JSON.parse(Buffer.concat(buffered, bytes).toString('utf8'));
      } catch (error) {
        throw fail(error);
      }
      const values = new Map<string, unknown>();
      for (const v of valueKeys) {
        const value = valueAtKeys(json, v.keys);
        if (value !== undefined) values.set(v.expr, value);
      }
      const key = missingKey(options.rows ?? `$${rowKeys.map((k) => `['${k}']`).join('')}[*]`, json);
      if (key !== undefined) return { rowCount: 0, bytes, values, missing: { key, found: describeTopLevel(json) } };
      const rows = itemsAt(json, rowKeys);
      yield { rows, bytes };
      return { rowCount: rows.length, bytes, values };
    }
    for (let step = await body.next(); !step.done; step = await body.next()) {
      const chunk = step.value;
      bytes += chunk.length;
      unreported += chunk.length;
      if (bytes > BIG_PAGE_BYTES) tuneHeapForBigPages();
      if (head.length < EXCERPT_BYTES) head = Buffer.concat([head, chunk.subarray(0, EXCERPT_BYTES - head.length)]);
      try {
        splitter.write(chunk);
      } catch (error) {
        throw fail(error);
      }
      // Hand the rows on after every network chunk (at most one chunk's worth, ~64 KB of JSON):
      // rows held across many chunks would outlive young-generation GCs and bloat the heap.
      if (splitter.rows.length > 0) {
        yield { rows: splitter.take(), bytes: unreported };
        unreported = 0;
      }
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw toHttpError(error, request, options.redactor, options.timeoutMs);
  } finally {
    // Stops the download when the consumer gave up (a sink failed, the run was aborted).
    if (!response.body.readableEnded) response.body.destroy();
  }
  try {
    splitter.end();
  } catch (error) {
    throw fail(error);
  }
  if (unreported > 0) yield { rows: splitter.take(), bytes: unreported };
  if (!splitter.rowsFound) {
    const keys = splitter.topKeys;
    const found = keys.length === 0 ? 'no top-level keys' : `top-level keys: ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ', …' : ''}`;
    return { rowCount: 0, bytes, values: splitter.values, missing: { key: rowKeys.length > 1 && keys.includes(rowKeys[0]!) ? rowKeys.slice(1).join('.') : (rowKeys[0] ?? '[…]'), found } };
  }
  return { rowCount: splitter.rowCount, bytes, values: splitter.values };
}
