import type { RunProgress, RunResult } from '../runner.js';

const number = new Intl.NumberFormat('en-US');

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

export function formatProgress(p: RunProgress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(p.rows / seconds) : 0;
  // Bytes are unknown to `enqueue --wait` (the worker reads the pages): left out rather than "0 B".
  const bytes = p.bytes > 0 ? ` · ${formatBytes(p.bytes)}` : '';
  return `pages ${number.format(p.pages)} · rows ${number.format(p.rows)} · ${number.format(rate)} rows/s${bytes} · ${seconds.toFixed(1)}s`;
}

const count = (n: number, word: string) => `${number.format(n)} ${word}${n === 1 ? '' : 's'}`;

export function formatSummary(result: RunResult): string {
  return (
    `${result.job} ${result.runId}: ${count(result.rows, 'row')}, ${count(result.pages, 'page')}, ` +
    `${formatBytes(result.bytes)}, ${(result.durationMs / 1000).toFixed(2)}s${result.skipped ? `, ${count(result.skipped, 'parent')} skipped` : ''} → ${result.outputs.join(', ')}`
  );
}

/** A live status line on a TTY (rewritten in place, at most ~10 times a second); nothing otherwise. */
export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  #last = 0;
  #shown = false;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#enabled = stream.isTTY === true;
  }

  update(progress: RunProgress): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    this.#shown = true;
    this.#stream.write(`\r\x1b[2K${formatProgress(progress)}`);
  }

  clear(): void {
    if (this.#shown) this.#stream.write('\r\x1b[2K');
    this.#shown = false;
  }
}
