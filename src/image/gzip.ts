/**
 * Gzip with stable bytes: fflate (pure JS, pinned in deno.lock) at a fixed level,
 * header MTIME 0 and no file name (DESIGN: image format). Deno's own
 * CompressionStream is not used because its bytes can change with Deno's zlib.
 *
 * @module
 */
import { Gzip } from "fflate";

/** The compression level of every archive r10e writes. Part of the format. */
export const GZIP_LEVEL = 6;

/** Input is fed to the compressor in blocks of this size, so the output depends only on the bytes, not on how they were chunked. */
const FEED = 1 << 18;

/** Compresses a stream of chunks to gzip. */
export async function* gzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const gz = new Gzip({ level: GZIP_LEVEL, mtime: 0 }, (data) => {
    out.push(data);
  });
  for await (const block of rechunk(source, FEED)) {
    gz.push(block, false);
    while (out.length) yield out.shift()!;
  }
  gz.push(new Uint8Array(0), true);
  while (out.length) yield out.shift()!;
}

/** Re-cuts a stream into blocks of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(
  source: AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size);
  let fill = 0;
  for await (let chunk of source) {
    while (chunk.length) {
      if (fill === 0 && chunk.length >= size) {
        yield chunk.subarray(0, size);
        chunk = chunk.subarray(size);
        continue;
      }
      const n = Math.min(size - fill, chunk.length);
      buf.set(chunk.subarray(0, n), fill);
      fill += n;
      chunk = chunk.subarray(n);
      if (fill === size) {
        yield buf;
        buf = new Uint8Array(size);
        fill = 0;
      }
    }
  }
  if (fill) yield buf.subarray(0, fill);
}
