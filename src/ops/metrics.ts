import { collectDefaultMetrics, Counter, Gauge, type CounterConfiguration, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** The BullMQ job states `restq status` and `/metrics` report. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** What the queue-count gauge asks for on each scrape (a BullMQ Queue fits). */
export interface QueueCountsSource {
  getJobCounts(...states: QueueState[]): Promise<Record<string, number>>;
}

export interface MetricsOptions {
  /** Adds Node's process metrics (`restq_process_*`, `restq_nodejs_*`: CPU, memory, event-loop lag). @default true */
  processMetrics?: boolean;
}

/** The counters a worker adds to the fleet's totals (histograms by their base name). */
const WORKER_METRICS = new Set([
  'restq_runs_started_total',
  'restq_runs_succeeded_total',
  'restq_runs_failed_total',
  'restq_run_duration_seconds',
  'restq_rows_written_total',
  'restq_http_requests_total',
  'restq_http_retries_total',
  'restq_token_refreshes_total',
  'restq_token_lock_waits_total',
  'restq_token_lock_wait_seconds',
]);

/**
 * A counter whose increments are added up per label set and handed to prom-client when it is
 * read (a scrape, a heartbeat's snapshot). prom-client checks and hashes the labels on every
 * inc(); the counters every run touches (started, succeeded, rows, requests) pay that once per
 * label set and read instead of once per run.
 */
class BatchedCounter<L extends string> {
  readonly #pending = new Map<string, { labels: Record<L, string>; n: number }>();

  constructor(config: CounterConfiguration<L>) {
    const pending = this.#pending;
    new Counter({
      ...config,
      collect() {
        for (const { labels, n } of pending.values()) this.inc(labels, n);
        pending.clear();
      },
    });
  }

  /** Adds `n` under `labels`; `key` names the label set (its values joined). */
  inc(key: string, labels: Record<L, string>, n = 1): void {
    const entry = this.#pending.get(key);
    if (entry) entry.n += n;
    else this.#pending.set(key, { labels, n });
  }
}

/** Result label of a token refresh. */
export type RefreshResult = 'ok' | 'invalid_grant' | 'error';

/**
 * The Prometheus metrics of one restq process. Created per process (never the prom-client
 * global registry, so tests and an embedded dashboard each get their own) and handed to the
 * runner, the HTTP layer and the token manager as an optional dependency: code without a
 * `Metrics` simply counts nothing.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #runsFailed: Counter<'job' | 'code'>;
  readonly #runDuration: Histogram<'job' | 'result'>;
  readonly #retries: Counter<'connection' | 'reason'>;
  readonly #tokenRefreshes: Counter<'connection' | 'result'>;
  readonly #lockWaits: Counter<'connection'>;
  readonly #lockWaitSeconds: Histogram<'connection'>;
  #queue: QueueCountsSource | undefined;
  readonly #runsStarted: BatchedCounter<'job'>;
  readonly #runsSucceeded: BatchedCounter<'job'>;
  readonly #rowsWritten: BatchedCounter<'job' | 'sink'>;
  readonly #httpRequests: BatchedCounter<'connection' | 'status'>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.#runsStarted = new BatchedCounter({ name: 'restq_runs_started_total', help: 'Runs started, per job', labelNames: ['job'], registers });
    this.#runsSucceeded = new BatchedCounter({ name: 'restq_runs_succeeded_total', help: 'Runs that committed every output, per job', labelNames: ['job'], registers });
    this.#runsFailed = new Counter({ name: 'restq_runs_failed_total', help: 'Failed runs, per job and error code', labelNames: ['job', 'code'], registers });
    this.#runDuration = new Histogram({
      name: 'restq_run_duration_seconds',
      help: 'Wall time of a run, per job and result',
      labelNames: ['job', 'result'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.#rowsWritten = new BatchedCounter({ name: 'restq_rows_written_total', help: 'Rows committed to an output, per job and sink type', labelNames: ['job', 'sink'], registers });
    this.#httpRequests = new BatchedCounter({
      name: 'restq_http_requests_total',
      help: 'API requests sent, per connection and HTTP status (or network/timeout/tls when no answer came)',
      labelNames: ['connection', 'status'],
      registers,
    });
    this.#retries = new Counter({ name: 'restq_http_retries_total', help: 'Requests retried after a 429/5xx/network error, per connection', labelNames: ['connection', 'reason'], registers });
    this.#tokenRefreshes = new Counter({
      name: 'restq_token_refreshes_total',
      help: 'Calls to the token endpoint made by this process, per connection and result',
      labelNames: ['connection', 'result'],
      registers,
    });
    this.#lockWaits = new Counter({ name: 'restq_token_lock_waits_total', help: 'Times this process waited for another holder of the refresh lock', labelNames: ['connection'], registers });
    this.#lockWaitSeconds = new Histogram({
      name: 'restq_token_lock_wait_seconds',
      help: 'How long a wait for the refresh lock (or for a token) took',
      labelNames: ['connection'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const queue = () => this.#queue;
    new Gauge({
      name: 'restq_queue_jobs',
      help: 'BullMQ jobs of the restq queue, per state (read at scrape time)',
      labelNames: ['state'],
      registers,
      async collect() {
        const source = queue();
        if (!source) return;
        const counts = await source.getJobCounts(...QUEUE_STATES);
        for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'restq_' });
  }

  /** Reports queue counts on every scrape. */
  trackQueue(source: QueueCountsSource): void {
    this.#queue = source;
  }

  runStarted(job: string): void {
    this.#runsStarted.inc(job, { job });
  }

  runSucceeded(job: string, durationMs: number): void {
    this.#runsSucceeded.inc(job, { job });
    this.#runDuration.observe({ job, result: 'succeeded' }, durationMs / 1000);
  }

  runFailed(job: string, code: string, durationMs: number): void {
    this.#runsFailed.inc({ job, code });
    this.#runDuration.observe({ job, result: 'failed' }, durationMs / 1000);
  }

  rowsWritten(job: string, sink: string, rows: number): void {
    this.#rowsWritten.inc(`${job}\u0000${sink}`, { job, sink }, rows);
  }

  httpRequest(connection: string, status: number | string): void {
    this.#httpRequests.inc(`${connection}\u0000${status}`, { connection, status: String(status) });
  }

  retry(connection: string, reason: string): void {
    this.#retries.inc({ connection, reason });
  }

  tokenRefresh(connection: string, result: RefreshResult): void {
    this.#tokenRefreshes.inc({ connection, result });
  }

  lockWait(connection: string, waitedMs: number): void {
    this.#lockWaits.inc({ connection });
    this.#lockWaitSeconds.observe({ connection }, waitedMs / 1000);
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * A JSON snapshot a worker publishes so a separate dashboard process can serve its counters:
   * restq's own metrics only (process metrics of many workers do not add up).
   */
  async snapshot(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    const all = await this.registry.getMetricsAsJSON();
    return all.filter((m) => WORKER_METRICS.has(m.name));
  }
}

/** The value of one sample in a Prometheus text exposition, or undefined (for tests and benches). */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[m[1]!] = m[2]!;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}
