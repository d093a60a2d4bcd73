import { RestqError } from '../errors/restq-error.js';
import type { ParamValue } from '../config/types.js';

/** What `{{…}}` can refer to in a job's path, query, headers and body. */
export interface TemplateContext {
  params: Readonly<Record<string, ParamValue>>;
  now: string;
  date: string;
  runId: string;
  lastSuccessAt: string;
  /** `grid.forEach`: the current parent row under its `as` name ({{customer.id}}). */
  parents?: Readonly<Record<string, unknown>> | undefined;
}

export const TEMPLATE_ROOTS = ['params', 'now', 'date', 'runId', 'lastSuccessAt'] as const;

const PATTERN = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Names used in a template string, e.g. ["params.status", "lastSuccessAt"]. */
export function templateNames(text: string): string[] {
  return [...text.matchAll(PATTERN)].map((m) => m[1]!);
}

/**
 * Returns a message when a name cannot resolve at run time whatever the params. `parents` are
 * the forEach `as` names in scope ({{customer.id}}, {{customer.address.city}}).
 */
export function checkTemplateName(name: string, parents: readonly string[] = []): string | undefined {
  const [root, ...rest] = name.split('.');
  if (root === 'params') return rest.length === 1 && rest[0] !== '' ? undefined : `use {{params.NAME}}, not {{${name}}}`;
  if ((TEMPLATE_ROOTS as readonly string[]).includes(root!) && rest.length === 0) return undefined;
  if (parents.includes(root!)) return rest.length > 0 && rest.every((k) => k !== '') ? undefined : `use {{${root}.FIELD}} (a field of the forEach parent row), not {{${name}}}`;
  const roots = [...TEMPLATE_ROOTS.map((r) => (r === 'params' ? '{{params.NAME}}' : `{{${r}}}`)), ...parents.map((p) => `{{${p}.FIELD}}`)];
  return `unknown template value {{${name}}}: use one of ${roots.join(', ')}`;
}

/** A parent row's field as the template value: text as is, numbers and booleans as text, objects as JSON. */
function parentValue(name: string, ctx: TemplateContext, where: string): unknown {
  const [root, ...keys] = name.split('.');
  const row = ctx.parents?.[root!];
  let current: unknown = row;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') {
      current = undefined;
      break;
    }
    current = (current as Record<string, unknown>)[key];
  }
  if (current === undefined) {
    throw new RestqError(
      'E_TEMPLATE',
      `${where}: {{${name}}} has no value: the forEach parent row has no field ${keys.join('.')} (its keys: ${row !== null && typeof row === 'object' ? Object.keys(row).slice(0, 20).join(', ') || 'none' : typeof row}); check grid.forEach.rows or the template`,
      { permanent: true },
    );
  }
  return current;
}

function toText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The raw value of one template name (parent fields keep their JSON type). */
export function templateValue(name: string, ctx: TemplateContext, where: string): unknown {
  const root = name.split('.')[0]!;
  if (ctx.parents && Object.hasOwn(ctx.parents, root)) return parentValue(name, ctx, where);
  return lookup(name, ctx, where);
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
  throw new RestqError('E_TEMPLATE', `${where}: ${checkTemplateName(name) ?? `cannot resolve {{${name}}}`}`, { permanent: true });
}

/**
 * Replaces every `{{…}}` in `text`. `encode` is applied to each value (not to the text around
 * it): `encodePathValue` for a URL path, so a value never adds path segments or a query.
 */
export function renderTemplate(text: string, ctx: TemplateContext, where: string, encode?: (value: string) => string): string {
  return text.replace(PATTERN, (_, name: string) => {
    const value = toText(templateValue(name, ctx, where));
    return encode ? encode(value) : value;
  });
}

/**
 * A template value inside a URL path, percent-encoded as one segment: `a/b c` → `a%2Fb%20c`,
 * `ü` → `%C3%BC`. ":" and "@" (allowed in a segment) stay readable, e.g. in timestamps.
 */
export function encodePathValue(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ':').replace(/%40/g, '@');
}

const WHOLE = /^\{\{\s*params\.([^{}.\s]+)\s*\}\}$/;
const WHOLE_NAME = /^\{\{\s*([^{}\s]+)\s*\}\}$/;

/** A string that is exactly one `{{name}}` of a forEach parent: the field's own JSON value. */
export function wholeParentValue(text: string, ctx: TemplateContext, where: string): { found: boolean; value?: unknown } {
  const match = WHOLE_NAME.exec(text);
  if (!match || !ctx.parents || !Object.hasOwn(ctx.parents, match[1]!.split('.')[0]!)) return { found: false };
  return { found: true, value: parentValue(match[1]!, ctx, where) };
}

/**
 * Renders every string inside a JSON value (a request body). A string that is exactly one
 * `{{params.NAME}}` takes the parameter's own type, so `limit: "{{params.limit}}"` sends 100,
 * not "100", when the param is a number (and null stays null).
 */
export function renderDeep(value: unknown, ctx: TemplateContext, where: string): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole && Object.hasOwn(ctx.params, whole[1]!) && typeof ctx.params[whole[1]!] !== 'string') return ctx.params[whole[1]!];
    const parent = wholeParentValue(value, ctx, where);
    if (parent.found) return parent.value;
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

export interface TemplateContextInput {
  /** The job's `params:` defaults. */
  defaults: Readonly<Record<string, ParamValue>>;
  /** Run-time params (`--param`, queued run data); they override the defaults, typed like them. */
  params?: Readonly<Record<string, ParamValue>> | undefined;
  /** When the run started: `{{now}}` and `{{date}}` (UTC). */
  startedAt: Date;
  runId: string;
  /** The last successful run's start, ISO; empty before the first success. @default "" */
  lastSuccessAt?: string | undefined;
}

/** The values `{{…}}` resolves against in one run; the one place that builds them (run and --dry-run). */
export function templateContext(input: TemplateContextInput): TemplateContext {
  const iso = input.startedAt.toISOString();
  return { params: mergeParams(input.defaults, input.params), now: iso, date: iso.slice(0, 10), runId: input.runId, lastSuccessAt: input.lastSuccessAt ?? '' };
}
