/**
 * Worker of `hashRanges` (reader.ts): hashes byte ranges of one file with sha256 and posts the
 * hex digests back, so that the blobs of a large plain-tar image are hashed on every core.
 *
 * Message in: `{ path: string, ranges: [offset, size][] }`; out: `{ hexes: string[] }` or
 * `{ error: string }`.
 *
 * @module
 */
import { hashFileRanges } from "./_hash_ranges.ts";

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = async (e: MessageEvent<{ path: string; ranges: [number, number][] }>) => {
  try {
    scope.postMessage({ hexes: await hashFileRanges(e.data.path, e.data.ranges) });
  } catch (error) {
    scope.postMessage({ error: (error as Error).message });
  }
};
