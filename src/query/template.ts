import { RestqError } from '../errors/restq-error.js';
import type { ParamValue } from '../config/types.js';

/** What `{{…}}` can refer to in a job's path, query, headers and body. */
export interface TemplateContext {
  params: Readonly<Record<string, ParamValue>>;
  now: string;
  date: string;
  runId: string;
  lastSuccessAt: string;
  /** Incremental jobs (SPEC 8): the run's (or slice's) window, rendered; "" where open. */
  window?: { start: string; end: string } | undefined;
  /** Incremental jobs: the window start. */
  cursor?: string | undefined;
}

export const TEMPLATE_ROOTS = ['params', 'now', 'date', 'runId', 'lastSuccessAt', 'window', 'cursor'] as const;

/** Template names that only incremental jobs can resolve. */
export const INCREMENTAL_TEMPLATES = ['window.start', 'window.end', 'cursor'] as const;

const PATTERN = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Names used in a template string, e.g. ["params.status", "lastSuccessAt"]. */
export function templateNames(text: string): string[] {
  return [...text.matchAll(PATTERN)].map((m) => m[1]!);
}

/** Returns a message when a name cannot resolve at run time whatever the params. */
export function checkTemplateName(name: string): string | undefined {
  const [root, ...rest] = name.split('.');
  if (root === 'params') return rest.length === 1 && rest[0] !== '' ? undefined : `use {{params.NAME}}, not {{${name}}}`;
  if (root === 'window') return name === 'window.start' || name === 'window.end' ? undefined : `use {{window.start}} or {{window.end}}, not {{${name}}}`;
  if ((TEMPLATE_ROOTS as readonly string[]).includes(root!) && rest.length === 0) return undefined;
  const names = TEMPLATE_ROOTS.map((r) => (r === 'params' ? '{{params.NAME}}' : r === 'window' ? '{{window.start}}, {{window.end}}' : `{{${r}}}`));
  return `unknown template value {{${name}}}: use one of ${names.join(', ')}`;
}

function lookup(name: string, ctx: TemplateContext, where: string): string {
  const [root, key] = name.split('.');
  if (root === 'params') {
    if (key === undefined || !Object.hasOwn(ctx.params, key)) {
      throw new RestqError(
        'E_TEMPLATE',
        `${where}: {{${name}}} has no value: set params.${key ?? 'NAME'} in the job file or pass --param ${key ?? 'NAME'}=VALUE`,
        { permanent: true },
      );
    }
    const value = ctx.params[key];
    return value === null || value === undefined ? '' : String(value);
  }
  if (root === 'now' || root === 'date' || root === 'runId' || root === 'lastSuccessAt') return ctx[root];
  if (name === 'window.start') return ctx.window?.start ?? '';
  if (name === 'window.end') return ctx.window?.end ?? '';
  if (root === 'cursor' && key === undefined) return ctx.cursor ?? '';
  throw new RestqError('E_TEMPLATE', `${where}: ${checkTemplateName(name) ?? `cannot resolve {{${name}}}`}`, { permanent: true });
}

export function renderTemplate(text: string, ctx: TemplateContext, where: string): string {
  return text.replace(PATTERN, (_, name: string) => lookup(name, ctx, where));
}

const WHOLE = /^\{\{\s*params\.([^{}.\s]+)\s*\}\}$/;

/**
 * Renders every string inside a JSON value (a request body). A string that is exactly one
 * `{{params.NAME}}` takes the parameter's own type, so `limit: "{{params.limit}}"` sends 100,
 * not "100", when the param is a number (and null stays null).
 */
export function renderDeep(value: unknown, ctx: TemplateContext, where: string): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole && Object.hasOwn(ctx.params, whole[1]!) && typeof ctx.params[whole[1]!] !== 'string') return ctx.params[whole[1]!];
    return renderTemplate(value, ctx, where);
  }
  if (Array.isArray(value)) return value.map((v, i) => renderDeep(v, ctx, `${where}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, ctx, `${where}.${k}`)]));
  }
  return value;
}

/**
 * The job's `params` overridden by run-time values. A `--param` arrives as text: where the
 * job's default is a number or boolean and the text reads as one, it keeps that type.
 */
export function mergeParams(
  defaults: Readonly<Record<string, ParamValue>>,
  overrides: Readonly<Record<string, ParamValue>> = {},
): Record<string, ParamValue> {
  const merged: Record<string, ParamValue> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    const fallback = defaults[key];
    if (typeof value === 'string' && typeof fallback === 'number' && value.trim() !== '' && Number.isFinite(Number(value))) merged[key] = Number(value);
    else if (typeof value === 'string' && typeof fallback === 'boolean' && (value === 'true' || value === 'false')) merged[key] = value === 'true';
    else merged[key] = value;
  }
  return merged;
}
