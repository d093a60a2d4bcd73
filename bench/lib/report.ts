import { formatTable } from '../../src/commands/table.js';

/** One measured figure, restq's and the baseline's, side by side. */
export interface BenchLine {
  metric: string;
  restq: number;
  baseline: number;
  unit: string;
  /** How restq's figure compares: ratio = restq / baseline, read with `better`. */
  better: 'higher' | 'lower';
  /** The goal, stated as text (e.g. "≥ 0.9×"), and whether it was met. */
  target?: string;
  met?: boolean;
}

export interface BenchReport {
  name: string;
  /** What was measured, in one line (sizes, processes). */
  setup: string;
  lines: BenchLine[];
  notes: string[];
  /** Raw figures for the quick-mode test (row counts, sizes). */
  checks?: Record<string, number>;
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(3)).toString());

export function ratio(line: BenchLine): number {
  return line.baseline === 0 ? (line.restq === 0 ? 1 : Infinity) : line.restq / line.baseline;
}

export function formatReport(report: BenchReport): string {
  const table = formatTable(
    [
      { header: 'metric', value: (l: BenchLine) => l.metric },
      { header: 'restq', value: (l: BenchLine) => `${fmt(l.restq)} ${l.unit}`, align: 'right' },
      { header: 'baseline', value: (l: BenchLine) => `${fmt(l.baseline)} ${l.unit}`, align: 'right' },
      { header: 'ratio', value: (l: BenchLine) => `${ratio(l).toFixed(2)}×`, align: 'right' },
      { header: 'target', value: (l: BenchLine) => (l.target ? `${l.target} ${l.met ? 'met' : 'NOT met'}` : '') },
    ],
    report.lines,
  );
  return [`## ${report.name}: ${report.setup}`, table, ...report.notes.map((n) => `note: ${n}`)].join('\n');
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}
