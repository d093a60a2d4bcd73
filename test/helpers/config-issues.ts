import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError, formatConfigIssue, type ConfigIssue } from '../../src/errors/config-error.js';

/**
 * Loads the project in `dir` and asserts that it fails with a ConfigError in which exactly one
 * issue matches `message`, at `at` (`file:line:col`); a failure lists every issue. Returns the
 * error and that issue.
 */
export function expectConfigIssueAt(dir: string, env: NodeJS.ProcessEnv, message: RegExp, at: string): { error: ConfigError; issue: ConfigIssue } {
  let error: unknown;
  try {
    loadConfig({ dir, env });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const issues = (error as ConfigError).issues;
  const found = issues.filter((i) => message.test(i.message));
  expect(found.map((i) => `${i.file}:${i.line}:${i.col}`), issues.map(formatConfigIssue).join('\n')).toEqual([at]);
  return { error: error as ConfigError, issue: found[0]! };
}
