/**
 * Worker of the parallel gzip compressor: deflates one block with fflate, with
 * the previous block's last 32 KiB as dictionary, ending in a sync flush (or
 * the final block). See gzip.ts.
 *
 * @module
 */
import { Deflate } from "fflate";

/** A block to compress. */
export interface GzipJob {
  id: number;
  data: Uint8Array;
  dictionary: Uint8Array | null;
  final: boolean;
  level: number;
}

/** Compresses one job: pure, the same bytes whatever thread runs it. */
export function deflateBlock(job: Omit<GzipJob, "id">): Uint8Array {
  const parts: Uint8Array[] = [];
  const deflate = new Deflate(
    {
      level: job.level as 6,
      ...(job.dictionary ? { dictionary: job.dictionary } : {}),
    },
    (chunk) => {
      parts.push(chunk);
    },
  );
  deflate.push(job.data, job.final);
  if (!job.final) deflate.flush(true);
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (typeof scope.WorkerGlobalScope !== "undefined" && scope instanceof scope.WorkerGlobalScope) {
  scope.onmessage = (event: MessageEvent<GzipJob>) => {
    const out = deflateBlock(event.data);
    scope.postMessage({ id: event.data.id, data: out }, [out.buffer as ArrayBuffer]);
    // fflate allocates ~2 MB per block; V8 lets up to 64 MB of such external
    // garbage pile up per isolate before it collects. Collect now when allowed
    // (--v8-flags=--expose-gc, which scripts/r10e and the compiled binary set).
    scope.gc?.();
  };
}
