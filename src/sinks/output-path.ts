import path from 'node:path';

/** Renders {job} {date} {time} {runId} in an output path and resolves it against the config dir. */
export function outputPath(template: string, vars: { job: string; runId: string; startedAt: Date }, configDir: string): string {
  const iso = vars.startedAt.toISOString();
  const values: Record<string, string> = {
    job: vars.job,
    runId: vars.runId,
    date: iso.slice(0, 10),
    time: iso.slice(11, 19).replaceAll(':', ''),
  };
  return path.resolve(configDir, template.replace(/\{(job|date|time|runId)\}/g, (_, k: string) => values[k]!));
}
