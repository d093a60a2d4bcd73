import type { GridJob } from '../config/types.js';
import { HttpError } from '../errors/http-error.js';
import { SkippedResponse } from '../errors/skipped-response.js';
import { fetchPages, type Page, type PagedQuery, type QueryDeps } from './pages.js';
import { Prefetch } from './prefetch.js';
import type { TemplateContext } from './template.js';

/** Chunks a child in flight may hold before it waits for the consumer (memory bound per child). */
const CHILD_BUFFER_CHUNKS = 16;

/** The parent rows to follow, one by one, from the parent's pages (which may themselves be paginated). */
async function* parentRows(pages: AsyncGenerator<Page>, accept: ((row: unknown) => boolean) | undefined): AsyncGenerator<unknown> {
  for await (const page of pages) {
    for (const row of page.rows) if (!accept || accept(row)) yield row;
  }
}

/**
 * `grid.forEach`: the parent request's rows, each driving one child request sequence (the
 * grid) with the row as `{{<as>.field}}`. Up to `concurrency` children are in flight; their
 * pages are yielded in parent order, then child page order, so the output is the same bytes
 * whatever the concurrency. A child whose first request answers a `skipOn` status (or matches a
 * skip rule) skips that parent and is counted; any other child error fails the run at once.
 */
export async function* forEachPages(job: GridJob, ctx: TemplateContext, deps: QueryDeps): AsyncGenerator<Page> {
  const { grid } = job;
  const spec = grid.forEach!;
  const controller = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, controller.signal]) : controller.signal;
  const skipOn = new Set(spec.skipOn);
  const isSkip = (error: unknown) => error instanceof SkippedResponse || (error instanceof HttpError && error.status !== undefined && skipOn.has(error.status));
  let failure: { error: unknown } | undefined;
  // The first real child failure stops every other child at once: no partial output is kept anyway.
  const fail = (error: unknown) => {
    if (failure || isSkip(error)) return;
    failure = { error };
    controller.abort(error);
  };
  const parentQuery: PagedQuery = { section: 'grid.forEach', job: job.name, spec, rows: spec.rows, paginate: spec.paginate };
  const childQuery: PagedQuery = { section: 'grid', job: job.name, spec: grid, rows: grid.rows, paginate: grid.paginate, isSkip, throwSkipOnFirst: true };
  const childDeps = { ...deps, signal };
  const parents = parentRows(fetchPages(parentQuery, ctx, childDeps), deps.acceptParent);
  const active: { index: number; children: Prefetch<Page> }[] = [];
  let index = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (active.length < spec.concurrency && !exhausted) {
        const step = await parents.next();
        if (step.done) {
          exhausted = true;
          break;
        }
        const childCtx: TemplateContext = { ...ctx, parents: { ...ctx.parents, [spec.as]: step.value } };
        active.push({ index: index++, children: new Prefetch(fetchPages(childQuery, childCtx, childDeps), CHILD_BUFFER_CHUNKS, fail) });
      }
      const head = active.shift();
      if (!head) return;
      try {
        for await (const page of head.children.drain()) yield page;
      } catch (error) {
        if (!isSkip(error)) throw error;
        if (deps.stats) deps.stats.skippedParents++;
        deps.logger.info(
          { parent: head.index + 1, status: error instanceof HttpError ? error.status : undefined },
          `grid.forEach: parent ${head.index + 1} skipped: ${(error as Error).message}`,
        );
      }
    }
  } catch (error) {
    throw failure ? failure.error : error;
  } finally {
    if (!controller.signal.aborted) controller.abort();
    await Promise.allSettled(active.map((a) => a.children.cancel()));
    await parents.return(undefined);
  }
}
