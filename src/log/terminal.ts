/** Erases the terminal row the cursor is on and returns to its start. */
export const ERASE_LINE = '\r\x1b[2K';

/**
 * Owns a terminal's stderr while a live status line (the progress of `restq run`) is shown:
 * a log line first erases the status line, is written on its own row, then the status line is
 * drawn again below it, so the two never end up glued together on one row.
 */
export class StatusTerminal {
  readonly #stream: NodeJS.WriteStream;
  #status = '';

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
  }

  get isTTY(): boolean {
    return this.#stream.isTTY === true;
  }

  /** Writes one complete line (a log line), keeping the status line below it. */
  writeLine(text: string): void {
    const line = text.endsWith('\n') ? text : `${text}\n`;
    this.#stream.write(this.#status ? `${ERASE_LINE}${line}${this.#status}` : line);
  }

  /** Shows (or replaces) the status line. Cut to the terminal's width: a wrapped line could not be erased. */
  setStatus(text: string): void {
    const columns = this.#stream.columns;
    const fitted = columns && columns > 1 && [...text].length >= columns ? `${[...text].slice(0, columns - 2).join('')}…` : text;
    this.#status = fitted;
    this.#stream.write(`${ERASE_LINE}${fitted}`);
  }

  clearStatus(): void {
    if (!this.#status) return;
    this.#status = '';
    this.#stream.write(ERASE_LINE);
  }
}

let stderrTerminal: StatusTerminal | undefined;

/** The one StatusTerminal of this process's stderr, shared by the logger and the progress line. */
export function stderrStatusTerminal(): StatusTerminal {
  return (stderrTerminal ??= new StatusTerminal(process.stderr));
}
