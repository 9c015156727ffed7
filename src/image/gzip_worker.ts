/**
 * Worker of the parallel gzip compressor: compresses one block into one
 * complete gzip member with fflate. See gzip.ts.
 *
 * @module
 */
import { gzipSync } from "fflate";

/** A block to compress. */
export interface GzipJob {
  id: number;
  data: Uint8Array;
  level: number;
}

/**
 * One gzip member of a block: header with MTIME 0 and no name (OS 3), deflate
 * at `level`, CRC32 and size. Pure: the same bytes whatever thread runs it.
 */
export function gzipMember(data: Uint8Array, level: number): Uint8Array {
  return gzipSync(data, { level: level as 6, mtime: 0 });
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (typeof scope.WorkerGlobalScope !== "undefined" && scope instanceof scope.WorkerGlobalScope) {
  scope.onmessage = (event: MessageEvent<GzipJob>) => {
    const out = gzipMember(event.data.data, event.data.level);
    scope.postMessage({ id: event.data.id, data: out }, [out.buffer as ArrayBuffer]);
    // fflate allocates ~2 MB per block; V8 lets up to 64 MB of such external
    // garbage pile up per isolate before it collects. Collect now when allowed
    // (--v8-flags=--expose-gc, which scripts/r10e and the compiled binary set).
    scope.gc?.();
  };
}
