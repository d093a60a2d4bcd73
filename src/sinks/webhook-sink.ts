import { createHmac } from 'node:crypto';
import { Agent } from 'undici';
import type { WebhookSinkSpec } from '../config/types.js';
import { HttpError } from '../errors/http-error.js';
import { RestqError } from '../errors/restq-error.js';
import { readExcerpt } from '../http/api-client.js';
import { createTransport, type HttpRequest, type Transport } from '../http/transport.js';
import { withRetry, type RetryOptions } from '../http/retry.js';
import { safeUrl } from '../http/safe-url.js';
import type { Cell } from '../query/row-projector.js';
import type { Sink, SinkContext } from './sink.js';
import { toObject } from './stdout-sink.js';

/** How webhook deliveries are retried (5xx, 429, network errors, timeouts). */
export const WEBHOOK_RETRY = { attempts: 5, baseDelay: 500, maxDelay: 30_000 } as const;

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`, the X-Restq-Signature header. */
export function signBody(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface WebhookSinkOptions {
  /** Injected for tests: the waits between retries. */
  retry?: Partial<Pick<RetryOptions, 'sleep' | 'random' | 'attempts' | 'baseDelay' | 'maxDelay'>>;
}

/**
 * POSTs the run's rows in batches of `batchSize` as `{job, runId, batch, last, rows}` (or NDJSON
 * with the batch fields in X-Restq-* headers). Batches fill across pages; a full batch is held
 * until the next row arrives, so `last: true` is set on the final batch only, and a run without
 * rows still sends one empty last batch. `write` awaits the deliveries: a slow receiver slows
 * the extract instead of rows piling up in memory.
 */
export class WebhookSink implements Sink {
  readonly description: string;
  readonly #spec: WebhookSinkSpec;
  readonly #ctx: SinkContext;
  readonly #agent: Agent;
  readonly #transport: Transport;
  readonly #url: URL;
  #buffer: Cell[][] = [];
  #columns: readonly string[] = [];
  #batch = 0;
  readonly #attempts: number;

  constructor(spec: WebhookSinkSpec, ctx: SinkContext, options: WebhookSinkOptions = {}) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.#url = new URL(spec.url);
    this.description = `webhook ${safeUrl(this.#url, ctx.redactor)}`;
    this.#agent = new Agent({ connect: { timeout: spec.timeout }, headersTimeout: spec.timeout, bodyTimeout: spec.timeout });
    const base = createTransport(this.#agent, ctx.redactor, spec.timeout);
    const named: Transport = async (request) => {
      try {
        return await base(request);
      } catch (error) {
        throw this.#renameTimeout(error, request);
      }
    };
    this.#attempts = options.retry?.attempts ?? spec.retry?.attempts ?? WEBHOOK_RETRY.attempts;
    this.#transport = withRetry(named, {
      ...WEBHOOK_RETRY,
      ...(spec.retry ? { attempts: spec.retry.attempts, maxDelay: spec.retry.maxDelay } : {}),
      ...options.retry,
      logger: ctx.logger.child({ sink: 'webhook' }),
      redactor: ctx.redactor,
      // Every 5xx is retried, POST or not: the Idempotency-Key lets the receiver drop duplicates.
      retryStatus: (status) => status === 429 || status >= 500,
    });
  }

  /** The transport's timeout message points at connections.yaml; this one is the webhook's. */
  #renameTimeout(error: unknown, request: HttpRequest): unknown {
    if (!(error instanceof HttpError) || error.code !== 'E_TIMEOUT' || request.signal?.aborted) return error;
    return new HttpError(
      'E_TIMEOUT',
      `webhook POST ${error.url} timed out after ${this.#spec.timeout} ms (webhook timeout: raise output[].webhook.timeout of job "${this.#ctx.job.name}")`,
      { method: 'POST', url: error.url },
      { cause: error },
    );
  }

  async write(rows: readonly Cell[][], columns: readonly string[]): Promise<void> {
    this.#columns = columns;
    for (const row of rows) {
      // Send a full batch only once a further row proves it is not the last.
      if (this.#buffer.length === this.#spec.batchSize) await this.#send(false);
      this.#buffer.push(row);
    }
  }

  async commit(columns: readonly string[]): Promise<void> {
    if (columns.length > 0) this.#columns = columns;
    try {
      await this.#send(true);
    } finally {
      await this.#agent.close();
    }
  }

  async abort(): Promise<void> {
    // Batches already delivered cannot be recalled; the receiver never sees `last: true`.
    this.#buffer = [];
    await this.#agent.destroy().catch(() => undefined);
  }

  #body(batch: number, last: boolean, rows: readonly Cell[][]): { body: Buffer; contentType: string } {
    const { job, runId } = this.#ctx;
    const objects = rows.map((row) => toObject(row, this.#columns));
    if (this.#spec.format === 'ndjson') {
      return { body: Buffer.from(objects.map((o) => `${JSON.stringify(o)}\n`).join('')), contentType: 'application/x-ndjson' };
    }
    return { body: Buffer.from(JSON.stringify({ job: job.name, runId, batch, last, rows: objects })), contentType: 'application/json' };
  }

  async #send(last: boolean): Promise<void> {
    const rows = this.#buffer;
    this.#buffer = [];
    const batch = ++this.#batch;
    const { runId, job, redactor } = this.#ctx;
    const { body, contentType } = this.#body(batch, last, rows);
    const headers: Record<string, string> = {
      ...Object.fromEntries(Object.entries(this.#spec.headers).map(([k, v]) => [k.toLowerCase(), v])),
      'content-type': contentType,
      'idempotency-key': `${runId}:${batch}`,
      'x-restq-job': job.name,
      'x-restq-run-id': runId,
      'x-restq-batch': String(batch),
      'x-restq-last': String(last),
    };
    if (this.#spec.secret) headers['x-restq-signature'] = signBody(this.#spec.secret, body);
    const request: HttpRequest = { method: 'POST', url: this.#url, headers, body, signal: this.#ctx.signal };
    const response = await this.#transport(request);
    const url = safeUrl(this.#url, redactor);
    if (response.status >= 200 && response.status < 300) {
      await response.body.dump?.().catch(() => undefined);
      this.#ctx.logger.debug({ sink: 'webhook', url, batch, rows: rows.length, last, status: response.status }, 'webhook batch delivered');
      return;
    }
    const excerpt = await readExcerpt(response, redactor);
    const permanent = response.status < 500 && response.status !== 429;
    throw new RestqError(
      'E_SINK',
      `webhook POST ${url} answered ${response.status} to batch ${batch} (Idempotency-Key ${runId}:${batch})${permanent ? '' : ` after ${this.#attempts} attempts`}${excerpt ? `: ${excerpt}` : ''}`,
      { permanent },
    );
  }
}
