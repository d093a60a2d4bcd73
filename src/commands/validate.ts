import type { Config } from '../config/types.js';
import { loadProjectConfig, type CommandContext } from './context.js';

export function validateSummary(config: Config): string {
  const connections = Object.keys(config.connections).length;
  const jobs = Object.values(config.jobs);
  const scheduled = jobs.filter((j) => j.schedule).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `ok: ${plural(connections, 'connection')}, ${plural(jobs.length, 'job')}, ${scheduled} scheduled (${config.dir})`;
}

/** `restq validate`: load and check everything; warnings and the summary on stderr. */
export function validateCli(ctx: CommandContext): void {
  const config = loadProjectConfig(ctx);
  for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stderr.write(`${validateSummary(config)}\n`);
}
