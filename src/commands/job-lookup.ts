import type { Config, GridJob, Job } from '../config/types.js';
import { didYouMean } from '../config/did-you-mean.js';
import { RestqError } from '../errors/restq-error.js';

/** The job named on the command line, or a clear E_USAGE error with a suggestion. */
export function findJob(config: Config, name: string): Job {
  const job = config.jobs[name];
  if (job) return job;
  const known = Object.keys(config.jobs);
  const hint = didYouMean(name, known);
  throw new RestqError('E_USAGE', `unknown job "${name}": ${hint ? `did you mean "${hint}"? ` : ''}defined jobs are ${known.join(', ') || '(none: add jobs/NAME.yaml)'}`, { permanent: true });
}

/** The job, which must be incremental (`restq state`, `restq backfill`). */
export function findIncrementalJob(config: Config, name: string, command: string): GridJob & { incremental: NonNullable<GridJob['incremental']> } {
  const job = findJob(config, name);
  if (job.kind !== 'grid' || !job.incremental) {
    throw new RestqError(
      'E_CONFIG',
      `job "${name}" has no incremental: section, so \`restq ${command}\` has nothing to work on; add incremental: { cursor: $.updated_at, start: "2024-01-01T00:00:00Z" } to ${job.file} (see docs/incremental.md)`,
      { permanent: true },
    );
  }
  return job as GridJob & { incremental: NonNullable<GridJob['incremental']> };
}
