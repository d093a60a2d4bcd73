import { RestqError } from './restq-error.js';

/** One problem in the configuration, with its position when known (1-based line and column). */
export interface ConfigIssue {
  file: string;
  line?: number;
  col?: number;
  message: string;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.col ?? 1}`;
  return `${where} ${issue.message}`;
}

/** Carries every configuration problem found, so `validate` can report them all at once. */
export class ConfigError extends RestqError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super('E_CONFIG', issues.map(formatConfigIssue).join('\n'), { permanent: true });
    this.issues = issues;
  }
}
