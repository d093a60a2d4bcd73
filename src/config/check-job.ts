import { createRequire } from 'node:module';
import type { CronExpressionParser as CronParser } from 'cron-parser';
import type { ConfigIssue } from '../errors/config-error.js';
import { checkJsonPath } from '../expr/check-jsonpath.js';
import { checkTemplateName, INCREMENTAL_TEMPLATES, isTemplateColumn, TEMPLATE_ROOTS, templateNames } from '../expr/template.js';
import { parseInstant } from '../expr/instant.js';
import { PAGINATOR_KEYS, paginatorKeys } from './paginator-keys.js';
import { didYouMean } from './did-you-mean.js';
import { asMap, asString, type RawMap } from './raw.js';
import { describePath } from './schema-issues.js';

export const OUTPUT_PLACEHOLDERS = ['job', 'date', 'time', 'runId'] as const;

export interface JobCheckContext {
  name: string;
  /** Names in connections.yaml; undefined when it could not be read (then nothing is compared). */
  connections: ReadonlySet<string> | undefined;
  at: (where: PropertyKey[], key?: string) => Omit<ConfigIssue, 'message'>;
  issues: ConfigIssue[];
}

// cron-parser (with luxon) costs ~8 MB RSS and a good part of `restq validate`'s start: it is
// required (CommonJS, so synchronously) only when a job has a schedule to check.
const require = createRequire(import.meta.url);
let cronParser: typeof CronParser | undefined;
function cron(): typeof CronParser {
  return (cronParser ??= (require('cron-parser') as typeof import('cron-parser')).CronExpressionParser);
}

/** A cron expression with 5 fields, or 6 with seconds first; undefined when valid. */
export function checkCron(schedule: string, timezone: string | undefined): string | undefined {
  const parts = schedule.trim().split(/\s+/);
  const fields = parts.length;
  // "0 9 * * 1 2027": five fields and a Quartz-style year would be read as seconds-first, the
  // year as day-of-week, and run at the wrong times (or fail with a range error naming 0-7).
  if (fields === 6 && /^(?:19|20)\d\d(?:[-,/](?:19|20)?\d\d)*$/.test(parts[5]!)) {
    return `6 fields are read with seconds first (second minute hour day-of-month month day-of-week), and the last field "${parts[5]}" looks like a year, which cron has no field for: remove it`;
  }
  try {
    if (fields !== 5 && fields !== 6) throw new Error(`${fields} fields`);
    cron().parse(schedule, timezone ? { tz: timezone } : {});
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

// Building an Intl.DateTimeFormat with a timeZone loads ICU's time zone data: ~9 MB RSS, more
// than yaml or zod. The canonical names (and UTC) are answered from a list that costs ~2 MB; only
// aliases (US/Pacific, Etc/GMT+5) and typos go to Intl.DateTimeFormat, which decides as before.
// UTC, the default and the most common value, is answered before the list is built (~3 ms).
let canonicalZones: Set<string> | undefined;

export function isTimezone(timezone: string): boolean {
  const name = timezone.toLowerCase();
  if (name === 'utc') return true;
  canonicalZones ??= new Set(Intl.supportedValuesOf('timeZone').map((z) => z.toLowerCase()));
  if (canonicalZones.has(name)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Rules the schema cannot express, read from the raw job so they are reported even when
 * another key of the file has the wrong type: every problem at once.
 */
export function checkJob(raw: RawMap, ctx: JobCheckContext): void {
  const { name, at } = ctx;
  const add = (where: Omit<ConfigIssue, 'message'>, message: string) => ctx.issues.push({ ...where, message: `job "${name}": ${message}` });

  const connection = asString(raw['connection']);
  if (connection && ctx.connections && !ctx.connections.has(connection)) {
    const known = [...ctx.connections];
    const hint = didYouMean(connection, known);
    add(
      at(['connection']),
      `connection "${connection}" is not defined in connections.yaml${hint ? `: did you mean "${hint}"?` : `; defined: ${known.join(', ') || '(none)'}`}`,
    );
  }

  const grid = asMap(raw['grid']);
  const scalar = asMap(raw['scalar']);
  if (raw['grid'] !== undefined && raw['scalar'] !== undefined) add(at(['scalar']), 'has both grid and scalar: keep exactly one (grid for rows, scalar for one value)');
  if (raw['grid'] === undefined && raw['scalar'] === undefined) add(at([]), 'needs a query: add grid (rows) or scalar (one value), exactly one');

  const timezone = asString(raw['timezone']);
  const timezoneOk = timezone === undefined || isTimezone(timezone);
  if (!timezoneOk) add(at(['timezone']), `unknown timezone "${timezone}": use an IANA name such as UTC or Europe/Berlin`);
  const schedule = asString(raw['schedule']);
  const cronProblem = schedule === undefined ? undefined : checkCron(schedule, timezoneOk ? timezone : undefined);
  if (cronProblem) {
    add(
      at(['schedule']),
      `invalid cron schedule "${schedule}" (${cronProblem}): use 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, e.g. "*/15 * * * *"`,
    );
  }

  const paths: [PropertyKey[], unknown][] = [];
  const forEach = asMap(grid?.['forEach']);
  const alias = forEach ? (asString(forEach['as']) ?? 'parent') : undefined;
  if (alias && (TEMPLATE_ROOTS as readonly string[]).includes(alias)) {
    add(at(['grid', 'forEach', 'as']), `grid.forEach.as "${alias}" is a built-in template name: choose another (e.g. customer)`);
  }
  const checkPaginate = (where: PropertyKey[], paginate: RawMap | undefined) => {
    if (!paginate) return;
    paths.push([[...where, 'nextUrl'], paginate['nextUrl']]);
    paths.push([[...where, 'cursor', 'path'], asMap(paginate['cursor'])?.['path']]);
    paths.push([[...where, 'total'], paginate['total']]);
    paths.push([[...where, 'stopWhen'], paginate['stopWhen']]);
    const strategies = paginatorKeys(paginate);
    if (strategies.length !== 1) {
      add(at(where), `paginate needs exactly one of ${PAGINATOR_KEYS.join(', ')}${strategies.length ? ` (found ${strategies.join(', ')})` : ''}`);
    }
    const numbered = strategies.length === 1 && (strategies[0] === 'page' || strategies[0] === 'offset');
    const concurrency = paginate['concurrency'];
    if (!numbered && strategies.length === 1 && concurrency !== undefined && Number(concurrency) > 1) {
      add(at(where, 'concurrency'), `paginate.concurrency works with page and offset (numbered pages); ${strategies[0]} pages each depend on the one before, so they are fetched one at a time: remove concurrency`);
    }
    if (!numbered && strategies.length === 1 && paginate['total'] !== undefined) {
      add(at(where, 'total'), `paginate.total works with page (page count) and offset (row count), not with ${strategies[0]}: remove total`);
    }
  };
  if (grid) {
    paths.push([['grid', 'rows'], grid['rows']]);
    for (const [column, expr] of Object.entries(asMap(grid['columns']) ?? {})) {
      if (typeof expr === 'string' && !isTemplateColumn(expr)) paths.push([['grid', 'columns', column], expr]);
    }
    checkPaginate(['grid', 'paginate'], asMap(grid['paginate']));
  }
  if (forEach) {
    paths.push([['grid', 'forEach', 'rows'], forEach['rows']]);
    checkPaginate(['grid', 'forEach', 'paginate'], asMap(forEach['paginate']));
  }
  if (scalar) paths.push([['scalar', 'value'], scalar['value']]);
  for (const [where, expr] of paths) {
    const problem = typeof expr === 'string' && expr !== '' ? checkJsonPath(expr) : undefined;
    if (problem) add(at(where), `${describePath(where)} "${expr as string}" is not a valid JSONPath: ${problem}`);
  }

  const sections: [PropertyKey[], RawMap | undefined, string[]][] = [
    [['grid'], grid, alias ? [alias] : []],
    [['grid', 'forEach'], forEach, []],
    [['scalar'], scalar, []],
  ];
  for (const [section, query, parents] of sections) {
    if (!query) continue;
    const templated: [PropertyKey[], string][] = [];
    if (typeof query['path'] === 'string') templated.push([[...section, 'path'], query['path']]);
    for (const key of ['query', 'headers'] as const) {
      for (const [k, v] of Object.entries(asMap(query[key]) ?? {})) if (typeof v === 'string') templated.push([[...section, key, k], v]);
    }
    if (query['body'] !== undefined && query['body'] !== null) templated.push([[...section, 'body'], JSON.stringify(query['body'])]);
    if (section.length === 1 && section[0] === 'grid') {
      for (const [column, expr] of Object.entries(asMap(query['columns']) ?? {})) if (typeof expr === 'string' && isTemplateColumn(expr)) templated.push([['grid', 'columns', column], expr]);
    }
    for (const [where, text] of templated) {
      for (const templateName of templateNames(text)) {
        const problem = checkTemplateName(templateName, parents);
        if (problem) add(at(where), `${describePath(where)}: ${problem}`);
        else if ((INCREMENTAL_TEMPLATES as readonly string[]).includes(templateName) && raw['incremental'] === undefined) {
          add(at(where), `${describePath(where)}: {{${templateName}}} needs an incremental: section (cursor, type, start) in this job`);
        }
      }
    }
  }

  checkIncremental(raw, add, at);

  const output = raw['output'];
  if (Array.isArray(output)) {
    output.forEach((entry: unknown, index) => {
      const item = asMap(entry);
      if (!item) return;
      const keys = ['csv', 'webhook', 'stdout'].filter((k) => k in item);
      if (keys.length > 1) add(at(['output', index]), `output[${index}] has ${keys.join(' and ')}: make each sink its own list item (- csv: …, - stdout: …)`);
      if (keys.length === 0 && Object.keys(item).length === 0) add(at(['output', index]), `output[${index}] is empty: use csv, webhook or stdout`);
      const csv = typeof item['csv'] === 'string' ? item['csv'] : asString(asMap(item['csv'])?.['path']);
      if (csv && /^\/(?:proc|sys|dev)(?:\/|$)/.test(csv.replace(/\\/g, '/'))) {
        const root = csv.split('/')[1];
        add(at(['output', index, 'csv']), `csv path "${csv}" is under /${root}, a kernel file system, not a place for files: write to a directory such as out/{job}.csv`);
      }
      const unknown = [...(csv ?? '').matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!).filter((n) => !(OUTPUT_PLACEHOLDERS as readonly string[]).includes(n));
      if (unknown.length > 0) {
        add(at(['output', index, 'csv']), `csv path "${csv}" uses unknown placeholder {${unknown[0]}}: use ${OUTPUT_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`);
      }
    });
  }
}

const DURATION_HINT = 'e.g. 10m, 1h, 1d';

/** `incremental:` rules that span keys: grid only, start of the cursor's type, lookback/slice on datetimes. */
function checkIncremental(raw: RawMap, add: (where: Omit<ConfigIssue, 'message'>, message: string) => void, at: JobCheckContext['at']): void {
  const incremental = asMap(raw['incremental']);
  if (raw['incremental'] === undefined) return;
  if (!incremental) return; // the schema says what it should be
  if (raw['scalar'] !== undefined) add(at(['incremental']), 'incremental works on grid jobs (rows with a cursor value); a scalar job has no rows to track');
  if (typeof incremental['cursor'] === 'string' && incremental['cursor'] !== '') {
    const problem = checkJsonPath(incremental['cursor']);
    if (problem) add(at(['incremental', 'cursor']), `incremental.cursor "${incremental['cursor']}" is not a valid JSONPath: ${problem}`);
  }
  const type = asString(incremental['type']) ?? 'datetime';
  const start = incremental['start'];
  if (start === undefined) {
    add(at(['incremental']), `incremental needs start: the first run's window start, e.g. start: "2024-01-01T00:00:00Z"${type === 'datetime' ? '' : ' (a value of the cursor)'}`);
  } else if (type === 'datetime' && (typeof start === 'string' || typeof start === 'number') && parseInstant(start) === undefined) {
    add(at(['incremental', 'start']), `incremental.start ${JSON.stringify(start)} is not a datetime: use ISO 8601 such as "2024-01-01T00:00:00Z" or epoch seconds`);
  } else if (type === 'number' && !Number.isFinite(typeof start === 'number' ? start : Number(start))) {
    add(at(['incremental', 'start']), `incremental.start ${JSON.stringify(start)} is not a number (type: number)`);
  }
  if (type !== 'datetime') {
    for (const key of ['lookback', 'slice'] as const) {
      if (incremental[key] !== undefined) {
        add(at(['incremental', key]), `incremental.${key} needs type: datetime (a duration, ${DURATION_HINT}); a ${type} cursor has no time to step back or slice by`);
      }
    }
  }
  if (incremental['slice'] !== undefined && (incremental['slice'] === 0 || incremental['slice'] === '0')) add(at(['incremental', 'slice']), `incremental.slice must be longer than 0 (${DURATION_HINT})`);
}
