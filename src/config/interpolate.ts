/** Result of replacing `${VAR}` / `${VAR:-default}` in one string; `$${` escapes a literal `${`. */
export interface Interpolation {
  value: string;
  /** Variables that are unset (or empty) and have no default. */
  missing: string[];
  /** Variables whose value came from the environment (not from a default). */
  used: string[];
  /** A `${` that is neither `${NAME}`, `${NAME:-default}` nor escaped as `$${`. */
  malformed: boolean;
}

// `$${` first, so an escaped reference is never read as a variable.
const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g;

export function interpolate(input: string, env: Readonly<Record<string, string | undefined>>): Interpolation {
  const missing: string[] = [];
  const used: string[] = [];
  let malformed = false;
  const value = input.replace(PATTERN, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === '$${') return '${';
    if (name === undefined) {
      malformed = true;
      return whole;
    }
    const found = env[name];
    // As in POSIX shells, `${VAR:-default}` also replaces an empty value.
    if (found !== undefined && found !== '') {
      used.push(name);
      return found;
    }
    if (fallback !== undefined) return fallback;
    if (found === '') return '';
    missing.push(name);
    return '';
  });
  return { value, missing, used, malformed };
}
