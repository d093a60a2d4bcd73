import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

/** The long options in the "Options:" part of a commander help text. */
const optionsOf = (help: string) => [...help.split('\nOptions:\n')[1]!.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((o) => o !== '--help');

describe('restq COMMAND --help and docs/operations.md', () => {
  it('the docs list every command and every option the built CLI shows', { timeout: 120_000 }, async () => {
    const operations = readFileSync('docs/operations.md', 'utf8');
    const root = await runCli(['--help']);
    expect(root.code).toBe(0);
    const commands = [...root.stdout.split('\nCommands:\n')[1]!.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(8);
    const missing = optionsOf(root.stdout).filter((option) => !operations.includes(`\`${option}`));
    const helps = await Promise.all(commands.map((command) => runCli([command, '--help'])));
    commands.forEach((command, i) => {
      const row = operations.split('\n').find((line) => line.startsWith(`| \`restq ${command}`));
      if (!row) return void missing.push(`restq ${command}`);
      for (const option of optionsOf(helps[i]!.stdout)) if (!row.includes(`\`${option}`)) missing.push(`restq ${command} ${option}`);
    });
    expect(missing).toEqual([]);
  });
});
