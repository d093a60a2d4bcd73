/** Result of replacing `${VAR}` / `${VAR:-default}` in one string; `$${` escapes a literal `${`. */
export interface Interpolation {
  value: string;
  missing: string[];
}

const PATTERN = /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolate(input: string, env: Readonly<Record<string, string | undefined>>): Interpolation {
  const missing: string[] = [];
  const value = input.replace(PATTERN, (whole, escaped: string | undefined, name: string, fallback: string | undefined) => {
    if (escaped) return whole.slice(1);
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    if (found === '') return '';
    missing.push(name);
    return '';
  });
  return { value, missing };
}
