import type { Config } from '../config/types.js';

export function validateSummary(config: Config): string {
  const connections = Object.keys(config.connections).length;
  const jobs = Object.values(config.jobs);
  const scheduled = jobs.filter((j) => j.schedule).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `ok: ${plural(connections, 'connection')}, ${plural(jobs.length, 'job')}, ${scheduled} scheduled (${config.dir})`;
}
