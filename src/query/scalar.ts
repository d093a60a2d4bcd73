import type { ScalarJob } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import { safeUrl } from '../http/safe-url.js';
import { buildRequest } from './build-request.js';
import type { QueryDeps } from './pages.js';
import { describeTopLevel, queryFirst } from '../expr/jsonpath.js';
import { readJson } from './read-json.js';
import type { TemplateContext } from '../expr/template.js';

/** Runs a scalar query: one value, found at `scalar.value`, or an error naming what was there. */
export async function fetchScalar(job: ScalarJob, ctx: TemplateContext, deps: QueryDeps): Promise<{ value: unknown; bytes: number }> {
  const request = { ...buildRequest('scalar', job.scalar, deps.api.connection, ctx), signal: deps.signal, run: deps.run };
  const response = await deps.api.send(request);
  const { json, bytes } = await readJson(response, request, deps.redactor, deps.api.connection.timeout);
  const { found, value } = queryFirst(job.scalar.value, json);
  if (!found) {
    throw new RestqError(
      'E_JSONPATH',
      `job "${job.name}": scalar.value ${job.scalar.value} matched nothing in the response of ${request.method} ${safeUrl(request.url, deps.redactor)} (${describeTopLevel(json)})`,
      { permanent: true },
    );
  }
  return { value, bytes };
}
