import v8 from 'node:v8';

/**
 * After each full GC V8 lets the old generation grow to up to 4× what survived before the next
 * one. Streaming a huge page promotes a steady trickle of short-lived rows, so the old
 * generation fills up to that limit with garbage: most of the RSS growth of the big-page
 * benchmark. A factor of 1.5 collects earlier. V8 reads the flag at every GC, so setting it
 * mid-run takes effect.
 *
 * It costs ordinary extracts (pages of a few MB) about 14 % of their time (bench "extract",
 * whole process: 9.5 s against 8.2 s), so it is not set at start-up: only once a single page
 * has streamed past BIG_PAGE_BYTES, for the rest of the process.
 */
export const HEAP_GROWING_PERCENT = 50;

/** A page this large is a "huge page": from here on memory matters more than GC time. */
export const BIG_PAGE_BYTES = 64 * 1024 * 1024;

let tuned = false;

/**
 * Applies HEAP_GROWING_PERCENT to this process, once, unless it was started with its own value
 * (`node --heap-growing-percent=…`). Returns whether it set the flag now.
 */
export function tuneHeapForBigPages(execArgv: readonly string[] = process.execArgv): boolean {
  if (tuned || execArgv.some((arg) => /heap[-_]growing[-_]percent/.test(arg))) return false;
  tuned = true;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
