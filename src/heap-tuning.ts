import v8 from 'node:v8';

/**
 * After each full GC V8 lets the old generation grow to up to 4× what survived before the next
 * one. Streaming a huge page promotes a steady trickle of short-lived rows, so the old
 * generation fills up to that limit with garbage: the bulk of the RSS growth of the big-page
 * benchmark. A factor of 1.5 collects earlier, at no measurable cost in throughput (README
 * "Benchmarks"). V8 reads this flag at every GC, so setting it at start-up takes effect.
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Applies HEAP_GROWING_PERCENT to this process, unless it was started with its own value
 * (`node --heap-growing-percent=…`; Node does not accept the flag in NODE_OPTIONS). Called by
 * the CLI, which runs jobs.
 */
export function tuneHeapForJobs(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => /heap[-_]growing[-_]percent/.test(arg))) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
