import { parseInstant } from '../expr/instant.js';
import type { CursorOrder } from './state-store.js';

export { parseInstant };

/** The three cursor types of `incremental.type`. */
export type CursorType = 'datetime' | 'number' | 'string';

/** A cursor value in canonical form: text to store and show, and a key to compare. */
export interface CursorValue {
  /** ISO 8601 UTC with milliseconds for datetimes, a decimal for numbers, the text for strings. */
  text: string;
  /** Epoch ms (datetime), the number (number), or the text itself (string). */
  sortKey: number | string;
}

/**
 * Reads one row's cursor value as `type`: undefined when it is missing, null, empty or not of
 * that type (the row is then counted as "without cursor").
 */
export function toCursorValue(type: CursorType, raw: unknown): CursorValue | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (type === 'datetime') {
    const ms = parseInstant(raw);
    return ms === undefined ? undefined : { text: new Date(ms).toISOString(), sortKey: ms };
  }
  if (type === 'number') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
    return Number.isFinite(n) ? { text: String(n), sortKey: n } : undefined;
  }
  if (typeof raw === 'object') return undefined;
  const text = String(raw);
  return { text, sortKey: text };
}

/** How the store compares values of a cursor type. */
export function cursorOrder(type: CursorType): CursorOrder {
  return type === 'string' ? 'string' : 'number';
}

/** a > b for two values of one type. */
export function isGreater(a: CursorValue, b: CursorValue): boolean {
  return typeof a.sortKey === 'number' && typeof b.sortKey === 'number' ? a.sortKey > b.sortKey : String(a.sortKey) > String(b.sortKey);
}
