import { JSONPath } from 'jsonpath-plus';

/**
 * jsonpath-plus accepts nearly any string and quietly matches nothing, so a typo in a config
 * would only show up as an empty extract. This catches the usual mistakes up front.
 * Returns a message, or undefined when the expression looks well-formed.
 */
export function checkJsonPath(expr: string): string | undefined {
  if (!expr.startsWith('$')) return `must start with "$" (e.g. "$.${expr.replace(/^\.+/, '')}")`;
  const stack: string[] = [];
  let quote: string | undefined;
  for (let i = 1; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '[' || c === '(') stack.push(c === '[' ? ']' : ')');
    else if (c === ']' || c === ')') {
      if (stack.pop() !== c) return `unbalanced "${c}" at character ${i + 1}`;
    } else if (/\s/.test(c) && stack.length === 0) return `unexpected space at character ${i + 1}: quote names with spaces as $['a b']`;
    else if (c === '$' && stack.length === 0) return `unexpected "$" at character ${i + 1}`;
  }
  if (quote) return `unterminated ${quote} quote`;
  if (stack.length > 0) return `missing "${stack.at(-1)}"`;
  if (/\.\.\.|\.$/.test(expr) && !expr.endsWith('..*')) return 'must not end with "." or contain "..."';
  return undefined;
}

export function queryAll(expr: string, json: unknown): unknown[] {
  // jsonpath-plus fails with a TypeError on a null or scalar document (an API answering `null`).
  if (json === null || typeof json !== 'object') return expr === '$' ? [json] : [];
  return JSONPath({ path: expr, json: json as object, wrap: true, eval: 'safe' }) as unknown[];
}

export function queryFirst(expr: string, json: unknown): { found: boolean; value: unknown } {
  const all = queryAll(expr, json);
  return all.length === 0 ? { found: false, value: undefined } : { found: true, value: all[0] };
}

/** Top-level keys of a response, for error messages that never show values. */
export function describeTopLevel(json: unknown): string {
  if (Array.isArray(json)) return `an array of ${json.length}`;
  if (json !== null && typeof json === 'object') {
    const keys = Object.keys(json);
    return keys.length === 0 ? 'an empty object' : `top-level keys: ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ', …' : ''}`;
  }
  return `a ${json === null ? 'null' : typeof json}`;
}

/**
 * For `$[*]`, `$.data[*]`, `$.a.b[*]` (and `$['a'].b[*]`) returns the key path to the array;
 * undefined for any other expression. Such paths can be evaluated on a streamed body.
 */
export function simpleArrayPath(expr: string): string[] | undefined {
  const match = /^\$((?:\.[A-Za-z_$][\w$-]*|\['[^']+'\])*)\[\*\]$/.exec(expr);
  if (!match) return undefined;
  const keys: string[] = [];
  for (const part of match[1]!.matchAll(/\.([A-Za-z_$][\w$-]*)|\['([^']+)'\]/g)) keys.push(part[1] ?? part[2]!);
  return keys;
}

/** The value at a key path (as simpleArrayPath returns), or undefined where the path breaks off. */
export function valueAtKeys(json: unknown, keys: readonly string[]): unknown {
  let current = json;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * The first key of the leading key chain of `expr` (`$.data` of `$.data[*]`, `$.a.b` of
 * `$.a.b[?(@.x)]`) that the document lacks, or undefined when the chain is all there. An empty
 * array at the end of the chain is data (0 rows); a missing key is a wrong path.
 */
export function missingKey(expr: string, json: unknown): string | undefined {
  const chain = /^\$((?:\.[A-Za-z_$][\w$-]*|\['[^']+'\])*)/.exec(expr)?.[1] ?? '';
  let current = json;
  for (const part of chain.matchAll(/\.([A-Za-z_$][\w$-]*)|\['([^']+)'\]/g)) {
    const key = part[1] ?? part[2]!;
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, key)) return key;
    current = (current as Record<string, unknown>)[key];
  }
  return undefined;
}
