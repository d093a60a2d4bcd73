import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { ConfigIssue } from '../errors/config-error.js';
import { SECRET_ENV_NAME } from './collect-secrets.js';
import { interpolate } from './interpolate.js';

/** One YAML file, parsed with source positions and `${VAR}` already replaced. */
export interface ParsedFile {
  /** Path relative to the config directory, as shown in messages. */
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
  /** "line:col" of values that already have an issue (an unset variable), so no echo follows. */
  tainted: Set<string>;
}

export const FLOW_HINT =
  'inside { … } or [ … ] the characters [ ] { } , must be quoted: write rows: "$.data[*]" and csv: "out/{job}.csv", or use block style (one key per line)';

export interface ParseYamlOptions {
  env: Readonly<Record<string, string | undefined>>;
  issues: ConfigIssue[];
  /** Receives values of variables whose names say they are credentials (…TOKEN, …SECRET, …KEY). */
  onSecret: (value: string) => void;
}

/**
 * Parses one file and interpolates `${VAR}` in string values after parsing, so a value with
 * `:` or `#` cannot change the YAML structure. Problems go to `issues`; returns undefined when
 * the file cannot be parsed at all (then nothing else in it is checked).
 */
export function parseYamlFile(dir: string, relative: string, options: ParseYamlOptions): ParsedFile | undefined {
  const { env, issues } = options;
  const file = relative.split(path.sep).join('/');
  let source: string;
  try {
    source = readFileSync(path.join(dir, relative), 'utf8');
  } catch (error) {
    issues.push({ file, message: `cannot read: ${(error as Error).message}` });
    return undefined;
  }
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Later YAML errors are usually echoes of the first one.
    const first = doc.errors[0]!;
    const pos = lines.linePos(first.pos[0]);
    const lineText = source.split(/\r?\n/)[pos.line - 1] ?? '';
    const flow = /[{[]/.test(lineText) || /flow/i.test(first.message);
    const message = first.code === 'DUPLICATE_KEY' ? 'duplicate key: each key may appear once per mapping' : first.message.split('\n')[0]!;
    issues.push({ file, line: pos.line, col: pos.col, message: `YAML syntax error: ${message}${flow ? `; ${FLOW_HINT}` : ''}` });
    return undefined;
  }
  const tainted = new Set<string>();
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const { value, missing, used, malformed } = interpolate(node.value, env);
      const pos = node.range ? lines.linePos(node.range[0]) : undefined;
      for (const name of missing) {
        issues.push({
          file,
          line: pos?.line,
          col: pos?.col,
          message: `environment variable ${name} is not set: export it, add it to .env beside connections.yaml, or write \${${name}:-default}`,
        });
        if (pos) tainted.add(`${pos.line}:${pos.col}`);
      }
      if (malformed) {
        issues.push({
          file,
          line: pos?.line,
          col: pos?.col,
          message: 'malformed "${": write ${NAME} or ${NAME:-default} (letters, digits, _), or $${ for a literal "${"',
        });
        if (pos) tainted.add(`${pos.line}:${pos.col}`);
      }
      for (const name of used) if (SECRET_ENV_NAME.test(name)) options.onSecret(env[name]!);
      node.value = value;
    },
  });
  return { file, doc, lines, data: doc.toJS({ maxAliasCount: 100 }) as unknown, tainted };
}
