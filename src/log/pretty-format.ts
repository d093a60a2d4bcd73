/**
 * Human-readable log lines for a terminal, from pino's JSON lines: `12:04:05.123 INFO  message
 * key=value …`. A small formatter of our own rather than pino-pretty, a development tool: restq
 * is installed without dev dependencies (`npm install -g restq`, the Docker image), and its log
 * lines must share stderr with the live progress line.
 */

const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '36' },
  30: { name: 'INFO', colour: '32' },
  40: { name: 'WARN', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '35' },
};

/** pino's own fields, shown in the line's head (or not at all) rather than as key=value. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);

export interface PrettyOptions {
  /** ANSI colours; off for NO_COLOR. */
  colour: boolean;
  /** Print error stacks (debug and trace levels). */
  stacks: boolean;
}

function paint(on: boolean, code: string, text: string): string {
  return on ? `\x1b[${code}m${text}\x1b[0m` : text;
}

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"]+$/.test(value) ? value : JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return JSON.stringify(value);
}

interface SerializedError {
  type?: string;
  message?: string;
  stack?: string;
  code?: string;
}

/** One pino log object as one terminal line (plus an indented stack for errors when asked). */
export function formatPretty(entry: Record<string, unknown>, options: PrettyOptions): string {
  const level = LEVELS[entry['level'] as number] ?? { name: String(entry['level']), colour: '37' };
  const { colour } = options;
  const parts = [paint(colour, '90', clock(entry['time'])), paint(colour, level.colour, level.name.padEnd(5))];
  if (typeof entry['msg'] === 'string' && entry['msg']) parts.push(entry['msg']);
  const err = entry['err'] as SerializedError | undefined;
  if (err && typeof err === 'object') parts.push(paint(colour, '31', `${err.code ? `[${err.code}] ` : ''}${err.message ?? ''}`));
  for (const [key, value] of Object.entries(entry)) {
    if (HEAD_FIELDS.has(key) || value === undefined) continue;
    parts.push(`${paint(colour, '90', `${key}=`)}${valueText(value)}`);
  }
  let line = parts.join(' ');
  if (options.stacks && err?.stack) {
    const frames = err.stack.split('\n').filter((l) => /^\s+at /.test(l));
    if (frames.length > 0) line += `\n${paint(colour, '90', frames.map((f) => `    ${f.trim()}`).join('\n'))}`;
  }
  return line;
}
