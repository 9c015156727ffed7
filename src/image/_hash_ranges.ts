/**
 * sha256 of byte ranges of a file, on several cores for large inputs: the blobs of a plain-tar
 * image (as `docker save` writes it) are verified in parallel by workers that each read their
 * own ranges, so verifying every blob costs about 1/cores of the hashing time.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Below this many bytes, workers cost more than they save. */
const PARALLEL_MIN = 64 << 20;
const READ_SIZE = 1 << 20;

/** sha256 hex of each `[offset, size]` range of the file at `path`, in one thread. */
export async function hashFileRanges(path: string, ranges: [number, number][]): Promise<string[]> {
  using file = await Deno.open(path);
  const buf = new Uint8Array(READ_SIZE);
  const out: string[] = [];
  for (const [offset, size] of ranges) {
    const hash = createHash("sha256");
    await file.seek(offset, Deno.SeekMode.Start);
    let left = size;
    while (left > 0) {
      const n = await file.read(buf.subarray(0, Math.min(READ_SIZE, left)));
      if (n === null) throw new Error(`File "${path}" ended before offset ${offset + size}`);
      hash.update(buf.subarray(0, n));
      left -= n;
    }
    out.push(hash.digest("hex"));
  }
  return out;
}

/**
 * sha256 hex of each range, spread over this thread and `navigator.hardwareConcurrency - 1`
 * workers (4 threads at most) when there is enough to hash; in this thread alone otherwise, or
 * when workers cannot start.
 * @throws {Error} when the file is shorter than a range.
 */
export async function hashRanges(
  path: string,
  ranges: [number, number][],
  options: { workerUrl?: string } = {},
): Promise<string[]> {
  const workerUrl = options.workerUrl ?? new URL("./_hash_worker.ts", import.meta.url).href;
  const total = ranges.reduce((n, [, size]) => n + size, 0);
  const cores = Math.min(4, navigator.hardwareConcurrency ?? 1);
  if (total < PARALLEL_MIN || cores < 2 || ranges.length < 2) return hashFileRanges(path, ranges);
  // Largest first, each to the least loaded worker.
  const order = ranges.map((_, i) => i).sort((a, b) => ranges[b][1] - ranges[a][1]);
  const buckets = Array.from({ length: cores }, () => ({ load: 0, index: [] as number[] }));
  for (const i of order) {
    const b = buckets.reduce((min, x) => (x.load < min.load ? x : min));
    b.index.push(i);
    b.load += ranges[i][1];
  }
  // This thread hashes the first bucket itself: one isolate fewer (memory) and no idle core.
  const [own, ...used] = buckets.filter((b) => b.index.length);
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < used.length; i++) {
      workers.push(
        new Worker(workerUrl, { type: "module" }),
      );
    }
  } catch {
    for (const w of workers) w.terminate();
    return hashFileRanges(path, ranges);
  }
  try {
    const [ownHexes, ...results] = await Promise.all([
      hashFileRanges(path, own.index.map((j) => ranges[j])),
      ...used.map((b, i) =>
        new Promise<string[]>((resolve, reject) => {
          const w = workers[i];
          w.onmessage = (e: MessageEvent<{ hexes?: string[]; error?: string }>) =>
            e.data.hexes ? resolve(e.data.hexes) : reject(new Error(e.data.error));
          const mine = b.index.map((j) => ranges[j]);
          // A worker that cannot run (say, its module is not in a compiled binary): this thread
          // hashes its share instead.
          w.onerror = (e) => {
            e.preventDefault();
            hashFileRanges(path, mine).then(resolve, reject);
          };
          w.postMessage({ path, ranges: mine });
        })
      ),
    ]);
    const out: string[] = new Array(ranges.length);
    own.index.forEach((j, k) => (out[j] = ownHexes[k]));
    used.forEach((b, i) => b.index.forEach((j, k) => (out[j] = results[i][k])));
    return out;
  } finally {
    for (const w of workers) w.terminate();
  }
}

/**
 * sha256 hex of a whole file hashed on a worker thread, leaving this one free for other work
 * (verify inflates an archive while its twin's digest is computed); on this thread when the
 * worker cannot start or run.
 * @throws {Error} when the file cannot be read.
 */
export async function hashFileOffThread(
  path: string,
  options: { workerUrl?: string } = {},
): Promise<string> {
  const size = (await Deno.stat(path)).size;
  const here = async () => (await hashFileRanges(path, [[0, size]]))[0];
  let worker: Worker;
  try {
    worker = new Worker(
      options.workerUrl ?? new URL("./_hash_worker.ts", import.meta.url).href,
      { type: "module" },
    );
  } catch {
    return await here();
  }
  try {
    return await new Promise<string>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ hexes?: string[]; error?: string }>) =>
        e.data.hexes ? resolve(e.data.hexes[0]) : reject(new Error(e.data.error));
      worker.onerror = (e) => {
        e.preventDefault();
        here().then(resolve, reject);
      };
      worker.postMessage({ path, ranges: [[0, size]] });
    });
  } finally {
    worker.terminate();
  }
}
