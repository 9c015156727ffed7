/**
 * Byte ranges of an input as tar sources: a range of a file read in place ({@linkcode FileRange}),
 * a range of a compressed archive's inflated tar read by inflating it again
 * ({@linkcode InflatedRange}), and bytes held in memory ({@linkcode bytesSource}).
 *
 * @module
 */
import type { InputError } from "../errors.ts";
import type { TarSource } from "../tar/reader.ts";
import { type Compression, decompress } from "./compression.ts";

/** Reads are done in blocks of this size: few syscalls, flat memory. */
export const READ_SIZE = 1 << 20;

/** The first read after a skip: enough for a few tar headers. */
const SMALL_READ = 16 << 10;

/** A compressed archive as first read: a later read checks that it is still the same file. */
export interface ArchiveStamp {
  path: string;
  compression: Compression;
  size: number;
  mtime: number | null;
}

export async function readHead(path: string, n: number): Promise<Uint8Array> {
  using file = await Deno.open(path);
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await file.read(buf.subarray(got));
    if (r === null) break;
    got += r;
  }
  return buf.subarray(0, got);
}

/**
 * A byte range of a file, read in 1 MiB blocks into fresh buffers (so that consumers may keep
 * the chunks). `skip` moves the position without reading: the tar reader uses it to step over
 * content it does not need.
 */
export class FileRange implements TarSource {
  #path: string;
  #pos: number;
  #end: number;
  #reuse: Uint8Array | null;
  /** Size of the next read: small after a skip (the tar reader wants one header), growing back to READ_SIZE. */
  #next = READ_SIZE;

  /**
   * The range [offset, offset+length) of the file at `path`. With `reuse`, one buffer is read
   * into again and again: each chunk is valid only until the next one is asked for.
   */
  constructor(path: string, offset: number, length: number, options: { reuse?: boolean } = {}) {
    this.#path = path;
    this.#pos = offset;
    this.#end = offset + length;
    this.#reuse = options.reuse ? new Uint8Array(Math.min(READ_SIZE, Math.max(length, 1))) : null;
  }

  /** Skips up to `n` bytes, without reading them; resolves to how many were skipped. */
  skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.#end - this.#pos));
    this.#pos += k;
    this.#next = SMALL_READ;
    return Promise.resolve(k);
  }

  /** Streams the range. @throws {Error} when the file is shorter than the range. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#pos >= this.#end) return;
    using file = await Deno.open(this.#path);
    let at = -1;
    while (this.#pos < this.#end) {
      if (at !== this.#pos) {
        await file.seek(this.#pos, Deno.SeekMode.Start);
        at = this.#pos;
      }
      const want = Math.min(this.#next, this.#end - this.#pos);
      this.#next = Math.min(READ_SIZE, this.#next * 4);
      const buf = this.#reuse ? this.#reuse.subarray(0, want) : new Uint8Array(want);
      let got = 0;
      while (got < buf.length) {
        const r = await file.read(buf.subarray(got));
        if (r === null) break;
        got += r;
      }
      if (got === 0) throw new Error(`File "${this.#path}" ended before offset ${this.#end}`);
      this.#pos += got;
      at += got;
      yield got === buf.length ? buf : buf.subarray(0, got);
    }
  }
}

/**
 * A byte range of a compressed archive's inflated tar, read by inflating the archive again from
 * its start (gzip and zstd streams cannot be entered in the middle): nothing is written to disk,
 * and memory stays flat; `skip` drops inflated bytes instead of yielding them. Each read checks
 * that the archive is still the file first read (size and mtime).
 */
export class InflatedRange implements TarSource {
  #archive: ArchiveStamp;
  #pos: number;
  #end: number;
  #error: (detail: string, cause?: unknown) => InputError;

  constructor(
    archive: ArchiveStamp,
    offset: number,
    length: number,
    error: (detail: string, cause?: unknown) => InputError,
  ) {
    this.#archive = archive;
    this.#pos = offset;
    this.#end = offset + length;
    this.#error = error;
  }

  skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.#end - this.#pos));
    this.#pos += k;
    return Promise.resolve(k);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#pos >= this.#end) return;
    const a = this.#archive;
    const st = await Deno.stat(a.path).catch(() => null);
    if (!st || st.size !== a.size || (st.mtime?.getTime() ?? null) !== a.mtime) {
      throw this.#error("it changed while it was read");
    }
    let at = 0;
    for await (const chunk of decompress(new FileRange(a.path, 0, a.size), a.compression)) {
      const chunkEnd = at + chunk.length;
      while (this.#pos < this.#end && this.#pos < chunkEnd) {
        const piece = chunk.subarray(this.#pos - at, Math.min(chunk.length, this.#end - at));
        this.#pos += piece.length;
        yield piece;
      }
      at = chunkEnd;
      if (this.#pos >= this.#end) return;
    }
    throw this.#error("it changed while it was read (it ended before the entry did)");
  }
}

export function bytesSource(bytes: Uint8Array): TarSource {
  let pos = 0;
  return {
    async *[Symbol.asyncIterator]() {
      while (pos < bytes.length) {
        const chunk = bytes.subarray(pos, pos + READ_SIZE);
        pos += chunk.length;
        yield chunk;
      }
    },
    skip(n: number) {
      const k = Math.max(0, Math.min(n, bytes.length - pos));
      pos += k;
      return Promise.resolve(k);
    },
  };
}
