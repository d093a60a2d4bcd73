/** `(?i)rate limit` → /rate limit/i: the inline flag users know from other regex dialects. */
export function compileMatches(pattern: string): RegExp {
  const inline = /^\(\?([a-z]+)\)/.exec(pattern);
  const flags = inline ? [...new Set(inline[1]!.replace(/[^imsu]/g, ''))].join('') : '';
  return new RegExp(inline ? pattern.slice(inline[0].length) : pattern, flags);
}
