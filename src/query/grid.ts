import type { GridJob } from '../config/types.js';
import { forEachPages } from './for-each.js';
import { fetchPages, type Page, type QueryDeps } from './pages.js';
import type { TemplateContext } from './template.js';

/**
 * The pages of a grid job: one request sequence, or with `grid.forEach` one per parent row,
 * in parent order.
 */
export function fetchGridPages(job: GridJob, ctx: TemplateContext, deps: QueryDeps): AsyncGenerator<Page> {
  if (job.grid.forEach) return forEachPages(job, ctx, deps);
  return fetchPages({ section: 'grid', job: job.name, spec: job.grid, rows: job.grid.rows, paginate: job.grid.paginate }, ctx, deps);
}
