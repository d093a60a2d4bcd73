/**
 * Pulls an async generator ahead of its consumer into a queue of at most `capacity` items, so
 * several sources can work at once while a consumer reads them one after the other (forEach:
 * children in flight, output in parent order). An error is kept and thrown where the consumer
 * reaches it; `cancel` stops pulling and closes the source.
 */
export class Prefetch<T> {
  readonly #source: AsyncGenerator<T>;
  readonly #capacity: number;
  readonly #queue: T[] = [];
  #done = false;
  #failed = false;
  #error: unknown;
  #cancelled = false;
  #wake: (() => void) | undefined;
  #space: (() => void) | undefined;
  readonly #pumping: Promise<void>;

  constructor(source: AsyncGenerator<T>, capacity: number, onError?: (error: unknown) => void) {
    this.#source = source;
    this.#capacity = capacity;
    this.#pumping = this.#pump(onError);
  }

  async #pump(onError?: (error: unknown) => void): Promise<void> {
    try {
      for (;;) {
        while (this.#queue.length >= this.#capacity && !this.#cancelled) await new Promise<void>((resolve) => (this.#space = resolve));
        if (this.#cancelled) break;
        const step = await this.#source.next();
        if (step.done) break;
        this.#queue.push(step.value);
        this.#notify();
      }
      if (this.#cancelled) await this.#source.return(undefined);
    } catch (error) {
      this.#failed = true;
      this.#error = error;
      onError?.(error);
    } finally {
      this.#done = true;
      this.#notify();
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The items in order; throws the source's error after the items that came before it. */
  async *drain(): AsyncGenerator<T> {
    for (;;) {
      if (this.#queue.length > 0) {
        const item = this.#queue.shift()!;
        const space = this.#space;
        this.#space = undefined;
        space?.();
        yield item;
        continue;
      }
      if (this.#failed) throw this.#error;
      if (this.#done) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Stops pulling, closes the source and waits until it is closed. */
  async cancel(): Promise<void> {
    this.#cancelled = true;
    const space = this.#space;
    this.#space = undefined;
    space?.();
    await this.#pumping;
  }
}
