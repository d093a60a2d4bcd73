import { JSONPath } from 'jsonpath-plus';

// The syntax check lives apart (check-jsonpath.ts) so `restq validate` does not load jsonpath-plus.
export { checkJsonPath } from './check-jsonpath.js';

export function queryAll(expr: string, json: unknown): unknown[] {
  // jsonpath-plus types `json` as a non-null object; primitives are fine at run time.
  // jsonpath-plus answers undefined instead of [] for a null document.
  return (JSONPath({ path: expr, json: json as object, wrap: true, eval: 'safe' }) as unknown[] | undefined) ?? [];
}

/** Parsed key paths of `$`, `$.a.b`, `$['a b']`, `$.a[0]` (null: not such a path), by expression. */
const keyPaths = new Map<string, (string | number)[] | null>();

function keyPathOf(expr: string): (string | number)[] | null {
  let keys = keyPaths.get(expr);
  if (keys === undefined) {
    const simple = /^\$((?:\.[A-Za-z_$][\w$-]*|\['[^']*'\]|\[\d+\])*)$/.exec(expr);
    keys = simple ? [...simple[1]!.matchAll(/\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]|\[(\d+)\]/g)].map((m) => m[1] ?? m[2] ?? Number(m[3])) : null;
    // Expressions come from the config: a handful. The bound only guards against a caller that builds them.
    if (keyPaths.size < 1000) keyPaths.set(expr, keys);
  }
  return keys;
}

/**
 * The first match of `expr`. A plain key path (`$.count`, `$.links.next`, `$['a b'][0]`) is a
 * property walk over own properties, as jsonpath-plus would match it but without its parser
 * on every call (a scalar run and every page use one); anything else goes to jsonpath-plus.
 */
export function queryFirst(expr: string, json: unknown): { found: boolean; value: unknown } {
  // Primitives and null go to jsonpath-plus, whose answers there (e.g. `$[0]` of a string) the walk would not copy.
  const keys = json !== null && typeof json === 'object' ? keyPathOf(expr) : null;
  if (keys) {
    let current = json;
    for (const key of keys) {
      if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return { found: false, value: undefined };
      current = (current as Record<string | number, unknown>)[key];
    }
    return { found: true, value: current };
  }
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
