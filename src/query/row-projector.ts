import { queryFirst } from '../expr/jsonpath.js';
import { isTemplateColumn, renderTemplate, wholeParentValue, type TemplateContext } from '../expr/template.js';

export type Cell = string | number | boolean | null;

/** Objects and arrays left after projection become JSON text: every sink gets flat rows. */
export function toCell(value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

/** Compiles `$.a.b` / `$['a b'].c` / `$.a[0]` to a property walk; anything else uses jsonpath-plus. */
export function compileGetter(expr: string): (row: unknown) => unknown {
  const simple = /^\$((?:\.[A-Za-z_$][\w$-]*|\['[^']*'\]|\[\d+\])*)$/.exec(expr);
  if (!simple) return (row) => queryFirst(expr, row).value;
  const keys = [...simple[1]!.matchAll(/\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]|\[(\d+)\]/g)].map((m) => m[1] ?? m[2] ?? Number(m[3]));
  return (row) => {
    let current: unknown = row;
    for (const key of keys) {
      if (current === null || typeof current !== 'object') return undefined;
      current = (current as Record<string | number, unknown>)[key];
    }
    return current;
  };
}

type ColumnGetter = (row: unknown, ctx: TemplateContext | undefined) => unknown;

function compileColumn(name: string, expr: string): ColumnGetter {
  if (!isTemplateColumn(expr)) {
    const get = compileGetter(expr);
    return (row) => get(row);
  }
  const where = `grid.columns.${name}`;
  return (_row, ctx) => {
    if (!ctx) return renderTemplate(expr, { params: {}, now: '', date: '', runId: '', lastSuccessAt: '' }, where);
    // Exactly one parent field keeps its JSON type: "{{customer.id}}" stays a number.
    const whole = wholeParentValue(expr.trim(), ctx, where);
    return whole.found ? whole.value : renderTemplate(expr, ctx, where);
  };
}

function flattenInto(value: unknown, prefix: string, out: Record<string, Cell>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix) out[prefix] = '{}';
    for (const [key, child] of entries) flattenInto(child, prefix ? `${prefix}.${key}` : key, out);
    return;
  }
  out[prefix || 'value'] = toCell(value);
}

/** `{a: {b: 1}, c: [1]}` → `{"a.b": 1, c: "[1]"}`. */
export function flatten(value: unknown): Record<string, Cell> {
  // No prototype: a key named "constructor" must not find Object's.
  const out = Object.create(null) as Record<string, Cell>;
  flattenInto(value, '', out);
  return out;
}

/**
 * Turns raw row objects into arrays of cells aligned to fixed columns: the job's `columns`, or
 * (when flattening) the first row's keys. Keys first seen later are dropped and reported once.
 */
export class RowProjector {
  #columns: string[] | undefined;
  #columnSet = new Set<string>();
  readonly #getters: ColumnGetter[] | undefined;
  readonly #newKeys = new Set<string>();
  readonly #paths: readonly string[] = [];
  /** Per column of `columns`: whether its path found a value in any row so far. */
  #matched: boolean[] = [];
  #unmatched = 0;
  #rows = 0;
  #firstKeys: string[] | undefined;

  constructor(columns?: Readonly<Record<string, string>>) {
    if (columns) {
      this.#columns = Object.keys(columns);
      this.#paths = Object.values(columns);
      this.#getters = Object.entries(columns).map(([name, expr]) => compileColumn(name, expr));
      // Template columns are not paths into the row: they cannot "match nothing".
      this.#matched = this.#paths.map((expr) => isTemplateColumn(expr));
      this.#unmatched = this.#matched.filter((m) => !m).length;
    }
  }

  /** Known once the first row is seen (or up front with `columns`). */
  get columns(): readonly string[] | undefined {
    return this.#columns;
  }

  /** `ctx` renders template columns (the run's values, and the forEach parent row). */
  project(row: unknown, ctx?: TemplateContext): Cell[] {
    if (this.#getters) {
      this.#rows++;
      if (this.#firstKeys === undefined) this.#firstKeys = row !== null && typeof row === 'object' && !Array.isArray(row) ? Object.keys(row) : [];
      const getters = this.#getters;
      const cells = new Array<Cell>(getters.length);
      for (let i = 0; i < getters.length; i++) {
        const value = getters[i]!(row, ctx);
        // Counting stops once every column matched: the common case costs one comparison.
        if (this.#unmatched > 0 && value !== undefined && !this.#matched[i]) {
          this.#matched[i] = true;
          this.#unmatched--;
        }
        cells[i] = toCell(value);
      }
      return cells;
    }
    const flat = flatten(row);
    if (!this.#columns) {
      this.#columns = Object.keys(flat);
      this.#columnSet = new Set(this.#columns);
    }
    const cells = this.#columns.map((c) => flat[c] ?? null);
    for (const key in flat) if (!this.#columnSet.has(key) && !this.#isNullParent(key, flat[key])) this.#newKeys.add(key);
    return cells;
  }

  /** `customer: null` where other rows had `customer.name`: an absent object, not a new column. */
  #isNullParent(key: string, value: Cell | undefined): boolean {
    return value === null && this.#columns!.some((c) => c.startsWith(`${key}.`));
  }

  warnings(): string[] {
    const out: string[] = [];
    if (this.#rows > 0 && this.#unmatched > 0) {
      const keys = this.#firstKeys ?? [];
      const shown = keys.length === 0 ? 'the first row is not an object' : `keys of the first row: ${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ', …' : ''}`;
      this.#columns!.forEach((column, i) => {
        if (!this.#matched[i]) {
          out.push(`grid.columns.${column} (${this.#paths[i]}) matched nothing in any of the ${this.#rows} rows: check the path against a row (${shown})`);
        }
      });
    }
    if (this.#newKeys.size === 0) return out;
    const keys = [...this.#newKeys];
    return [
      ...out,
      `rows had keys the first row lacked, left out of the output: ${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ` and ${keys.length - 10} more` : ''}; list them under grid.columns to keep them`,
    ];
  }
}
