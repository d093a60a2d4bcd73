import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isCollection, LineCounter, parseDocument, visit, type Alias, type Document } from 'yaml';
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
  let bytes: Buffer;
  try {
    bytes = readFileSync(path.join(dir, relative));
  } catch (error) {
    issues.push({ file, message: `cannot read: ${(error as Error).message}` });
    return undefined;
  }
  const source = decodeUtf8(bytes);
  if (typeof source !== 'string') {
    issues.push({
      file,
      line: source.line,
      col: source.col,
      message: `is not UTF-8 text: byte 0x${source.byte.toString(16).padStart(2, '0')} is not valid UTF-8 (a Latin-1 or Windows-1252 file?); save the file as UTF-8`,
    });
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
    const starValue = /^\s*(?:-\s+)?[\w.-]+:\s+\*/.test(lineText);
    const hint = starValue ? `; ${ALIAS_HINT}` : flow ? `; ${FLOW_HINT}` : '';
    issues.push({ file, line: pos.line, col: pos.col, message: `YAML syntax error: ${message}${hint}` });
    return undefined;
  }
  const aliasProblem = unresolvedAlias(doc);
  if (aliasProblem) {
    const pos = aliasProblem.node.range ? lines.linePos(aliasProblem.node.range[0]) : undefined;
    issues.push({ file, line: pos?.line, col: pos?.col, message: aliasProblem.message });
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
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (error) {
    const bomb = /alias count/i.test((error as Error).message) ? nestedAlias(doc) : undefined;
    const pos = bomb?.range ? lines.linePos(bomb.range[0]) : undefined;
    const message = bomb
      ? `YAML aliases expand to too many nodes (an "alias bomb"; at most ${MAX_ALIAS_COUNT} expansions): write the values out or nest fewer aliases`
      : `cannot be read as YAML: ${(error as Error).message}`;
    issues.push({ file, line: pos?.line, col: pos?.col, message });
    return undefined;
  }
  return { file, doc, lines, data, tainted };
}

/** Aliases one document may expand to, in nodes: far above real configs, far below a "billion laughs". */
const MAX_ALIAS_COUNT = 100;

const ALIAS_HINT =
  'a value starting with * is a YAML alias (*name), not text: quote it, e.g. schedule: "*/5 * * * *"';

/** The position of a byte that is not UTF-8, or the decoded text. */
function decodeUtf8(bytes: Buffer): string | { line: number; col: number; byte: number } {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < bytes.length; ) {
      const width = utf8Width(bytes, i);
      if (width === 0) return { line, col: i - lineStart + 1, byte: bytes[i]! };
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
      i += width;
    }
    return { line, col: 1, byte: 0 };
  }
}

/** Length of the valid UTF-8 sequence at `i`, or 0. */
function utf8Width(bytes: Buffer, i: number): number {
  const b = bytes[i]!;
  const width = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  if (width <= 1) return width;
  if (i + width > bytes.length) return 0;
  for (let k = 1; k < width; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return 0;
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(i, i + width)).includes('\ufffd') ? 0 : width;
}

/** An alias to an anchor that is not defined (above it): found before toJS, so the message can name the line. */
function unresolvedAlias(doc: Document): { node: Alias; message: string } | undefined {
  let problem: { node: Alias; message: string } | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc)) return undefined;
      const hint = /^[/\d*]/.test(node.source) ? ALIAS_HINT : `define &${node.source} first, or quote the value if "*" was meant as text`;
      problem = { node, message: `YAML alias *${node.source} refers to an anchor &${node.source} that is not defined above it; ${hint}` };
      return visit.BREAK;
    },
  });
  return problem;
}

/** Where an alias bomb starts: the first alias whose anchor itself holds aliases (else the first alias). */
function nestedAlias(doc: Document): Alias | undefined {
  let first: Alias | undefined;
  let nested: Alias | undefined;
  visit(doc, {
    Alias(_key, node) {
      first ??= node;
      const target = node.resolve(doc);
      let holdsAlias = false;
      if (isCollection(target)) {
        visit(target, {
          Alias() {
            holdsAlias = true;
            return visit.BREAK;
          },
        });
      }
      if (!holdsAlias) return undefined;
      nested = node;
      return visit.BREAK;
    },
  });
  return nested ?? first;
}
