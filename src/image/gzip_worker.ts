/**
 * Worker of the parallel gzip compressor: compresses one block into one
 * complete gzip member. See gzip.ts.
 *
 * The compressor is flate2's deflate (Rust, miniz_oxide) compiled to WebAssembly
 * in `@hazae41/foras`, pinned by version in deno.json and by hash in deno.lock:
 * its bytes depend only on that pinned module and the level, never on Deno's
 * zlib (DESIGN: image format). It replaced fflate (pure JS) for writing in image
 * format 4: on a cold start, where every `r10e build` runs, fflate compressed a
 * Go binary at 5 MB/s of CPU, 4 to 5 times slower (README: layer compression).
 *
 * @module
 */
import { gzip, initBundledOnce, Memory } from "@hazae41/foras";

/** A block to compress. */
export interface GzipJob {
  id: number;
  data: Uint8Array;
  level: number;
}

let ready: Promise<unknown> | null = null;

/** Loads the WebAssembly module once per thread; `gzipMember` needs it loaded. */
export function gzipReady(): Promise<unknown> {
  return ready ??= initBundledOnce();
}

/**
 * One gzip member of a block: header with MTIME 0 and no name (XFL 4 at levels
 * 0 and 1, OS 255), deflate at `level`, CRC32 and size, in `into` when it is large enough.
 * Pure: the same bytes whatever thread runs it. Call after `gzipReady()` has resolved.
 */
export function gzipMember(data: Uint8Array, level: number, into?: ArrayBuffer): Uint8Array {
  using input = new Memory(data);
  using output = gzip(input, level);
  const bytes = output.bytes;
  // Copied out of the WebAssembly memory into the caller's buffer when it fits (no new one).
  if (!into || into.byteLength < bytes.length) return bytes.slice();
  const out = new Uint8Array(into, 0, bytes.length);
  out.set(bytes);
  return out;
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (typeof scope.WorkerGlobalScope !== "undefined" && scope instanceof scope.WorkerGlobalScope) {
  scope.onmessage = async (event: MessageEvent<GzipJob>) => {
    await gzipReady();
    const out = gzipMember(event.data.data, event.data.level);
    // The block's buffer goes back too, for the next block.
    const input = event.data.data.buffer as ArrayBuffer;
    scope.postMessage({ id: event.data.id, data: out, input }, [out.buffer as ArrayBuffer, input]);
    // The block just compressed is garbage now, external memory this isolate's small heap
    // would not collect for many blocks (with --expose-gc, which scripts/r10e and the compiled
    // binary set; a young collection of a heap this small is cheap).
    scope.gc?.({ type: "minor" });
  };
}
