/**
 * Gzip with stable bytes: a compressor pinned with r10e (gzip_worker.ts says which
 * and why) at the fixed levels below, header MTIME 0 and no file name (DESIGN:
 * image format). The same compressor writes gzip layers (their digests are in the
 * manifest, so it is part of the image format) and the outer archive. Deno's own
 * CompressionStream is not used because its bytes can change with Deno's zlib.
 *
 * Compression runs on worker threads: the input is cut into 1 MiB blocks and
 * each becomes one complete gzip member (RFC 1952 allows any number of
 * members; gzip, Go's compress/gzip as in Docker and skopeo, zlib and Python
 * read them all), like bgzip. The bytes depend only on the input, the block
 * size and the level (all fixed here), never on the number of threads or how
 * the input was chunked. (Members are independent rather than pigz-style
 * dictionary-chained: fflate's sync flush corrupts some inputs.)
 *
 * @module
 */
import { untilAborted } from "../signals.ts";
import { type GzipJob, gzipMember, gzipReady } from "./gzip_worker.ts";

/**
 * The level of gzip layers (`layer_compression: "gzip"`), and of the outer
 * archive when its layers are stored uncompressed (`"none"`). Part of the format
 * (README: layer compression, for the figures behind the choice).
 */
export const GZIP_LEVEL = 2;

/**
 * Level 0: stored deflate blocks. The outer archive of gzip layers is written so
 * (still a valid `.tar.gz`): gzipping bytes that are already gzip is wasted time.
 */
export const STORED_LEVEL = 0;

/** Input block size. Part of the format: a different size gives other bytes. */
export const GZIP_BLOCK = 1 << 20;

/** Options of `gzip`. */
export interface GzipOptions {
  /**
   * Compressing threads besides the calling one, which compresses too (each
   * worker is a V8 isolate of some 30 MB). Default: one less than the cores, at most 3.
   * Ignored when `pool` is given.
   */
  workers?: number;
  /** Deflate level, 0 (stored) to 9. Default {@linkcode GZIP_LEVEL}. */
  level?: number;
  /** Worker threads shared by several streams (one pool for every layer of an archive). */
  pool?: GzipPool;
  /**
   * Aborting stops the stream at the next block (its own workers stopped) and rejects with the
   * signal's reason, without waiting for the blocks in flight.
   */
  signal?: AbortSignal;
}

/** The default number of worker threads: one less than the cores, at most 3. */
export function defaultWorkers(): number {
  return Math.min(3, Math.max(0, (navigator.hardwareConcurrency ?? 1) - 1));
}

/**
 * Room for one member: a block stored uncompressed (the worst case of deflate) is the block, 5
 * bytes per 64 KiB stored block, and the gzip header and trailer.
 */
const OUT_BLOCK = GZIP_BLOCK + 4096;

/**
 * Compresses a stream of chunks to gzip. A chunk yielded is valid until the next is asked for
 * (its buffer may be reused): a consumer that keeps one copies it.
 */
export async function* gzip(
  source: AsyncIterable<Uint8Array>,
  options: GzipOptions = {},
): AsyncGenerator<Uint8Array> {
  const level = options.level ?? GZIP_LEVEL;
  const own = options.pool ? null : new GzipPool(options.workers ?? defaultWorkers());
  const pool = (options.pool ?? own!).size > 0 ? (options.pool ?? own!) : null;
  const workers = pool?.size ?? 0;
  const inFlight: Promise<Uint8Array>[] = [];
  // Output buffers of the members made on this thread: in use (`ours`), and free (`spare`).
  const ours = new Set<ArrayBuffer>();
  const spare: ArrayBuffer[] = [];
  try {
    await gzipReady();
    const limit = 2 * (workers + 1);
    let id = 0;
    const gc = (globalThis as { gc?: (o?: { type: string }) => void }).gc;
    const submit = (data: Uint8Array) => {
      // Every (workers+1)-th block is compressed on this thread, the others on the workers.
      if (!pool || id % (workers + 1) === workers) {
        const into = spare.pop() ?? new ArrayBuffer(OUT_BLOCK);
        const out = gzipMember(data, level, into);
        if (out.buffer === into) ours.add(into);
        inFlight.push(Promise.resolve(out));
      } else {
        // A copy into one of the pool's block buffers: the block is a view of a reused buffer,
        // and the copy is transferred (and comes back for the next block, no new allocation).
        const copy = pool.block(data.length);
        copy.set(data);
        inFlight.push(pool.run({ data: copy, level }));
      }
      id++;
      // The blocks copied in and coming back from workers are external memory V8
      // collects late; collect now when allowed (--v8-flags=--expose-gc, which scripts/r10e
      // and the compiled binary set). A minor collection every 4th block: a block lives for
      // about `limit` blocks, so a collection per block promotes the ones in flight to the old
      // generation, where only a full collection frees them (measured in docs/benchmarks.md:
      // the build's peak RSS, at the same CPU).
      if (id % 4 === 0) gc?.({ type: "minor" });
    };
    let empty = true;
    const signal = options.signal;
    signal?.throwIfAborted();
    // A block in flight on a worker resolves late, or never once the pool is closed: the wait
    // for it ends at the abort.
    const next = () => {
      const head = inFlight.shift()!;
      return untilAborted(head, signal);
    };
    // A member made on this thread is in a buffer of ours, free again once the consumer asks
    // for the next one: reused, rather than one new buffer per block that the allocator's heap
    // keeps fragmented (the build's peak RSS).
    const lend = function* (out: Uint8Array) {
      yield out;
      if (ours.delete(out.buffer as ArrayBuffer)) spare.push(out.buffer as ArrayBuffer);
    };
    for await (const block of rechunk(source, GZIP_BLOCK)) {
      signal?.throwIfAborted();
      empty = false;
      submit(block);
      while (inFlight.length >= limit) yield* lend(await next());
    }
    if (empty) submit(new Uint8Array(0));
    while (inFlight.length) yield* lend(await next());
  } finally {
    // Blocks left in flight after an abort or an error: their outcome is of no use any more.
    for (const p of inFlight) p.catch(() => {});
    own?.close();
  }
}

/**
 * Worker threads running `gzipMember`, for one stream or shared by several
 * (`using pool = new GzipPool(n)`). With 0 workers everything runs on the calling thread.
 */
export class GzipPool {
  #workers: Worker[] = [];
  #next = 0;
  #ids = 0;
  #waiting = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: unknown) => void }>();
  // Block buffers the workers gave back, for the next blocks: a new 1 MiB buffer per block is
  // freed late and fragments the allocator's heap (the build's peak RSS).
  #spare: ArrayBuffer[] = [];

  /** Starts `size` workers (default {@linkcode defaultWorkers}). */
  constructor(size: number = defaultWorkers()) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./gzip_worker.ts", import.meta.url), { type: "module" });
      worker.onmessage = (
        e: MessageEvent<{ id: number; data: Uint8Array; input: ArrayBuffer }>,
      ) => {
        if (e.data.input.byteLength === GZIP_BLOCK) this.#spare.push(e.data.input);
        const w = this.#waiting.get(e.data.id);
        this.#waiting.delete(e.data.id);
        w?.resolve(e.data.data);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        for (const w of this.#waiting.values()) {
          w.reject(new Error(`gzip worker failed: ${e.message}`));
        }
        this.#waiting.clear();
      };
      this.#workers.push(worker);
    }
  }

  /** The number of worker threads. */
  get size(): number {
    return this.#workers.length;
  }

  /** A buffer for a block of `size` bytes (at most {@linkcode GZIP_BLOCK}), to give to `run`. */
  block(size: number): Uint8Array {
    const buf = this.#spare.pop() ?? new ArrayBuffer(Math.max(size, GZIP_BLOCK));
    return new Uint8Array(buf, 0, size);
  }

  /** Compresses one block on the next worker; the block's buffer is transferred. */
  run(job: Omit<GzipJob, "id">): Promise<Uint8Array> {
    const id = this.#ids++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const worker = this.#workers[this.#next++ % this.#workers.length];
      worker.postMessage({ ...job, id }, [job.data.buffer as ArrayBuffer]);
    });
  }

  /** Stops the workers. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Re-cuts a stream into blocks of exactly `size` bytes (the last may be shorter). A block is
 * valid until the next is asked for (its buffer is reused).
 */
export async function* rechunk(
  source: AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(size);
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
        fill = 0;
      }
    }
  }
  if (fill) yield buf.subarray(0, fill);
}
