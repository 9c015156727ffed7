/**
 * Progress on standard error: a plain line per step, and on a terminal a line redrawn in place
 * with the bytes done, the rate and the percentage of a long step (compressing a layer, writing
 * the archive); nothing with `-q`.
 *
 * @module
 */
import { formatBytes } from "../byte_size.ts";
import { printable } from "../printable.ts";

/** How often a terminal's progress line is redrawn, at most. */
const REDRAW_MS = 100;

/** Where and how progress is shown. */
export interface ProgressOptions {
  write: (text: string) => void;
  /** Standard error is a terminal: the byte line is drawn. */
  terminal: boolean;
  quiet: boolean;
  /** Milliseconds, for the rate; injectable for tests. */
  now?: () => number;
}

/** The steps and bytes of one command. */
export class Progress {
  #options: ProgressOptions;
  #now: () => number;
  #start = 0;
  #drawn = 0;
  #shown = false;
  #fetched = 0;
  #expected = 0;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** A new step: its line, and the rate counted from now. */
  step(message: string): void {
    if (this.#options.quiet) return;
    this.clear();
    this.#options.write(`r10e: ${message}\n`);
    this.#start = this.#now();
    this.#drawn = 0;
  }

  /** A line within the current step (a blob pushed): the rate keeps counting. */
  line(message: string): void {
    if (this.#options.quiet) return;
    this.clear();
    this.#options.write(`r10e: ${message}\n`);
  }

  /** `done` of `total` bytes of the current step: redrawn on a terminal, at most every 100 ms. */
  bytes(done: number, total: number): void {
    if (this.#options.quiet || !this.#options.terminal) return;
    const now = this.#now();
    if (this.#shown && now - this.#drawn < REDRAW_MS) return;
    this.#drawn = now;
    this.#shown = true;
    this.#options.write(`\r\x1b[K${progressLine(done, total, (now - this.#start) / 1000)}`);
  }

  /**
   * Sums downloads, several at once (layers of two inputs): `bytes` more arrived, `more` bytes
   * more are expected; the line shows the sums.
   */
  fetched(bytes: number, more: number): void {
    this.#fetched += bytes;
    this.#expected += more;
    // Drawn once bytes come: a download that has not started has no rate to show.
    if (bytes > 0) this.bytes(this.#fetched, this.#expected);
  }

  /** Removes the drawn line, before other text is written. */
  /**
   * The progress callbacks of a registry read, shown here: its lines, escaped (they carry names
   * from the registry), and its layer bytes.
   */
  registryHooks(): {
    onProgress: (line: string) => void;
    onFetched: (bytes: number, more: number) => void;
  } {
    return {
      onProgress: (line) => this.line(printable(line)),
      onFetched: (bytes, more) => this.fetched(bytes, more),
    };
  }

  clear(): void {
    if (!this.#shown) return;
    this.#options.write("\r\x1b[K");
    this.#shown = false;
  }
}

/** `  45% 52.1 MiB of 115.0 MiB, 31.2 MiB/s`: pure. */
export function progressLine(done: number, total: number, seconds: number): string {
  // The total is an estimate (tar headers, names): never below what is done.
  const whole = Math.max(total, done);
  const percent = whole > 0 ? Math.floor((done / whole) * 100) : 0;
  const rate = seconds > 0 ? `, ${formatBytes(done / seconds)}/s` : "";
  return `  ${String(percent).padStart(3)}% ${formatBytes(done)} of ${formatBytes(whole)}${rate}`;
}
