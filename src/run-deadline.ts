import { setMaxListeners } from 'node:events';
import type { Job } from './config/types.js';
import { RestqError } from './errors/restq-error.js';

/** What a run waits on for its deadline: the signal its requests and sinks take, and a promise that rejects with the reason. */
export interface RunDeadline {
  signal: AbortSignal;
  /** Rejects with the signal's reason once it aborts (never resolves), so the run can stop waiting on whatever it waits on. */
  aborted: Promise<never>;
  /** The run ended: the deadline is not needed any more. */
  release(): void;
}

/** The longest a run may overrun its timeout so that it shares its deadline with the runs around it. */
const MAX_SLACK_MS = 1000;

/** Slots by outer signal (a worker's shutdown); `undefined` (a CLI run) has its own map. */
const slotsByOuter = new WeakMap<AbortSignal, Map<string, DeadlineSlot>>();
const slotsWithoutOuter = new Map<string, DeadlineSlot>();

/**
 * The deadline of one run: aborts when the job's `timeout` has passed (reason E_TIMEOUT, naming
 * the job) or when `outer` aborts (its reason passed on).
 *
 * Runs of the same job whose deadlines fall in the same slot of time (1 % of the timeout, at most
 * a second) share one AbortController, one timer and one listener on `outer`: a slot ends at or
 * after each of its runs' deadlines, so a run may overrun its timeout by that slack, never stop
 * early. A worker running hundreds of short runs a second makes one AbortSignal a second instead
 * of one per run (an AbortSignal costs Node 20 about 5 µs to make, listeners on it more).
 */
export function runDeadline(job: Pick<Job, 'name' | 'timeout'>, outer: AbortSignal | undefined, now = Date.now()): RunDeadline {
  const slack = Math.min(MAX_SLACK_MS, Math.max(1, Math.floor(job.timeout / 100)));
  const end = Math.ceil((now + job.timeout) / slack) * slack;
  const key = `${job.timeout}:${end}:${job.name}`;
  const slots = outer ? slotsOf(outer) : slotsWithoutOuter;
  // An aborted slot has left the map already (#close): a slot found is live.
  let slot = slots.get(key);
  if (!slot) {
    slot = new DeadlineSlot(slots, key, job, outer, end, now);
    if (!slot.signal.aborted) slots.set(key, slot);
  }
  return slot.acquire();
}

function slotsOf(outer: AbortSignal): Map<string, DeadlineSlot> {
  let slots = slotsByOuter.get(outer);
  if (!slots) slotsByOuter.set(outer, (slots = new Map()));
  return slots;
}

/**
 * The deadline `end` shared by the runs of one job that start within one slack window. Its timer
 * first fires when that window closes (no run can join after it): with no run left it goes
 * away, else it fires again at `end` and aborts the runs still running.
 */
class DeadlineSlot {
  readonly #controller = new AbortController();
  readonly aborted: Promise<never>;
  #rejectAborted: (reason: unknown) => void = () => undefined;
  #users = 0;
  #joinable = true;
  #timer: NodeJS.Timeout;
  readonly #onOuterAbort = () => this.#abort(this.outer?.reason);

  constructor(
    readonly slots: Map<string, DeadlineSlot>,
    readonly key: string,
    readonly job: Pick<Job, 'name' | 'timeout'>,
    readonly outer: AbortSignal | undefined,
    readonly end: number,
    now: number,
  ) {
    // Every run of the slot, and each of their requests, listens on it while it runs.
    setMaxListeners(0, this.#controller.signal);
    this.aborted = new Promise<never>((_resolve, reject) => (this.#rejectAborted = reject));
    this.aborted.catch(() => undefined);
    this.#timer = setTimeout(() => this.#windowClosed(), Math.max(0, end - job.timeout - now));
    this.#timer.unref();
    if (outer?.aborted) this.#onOuterAbort();
    else outer?.addEventListener('abort', this.#onOuterAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  acquire(): RunDeadline {
    this.#users++;
    let released = false;
    return {
      signal: this.#controller.signal,
      aborted: this.aborted,
      release: () => {
        if (released) return;
        released = true;
        if (--this.#users === 0 && !this.#joinable) this.#close();
      },
    };
  }

  #windowClosed(): void {
    this.#joinable = false;
    if (this.#users === 0) return this.#close();
    this.#unlist();
    this.#timer = setTimeout(
      () => this.#abort(new RestqError('E_TIMEOUT', `run timeout of ${this.job.timeout} ms exceeded (job "${this.job.name}" timeout:)`, { permanent: true })),
      Math.max(0, this.end - Date.now()),
    );
    this.#timer.unref();
  }

  #abort(reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(reason);
    this.#rejectAborted(this.#controller.signal.reason);
    // Runs that start from now on get a fresh slot.
    this.#close();
  }

  #close(): void {
    clearTimeout(this.#timer);
    this.outer?.removeEventListener('abort', this.#onOuterAbort);
    this.#unlist();
  }

  /** No run joins this slot any more (a later run with the same key gets a new one). */
  #unlist(): void {
    if (this.slots.get(this.key) === this) this.slots.delete(this.key);
  }
}
