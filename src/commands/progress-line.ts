import { stderrStatusTerminal, type StatusTerminal } from '../log/terminal.js';
import type { RunProgress, RunResult } from '../runner.js';

const number = new Intl.NumberFormat('en-US');

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * Time left from the share done so far, when the API told how much there is: the page count
 * (`paginate.total`), else the Content-Length of a run of one page.
 */
function eta(p: RunProgress): string {
  if (p.elapsedMs < 500) return '';
  if (p.totalPages) {
    const done = p.pagesDone ?? p.pages;
    if (done <= 0 || done >= p.totalPages) return '';
    return ` · ETA ${formatDuration((p.elapsedMs * (p.totalPages - done)) / done)}`;
  }
  if (!p.totalBytes || p.bytes <= 0 || p.bytes >= p.totalBytes) return '';
  return ` · ETA ${formatDuration((p.elapsedMs * (p.totalBytes - p.bytes)) / p.bytes)}`;
}

/** The progress line: `pages 3/10 · rows 300 · 1,200 rows/s · 24.1 KB · 0.3s · ETA 1s` (total and ETA when the API gives them). */
export function formatProgress(p: RunProgress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(p.rows / seconds) : 0;
  const pages = p.totalPages && p.totalPages >= p.pages ? `${number.format(p.pages)}/${number.format(p.totalPages)}` : number.format(p.pages);
  // Bytes are unknown to `enqueue --wait` (the worker reads the pages): left out rather than "0 B".
  const total = p.totalBytes && p.totalBytes >= p.bytes ? ` of ${formatBytes(p.totalBytes)}` : '';
  const bytes = p.bytes > 0 ? ` · ${formatBytes(p.bytes)}${total}` : '';
  return `pages ${pages} · rows ${number.format(p.rows)} · ${number.format(rate)} rows/s${bytes} · ${seconds.toFixed(1)}s${eta(p)}`;
}

const count = (n: number, word: string) => `${number.format(n)} ${word}${n === 1 ? '' : 's'}`;

export function formatSummary(result: RunResult): string {
  return (
    `${result.job} ${result.runId}: ${count(result.rows, 'row')}, ${count(result.pages, 'page')}, ` +
    `${formatBytes(result.bytes)}, ${(result.durationMs / 1000).toFixed(2)}s${result.skipped ? `, ${count(result.skipped, 'parent')} skipped` : ''} → ${result.outputs.join(', ')}`
  );
}

/**
 * A live status line on a TTY (redrawn at most ~10 times a second, always ending on the latest
 * figures); nothing otherwise. Log lines go through the same StatusTerminal, which erases the
 * line before each of them and draws it again after.
 */
export class ProgressLine {
  readonly #terminal: StatusTerminal;
  readonly #enabled: boolean;
  #last = 0;
  #latest: RunProgress | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(terminal: StatusTerminal = stderrStatusTerminal()) {
    this.#terminal = terminal;
    this.#enabled = terminal.isTTY;
  }

  update(progress: RunProgress): void {
    if (!this.#enabled) return;
    this.#latest = progress;
    const wait = 100 - (Date.now() - this.#last);
    if (wait <= 0) return this.#draw();
    // Throttled: draw the newest figures when the interval is up, so the line never lags behind.
    this.#timer ??= setTimeout(() => this.#draw(), wait);
    this.#timer.unref();
  }

  #draw(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#latest) return;
    this.#last = Date.now();
    this.#terminal.setStatus(formatProgress(this.#latest));
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#latest = undefined;
    this.#terminal.clearStatus();
  }
}
