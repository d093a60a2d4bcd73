/** Deterministic sample orders with every value a CSV writer gets wrong: commas, quotes, newlines, unicode, nulls, nesting. */
export interface SampleOrder {
  id: number;
  status: 'open' | 'closed';
  customer: { name: string; email: string | null; address: { city: string; country: string } };
  amount: { total: number; currency: string };
  tags: string[];
  note: string | null;
  paid: boolean;
  createdAt: string;
}

const NAMES = ['Müller, Anna', 'O\'Brien "Bob"', 'Zoë Ångström', '山田 太郎', 'Line\nBreak Ltd', 'Plain Person', '  padded  ', 'Emoji 🚀 Co'];
const CITIES = [
  { city: 'Berlin', country: 'DE' },
  { city: 'São Paulo', country: 'BR' },
  { city: 'Reykjavík', country: 'IS' },
  { city: 'Tokyo', country: 'JP' },
];
const NOTES = [null, 'ship asap, "fragile"', 'multi\nline\r\nnote', '', 'comma, inside', 'naïve café', '=SUM(A1)', 'tab\tseparated'];

export function sampleOrder(i: number): SampleOrder {
  return {
    id: i,
    status: i % 3 === 0 ? 'closed' : 'open',
    customer: {
      name: NAMES[i % NAMES.length]!,
      email: i % 5 === 0 ? null : `customer${i}@example.com`,
      address: CITIES[i % CITIES.length]!,
    },
    amount: { total: Math.round(i * 1234.5) / 100, currency: i % 2 ? 'EUR' : 'USD' },
    tags: i % 4 === 0 ? [] : ['a', `t${i % 7}`],
    note: NOTES[i % NOTES.length]!,
    paid: i % 2 === 0,
    createdAt: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
  };
}

/** A customer of the sample API; `orders` of customer k are the sample orders i with i % CUSTOMERS.length === k. */
export interface SampleCustomer {
  id: string;
  name: string;
  country: string;
}

/**
 * The sample customers. Ids are what real APIs hand out, including ones that must be
 * percent-encoded in a path ("acme/eu west" → acme%2Feu%20west); "gone-42" was deleted: its
 * orders endpoint answers 404 (forEach `skipOn`).
 */
export const SAMPLE_CUSTOMERS: readonly SampleCustomer[] = [
  { id: 'c-100', name: 'Müller, Anna', country: 'DE' },
  { id: 'c-101', name: "O'Brien \"Bob\"", country: 'IE' },
  { id: 'acme/eu west', name: 'ACME Europe', country: 'NL' },
  { id: 'zoë', name: 'Zoë Ångström', country: 'SE' },
  { id: 'gone-42', name: 'Deleted Customer', country: 'US' },
  { id: 'c-105', name: '山田 太郎', country: 'JP' },
  { id: 'c-106', name: 'Plain Person', country: 'GB' },
];
