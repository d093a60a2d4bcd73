import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A throwaway restq project: connections.yaml and jobs/<name>.yaml from YAML text. */
export function writeProject(connections: string, jobs: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-bench-'));
  writeFileSync(path.join(dir, 'connections.yaml'), connections);
  mkdirSync(path.join(dir, 'jobs'));
  for (const [name, text] of Object.entries(jobs)) writeFileSync(path.join(dir, 'jobs', `${name}.yaml`), text);
  return dir;
}

/** The columns both restq and the baselines write, as a restq `columns:` block. */
export const BENCH_COLUMNS = {
  id: '$.id',
  name: '$.name',
  email: '$.email',
  status: '$.status',
  total: '$.amount.total',
  currency: '$.amount.currency',
  created_at: '$.created_at',
  note: '$.note',
};

export function columnsYaml(indent: string): string {
  return Object.entries(BENCH_COLUMNS)
    .map(([k, v]) => `${indent}${k}: ${v}`)
    .join('\n');
}
