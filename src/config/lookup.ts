import { RestqError } from '../errors/restq-error.js';
import type { Config, Connection, Job } from './types.js';

/**
 * The one way to find a job or a connection by name. An unknown name is a usage error (E_USAGE,
 * permanent) that lists the names that exist; the command line exits 2 on it, a worker fails
 * that run without retrying it.
 */
export function findJob(config: Config, name: string): Job {
  const job = config.jobs[name];
  if (job) return job;
  throw new RestqError('E_USAGE', `unknown job "${name}": defined jobs are ${Object.keys(config.jobs).join(', ') || '(none: add jobs/NAME.yaml)'}`, { permanent: true });
}

export function findConnection(config: Config, name: string): Connection {
  const connection = config.connections[name];
  if (connection) return connection;
  throw new RestqError('E_USAGE', `unknown connection "${name}": defined connections are ${Object.keys(config.connections).join(', ') || '(none)'}`, { permanent: true });
}
