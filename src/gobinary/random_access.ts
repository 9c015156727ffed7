/**
 * Random access to the bytes of a file, so that binaries are read piece by piece
 * (ELF headers, one section at a time) and never held whole in memory
 * (DESIGN: "Reading images": memory grows with the number of files, not their size).
 *
 * ```ts
 * using file = await Deno.open("app");
 * const src = fileRandomAccess(file, (await file.stat()).size);
 * const head = await src.read(0, 64);
 * ```
 *
 * Only {@linkcode fileRandomAccess} touches `Deno.*`; everything that takes a
 * {@linkcode RandomAccess} is pure and can be tested on bytes
 * ({@linkcode bytesRandomAccess}).
 *
 * @module
 */
// Buffer#equals is a memcmp; a JS loop only runs on the chunk that differs.
import { Buffer } from "node:buffer";

/** Bytes that can be read at any offset. */
export interface RandomAccess {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads `length` bytes at `offset`. Returns fewer bytes only when the source
   * ends first (an empty array at or past the end).
   * @throws {RangeError} when offset or length is negative or not an integer
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * Default chunk size for streaming reads. 256 KiB measured faster than 1 and
 * 4 MiB when comparing two 95 MB files (the chunks stay in the CPU caches while
 * they are compared, hashed and scanned) and keeps the peak RSS lower.
 */
export const CHUNK_SIZE = 256 << 10;

function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`Cannot read at offset ${offset}: expected a non-negative integer`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`Cannot read ${length} bytes: expected a non-negative integer`);
  }
}

/**
 * A {@linkcode RandomAccess} over an open file of known size. Reads are
 * serialized, because each one is a seek then a read on the same handle.
 * The caller keeps ownership of `file` and closes it.
 */
export function fileRandomAccess(file: Deno.FsFile, size: number): RandomAccess {
  let queue: Promise<unknown> = Promise.resolve();
  async function readAt(offset: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, size - offset));
    const out = new Uint8Array(n);
    if (n === 0) return out;
    await file.seek(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < n) {
      const got = await file.read(out.subarray(filled));
      if (got === null) break;
      filled += got;
    }
    return filled === n ? out : out.subarray(0, filled);
  }
  return {
    size,
    read(offset: number, length: number): Promise<Uint8Array> {
      checkRange(offset, length);
      const result = queue.then(() => readAt(offset, length));
      queue = result.catch(() => {});
      return result;
    },
  };
}

/** A {@linkcode RandomAccess} over bytes in memory (tests, small blobs). */
export function bytesRandomAccess(bytes: Uint8Array): RandomAccess {
  return {
    size: bytes.length,
    read(offset: number, length: number): Promise<Uint8Array> {
      checkRange(offset, length);
      const start = Math.min(offset, bytes.length);
      return Promise.resolve(bytes.slice(start, Math.min(bytes.length, start + length)));
    },
  };
}

/**
 * Yields `length` bytes from `offset` (clamped to the end of the source) in
 * chunks of at most `chunkSize` bytes.
 */
export async function* readChunks(
  src: RandomAccess,
  offset: number,
  length: number,
  chunkSize: number = CHUNK_SIZE,
): AsyncGenerator<Uint8Array> {
  const end = Math.min(src.size, offset + length);
  for (let pos = offset; pos < end;) {
    const chunk = await src.read(pos, Math.min(chunkSize, end - pos));
    if (chunk.length === 0) return;
    yield chunk;
    pos += chunk.length;
  }
}

/** Where two byte sources first differ. */
export interface FirstDifference {
  /** Size of the first source. */
  sizeA: number;
  /** Size of the second source. */
  sizeB: number;
  /**
   * Offset of the first differing byte; when one source is a prefix of the
   * other, the size of the shorter one; `null` when both are identical.
   */
  offset: number | null;
}

/**
 * Compares two sources chunk by chunk and returns the sizes and the first
 * differing offset, for binaries that are not Go (DESIGN: "Verify": other
 * binaries: size and first differing offset). Memory: two chunks.
 */
export async function firstDifference(
  a: RandomAccess,
  b: RandomAccess,
  options: { chunkSize?: number } = {},
): Promise<FirstDifference> {
  const chunkSize = options.chunkSize ?? CHUNK_SIZE;
  const common = Math.min(a.size, b.size);
  for (let pos = 0; pos < common; pos += chunkSize) {
    const n = Math.min(chunkSize, common - pos);
    const [x, y] = await Promise.all([a.read(pos, n), b.read(pos, n)]);
    const m = Math.min(x.length, y.length);
    if (m === n && equalBytes(x, y)) continue;
    for (let i = 0; i < m; i++) {
      if (x[i] !== y[i]) return { sizeA: a.size, sizeB: b.size, offset: pos + i };
    }
    if (m < n) return { sizeA: a.size, sizeB: b.size, offset: pos + m };
  }
  return {
    sizeA: a.size,
    sizeB: b.size,
    offset: a.size === b.size ? null : common,
  };
}

function equalBytes(x: Uint8Array, y: Uint8Array): boolean {
  return Buffer.from(x.buffer, x.byteOffset, x.length).equals(y);
}
