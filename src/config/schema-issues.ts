import type * as z from 'zod';
import type { ConfigIssue } from '../errors/config-error.js';
import { SECRET_KEYS } from './collect-secrets.js';
import { didYouMean } from './did-you-mean.js';
import { knownKeysAt } from './known-keys.js';
import type { ParsedFile } from './parse-yaml-file.js';
import { locate } from './yaml-positions.js';

type Issue = z.core.$ZodIssue;

const QUOTE_HINT =
  'a value starting with { or [ is a YAML mapping or list: quote it, e.g. "{{params.status}}" or "$.data[*]"';

/** `connections.crm.retry.attempts`, `output[0].csv`. */
export function describePath(pathParts: readonly PropertyKey[]): string {
  return pathParts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  null: 'empty (null)',
};

function describeValue(value: unknown, secret: boolean): string {
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // The value of a secret key is never echoed, even when it has the wrong type.
  if (secret) return `a ${typeof value}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Flattens union failures: when the input's shape picks one branch, its own issues are clearer than "invalid input". */
function expand(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const branches = issue.errors;
  const wrongShape = (branch: readonly Issue[]) => branch.some((i) => i.path.length === 0 && i.code === 'invalid_type');
  const fitting = branches.filter((b) => !wrongShape(b));
  if (fitting.length === 1) {
    return fitting[0]!.flatMap((i) => expand({ ...i, path: [...issue.path, ...i.path] } as Issue));
  }
  const expected = [...new Set(branches.flatMap((b) => b.filter((i) => i.code === 'invalid_type' && i.path.length === 0).map((i) => (i as { expected: string }).expected)))];
  return [{ ...issue, code: 'invalid_type', expected: expected.join('|') } as unknown as Issue];
}

/** "must be at least 1" / "must be at most 65535" / "must have at least 1 item": zod's own wording read "must be be >=1". */
function boundMessage(issue: Issue): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum);
  const inclusive = (issue as { inclusive?: boolean }).inclusive !== false;
  const origin = (issue as { origin?: string }).origin;
  if (origin === 'array' || origin === 'set') {
    const n = small ? (inclusive ? bound : bound + 1) : inclusive ? bound : bound - 1;
    return `must have ${small ? 'at least' : 'at most'} ${n} item${n === 1 ? '' : 's'}`;
  }
  if (inclusive) return `must be ${small ? 'at least' : 'at most'} ${bound}`;
  return `must be ${small ? 'greater' : 'less'} than ${bound}`;
}

/**
 * Turns zod's issues for one file into `file:line:col` messages: unknown keys with a "did you
 * mean", wrong types naming what was expected and what was found (never a secret's value).
 */
export function schemaIssues(parsed: ParsedFile, error: z.ZodError, schema: z.ZodType): ConfigIssue[] {
  const issues = error.issues.flatMap((i) => expand(i as Issue));
  const out: ConfigIssue[] = [];
  // "baseURL" with "did you mean baseUrl" already explains why baseUrl is missing.
  const explained = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = knownKeysAt(schema, issue.path);
    for (const key of issue.keys) {
      const hint = didYouMean(key, known);
      if (hint) explained.add(describePath([...issue.path, hint]));
      const where = describePath(issue.path);
      out.push({
        file: parsed.file,
        ...locate(parsed.doc, parsed.lines, issue.path, key),
        message: `unknown key "${key}"${where ? ` in ${where}` : ''}${hint ? `: did you mean "${hint}"?` : known.length ? `: expected one of ${known.join(', ')}` : ''}`,
      });
    }
  }
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') continue;
    const where = describePath(issue.path);
    const received = (issue as { input?: unknown }).input;
    const missing = issue.code === 'invalid_type' && received === undefined;
    if (missing && explained.has(where)) continue;
    const pos = locate(parsed.doc, parsed.lines, issue.path, undefined, missing ? 'label' : 'value');
    if (pos && parsed.tainted.has(`${pos.line}:${pos.col}`)) continue;
    const secret = SECRET_KEYS.has(String(issue.path.at(-1)));
    let message = issue.message;
    if (missing) message = 'is required';
    else if (issue.code === 'invalid_type') {
      const expected = String(issue.expected).split('|').map((e) => EXPECTED[e] ?? `a ${e}`);
      const choices = expected.length > 1 ? `${expected.slice(0, -1).join(', ')} or ${expected.at(-1)}` : expected[0];
      message = `must be ${choices}, got ${describeValue(received, secret)}`;
      if (expected.includes(EXPECTED['string']!) && received !== null && typeof received === 'object') message += `; ${QUOTE_HINT}`;
    } else if (issue.code === 'invalid_value') {
      message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(received, secret)}`;
    } else if (issue.code === 'too_small' && issue.origin === 'string') {
      message = 'must not be empty';
    } else if (issue.code === 'too_small' || issue.code === 'too_big') {
      message = `${boundMessage(issue)}, got ${describeValue(received, secret)}`;
    } else if (issue.code === 'invalid_format' && issue.format === 'regex') {
      message = `${issue.message}, got ${describeValue(received, secret)}`;
    }
    out.push({ file: parsed.file, ...pos, message: `${where || '(file)'} ${message}` });
  }
  return out;
}
