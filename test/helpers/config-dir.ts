import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ConfigDir {
  dir: string;
  /** Absolute path of a file inside the directory. */
  file(relative: string): string;
  write(relative: string, text: string): void;
  cleanup(): void;
}

/**
 * A throw-away restq project: `files` maps relative paths (connections.yaml, jobs/x.yaml,
 * .env) to their text. Line numbers in tests count from the first line of each text.
 */
export function tempConfigDir(files: Record<string, string>): ConfigDir {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-test-'));
  const write = (relative: string, text: string) => {
    const target = path.join(dir, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
  };
  for (const [relative, text] of Object.entries(files)) write(relative, text);
  return {
    dir,
    file: (relative) => path.join(dir, relative),
    write,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** connections.yaml with one connection `api` at `baseUrl`; extra lines are indented under it. */
export function connectionsYaml(baseUrl: string, extra: string[] = []): string {
  return ['connections:', '  api:', `    baseUrl: ${baseUrl}`, ...extra.map((l) => `    ${l}`), ''].join('\n');
}
