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
