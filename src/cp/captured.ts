/**
 * The contents of the files under SRC, taken into one private spool file while the merged
 * filesystem's pass inflates their layers, so that cp inflates a compressed layer once: the
 * pass that reads the headers (and checks each layer's diff_id at its end) also keeps the bytes
 * cp will write, and nothing is written where the user can see it before every layer was
 * checked. A file the pass did not keep (SRC reached through a symlink, a hardlink to a file
 * outside SRC, the spool's limit reached) is read from its layer as before.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import { cleanName, type FsNode } from "../image/merged_fs.ts";
import type { TarReaderEntry } from "../tar/reader.ts";
import { registerTemporary, removeTemporary } from "../signals.ts";

/** Bytes gathered before one write, and read at once when taken back in order. */
const WINDOW = 1 << 20;

/** File contents kept by the merged filesystem's pass, by content layer and header offset. */
export class Captured implements AsyncDisposable {
  #dir: string;
  #file: Deno.FsFile;
  #prefix: string;
  #limit: number;
  /** Per content layer: header offsets in the order seen (ascending) and spool offsets. */
  #layers = new Map<number, { headers: number[]; at: number[] }>();
  #end = 0;
  #out = new Uint8Array(WINDOW);
  #fill = 0;
  #window = new Uint8Array(WINDOW);
  #windowAt = 0;
  #windowEnd = 0;

  private constructor(dir: string, file: Deno.FsFile, prefix: string, limit: number) {
    this.#dir = dir;
    this.#file = file;
    this.#prefix = prefix;
    this.#limit = limit;
  }

  /**
   * A spool in a new temporary directory under `tempDir` for the files under `src` (an
   * absolute path in the image, symlinks not followed), within half the free space there.
   */
  static async open(src: string, options: { tempDir?: string } = {}): Promise<Captured> {
    const dir = await Deno.makeTempDir({ dir: options.tempDir, prefix: "r10e-cp-" });
    // An interrupt removes it (main.ts cleans up what is registered).
    registerTemporary(dir);
    const file = await Deno.open(`${dir}/contents`, { read: true, write: true, createNew: true });
    // Half the free space at most: what does not fit is read from its layer again.
    const free = await statfs(dir).then((s) => s.bavail * s.bsize, () => 0);
    return new Captured(dir, file, (cleanName(src) ?? []).join("/"), free / 2);
  }

  /** Keeps the content of `entry` when it is a file under SRC; the pass's `onEntry`. */
  async take(contentLayer: number, entry: TarReaderEntry): Promise<void> {
    const h = entry.header;
    if (h.kind !== "file" || h.size === 0 || !this.#under(h.name)) return;
    if (this.#end + h.size > this.#limit) return;
    let layer = this.#layers.get(contentLayer);
    if (!layer) this.#layers.set(contentLayer, layer = { headers: [], at: [] });
    const start = this.#end;
    let size = 0;
    const whole = entry.body.takeBuffered?.() ?? null;
    if (whole) {
      size = whole.length;
      this.#write(whole);
    } else {
      for await (const chunk of entry.body) {
        size += chunk.length;
        this.#write(chunk);
      }
    }
    // A body shorter than its header says has already failed the tar reader.
    this.#end = start + size;
    layer.headers.push(h.headerOffset);
    layer.at.push(start);
  }

  /** Writes what is gathered; call once the pass has ended, before reading. */
  flush(): void {
    let done = 0;
    while (done < this.#fill) done += this.#file.writeSync(this.#out.subarray(done, this.#fill));
    this.#fill = 0;
  }

  /** Where the content of a file node was kept, or undefined. */
  offsetOf(node: FsNode): number | undefined {
    const c = node.content;
    const layer = c && this.#layers.get(c.layer);
    if (!layer) return undefined;
    // Binary search: a layer's entries come in ascending offsets.
    let lo = 0;
    let hi = layer.headers.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const h = layer.headers[mid];
      if (h === c.headerOffset) return layer.at[mid];
      if (h < c.headerOffset) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /**
   * The `size` bytes kept at `at`, in views valid until the next is asked for; in order of
   * offset they are read a window at a time (a small file costs no system call of its own).
   */
  *read(at: number, size: number): Generator<Uint8Array> {
    while (size > 0) {
      if (at < this.#windowAt || at >= this.#windowEnd) this.#load(at);
      const n = Math.min(size, this.#windowEnd - at);
      yield this.#window.subarray(at - this.#windowAt, at - this.#windowAt + n);
      at += n;
      size -= n;
    }
  }

  /** Removes the spool. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#file.close();
    await removeTemporary(this.#dir);
  }

  #load(at: number): void {
    this.#file.seekSync(at, Deno.SeekMode.Start);
    let got = 0;
    while (got < WINDOW) {
      const n = this.#file.readSync(this.#window.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    if (got === 0) throw new RangeError(`The spool of cp ends before offset ${at}`);
    this.#windowAt = at;
    this.#windowEnd = at + got;
  }

  #write(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#fill === WINDOW) this.flush();
      const n = Math.min(chunk.length - at, WINDOW - this.#fill);
      this.#out.set(chunk.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
    }
  }

  /** Whether a tar name is SRC or below it, by its text (a name spelled otherwise is not). */
  #under(name: string): boolean {
    if (this.#prefix === "") return true;
    let n = name;
    while (n.startsWith("./")) n = n.slice(2);
    while (n.startsWith("/")) n = n.slice(1);
    return n.startsWith(this.#prefix) &&
      (n.length === this.#prefix.length || n[this.#prefix.length] === "/");
  }
}
