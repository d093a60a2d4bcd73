import { UnrecoverableError } from 'bullmq';
import { findJob } from '../config/lookup.js';
import type { Config, ParamValue } from '../config/types.js';

/**
 * The data of a queued run (SPEC 4.2), as any BullMQ client may add it:
 * `{ "job": "<name>", "params": { … } }`. Params are scalars; never secrets.
 */
export interface RunRequest {
  job: string;
  params: Record<string, ParamValue>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

/**
 * Checks a queued run's data against the configuration. Anything wrong fails that run at once
 * (UnrecoverableError: retrying cannot fix bad data) with a message saying what to send.
 * `name` is the BullMQ job name, used when data.job is missing.
 */
export function parseRunRequest(data: unknown, name: string, config: Config): RunRequest {
  const contract = 'expected data {"job": "<name>", "params": {"key": "value"}}';
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new UnrecoverableError(`invalid run data: got ${describe(data)}, ${contract}`);
  }
  const record = data as Record<string, unknown>;
  const job = record['job'] ?? name;
  if (typeof job !== 'string' || job === '') throw new UnrecoverableError(`invalid run data: "job" is ${describe(record['job'])}, ${contract}`);
  try {
    findJob(config, job);
  } catch (error) {
    throw new UnrecoverableError((error as Error).message);
  }
  const params = record['params'] ?? {};
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new UnrecoverableError(`invalid run data for job "${job}": "params" is ${describe(params)}, ${contract}`);
  }
  const checked: Record<string, ParamValue> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
      throw new UnrecoverableError(`invalid run data for job "${job}": params.${key} is ${describe(value)}; params are strings, numbers, booleans or null`);
    }
    checked[key] = value as ParamValue;
  }
  const unknownKeys = Object.keys(record).filter((k) => k !== 'job' && k !== 'params');
  if (unknownKeys.length > 0) throw new UnrecoverableError(`invalid run data for job "${job}": unexpected key(s) ${unknownKeys.join(', ')}, ${contract}`);
  return { job, params: checked };
}
