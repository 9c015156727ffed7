/**
 * Compression of archives and blobs: told by magic bytes, decompressed as a stream (gzip with
 * every member of a multi-member file, zstd with every frame), optionally capped.
 *
 * @module
 */
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
// fzstd: pure-JS streaming zstd decompression (npm). Deno's node:zlib zstd stream ends after the
// first frame of a multi-frame stream (pzstd, concatenated files).
import { Decompress as ZstdDecompress } from "fzstd";
import { ZstdPieces } from "./_zstd_pieces.ts";
import { formatBytes } from "../byte_size.ts";

/** Compression of an archive or a blob, by magic bytes. */
export type Compression = "none" | "gzip" | "zstd";

/** The compression that the first bytes show: gzip `1f 8b`, zstd `28 b5 2f fd`, else none. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (
    head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f &&
    head[3] === 0xfd
  ) return "zstd";
  return "none";
}

/**
 * Decompresses a gzip (node:zlib: native, every member of a multi-member file; reading does
 * not need the pinned bytes that writing does) or zstd (fzstd, streaming) stream.
 */
export function decompress(
  source: AsyncIterable<Uint8Array>,
  compression: Compression,
  options: DecompressOptions = {},
): AsyncGenerator<Uint8Array> {
  const out = compression === "gzip"
    ? gunzip(source)
    : compression === "zstd"
    ? unzstd(source)
    : passThrough(source);
  return options.max === undefined ? out : capped(out, options.max, options.tooLarge);
}

/** Options of {@linkcode decompress}. */
export interface DecompressOptions {
  /** Inflating more than this many bytes throws `tooLarge()` (what no header announced). */
  max?: number;
  tooLarge?: () => Error;
}

async function* capped(
  source: AsyncGenerator<Uint8Array>,
  max: number,
  tooLarge = () => new RangeError(`it inflates to more than ${formatBytes(max)}`),
): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (n > max) throw tooLarge();
    yield chunk;
  }
}

async function* passThrough(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* source;
}

async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // node:zlib rather than DecompressionStream: a gzip file may hold several
  // members (RFC 1952; bgzip, concatenated files, r10e's own parallel gzip),
  // and Deno's DecompressionStream fails after the first one.
  const input = Readable.from(source, { objectMode: false });
  // Large output chunks: fewer trips through the tar reader, the hash and the spool.
  const inflater = createGunzip({ chunkSize: 256 << 10 });
  input.on("error", (error) => inflater.destroy(error));
  input.pipe(inflater);
  // Each output chunk is a fresh buffer: collect them early when allowed (--expose-gc, set by
  // scripts/r10e and the compiled binary), or they pile up as external memory until V8 gets to it.
  const gc = (globalThis as { gc?: (o?: { type: string }) => void }).gc;
  let sinceCollect = 0;
  try {
    for await (const chunk of inflater) {
      // A plain view of the Buffer: subarray and indexOf on Node Buffers cost a JS polyfill
      // each in Deno (the tar reader calls them per header, and an archive may hold 150,000 entries).
      const c = chunk as Uint8Array;
      yield new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
      sinceCollect += (chunk as Uint8Array).length;
      if (gc && sinceCollect >= 4 << 20) {
        gc({ type: "minor" });
        sinceCollect = 0;
      }
    }
  } finally {
    input.destroy();
    inflater.destroy();
  }
}

async function* unzstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const d = new ZstdDecompress((chunk: Uint8Array) => {
    out.push(chunk);
  });
  // Fed piece by piece, each inflating to about 1 MiB: fzstd inflates all it is given at once.
  const pieces = new ZstdPieces();
  for await (const chunk of source) {
    for (const piece of pieces.cut(chunk)) {
      d.push(piece);
      while (out.length) yield out.shift()!;
    }
  }
  pieces.end();
  d.push(new Uint8Array(0), true);
  while (out.length) yield out.shift()!;
}
