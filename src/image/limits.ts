/**
 * What r10e refuses to read, and why: the limits of the image reader (sizes, depths, counts,
 * inflation), each checked before the work it bounds, and how a refusal names sizes.
 *
 * @module
 */
import { formatBytes } from "../byte_size.ts";
import type { TarHeader } from "../tar/reader.ts";

/** Entries of a compressed archive up to this size stay in memory; larger ones are spooled. */
export const MEMORY_MAX = 256 << 10;

/**
 * At most this much of a compressed archive's entries is held in memory in all; beyond it,
 * small entries are spooled too (thousands of 256 KiB entries reached 3.1 GB RSS).
 */
export const MEMORY_TOTAL = 16 << 20;

/**
 * JSON documents (index, manifests, configs) larger than this are refused: parsing costs about
 * ten times their size in memory (a 60 MB manifest took 580 MB).
 */
export const JSON_MAX = 4 << 20;

/** JSON documents nested deeper than this are refused: comparing them recurses on depth. */
export const JSON_DEPTH_MAX = 512;

/**
 * Entries of one image (all its distinct layers) above this are refused: each costs memory in
 * the merged filesystem and in verify's summaries (1,000,000 entries, 1-2 GB RSS).
 */
export const ENTRIES_MAX = 250_000;

/** Layers of one image above this are refused (Docker's own limit is 125). */
export const LAYERS_MAX = 1_000;

/**
 * What a compressed archive may inflate to, by its headers: this much, or
 * {@linkcode INFLATE_RATIO} times the archive's size when that is more (a 20 GiB layer
 * inside a 20 MB archive). Beyond it, r10e refuses before inflating: reading it would take
 * minutes. Nothing of that size is written: what the spool directory cannot hold is read again
 * by inflating the archive once more.
 */
export const INFLATE_FLOOR = 8 * 2 ** 30;

/** See {@linkcode INFLATE_FLOOR}. gzip inflates at most about 1,032 times; real images 2-10 times. */
export const INFLATE_RATIO = 100;

/** Why an entry of a compressed archive or layer is refused before it is inflated. */
export function inflationRefused(
  header: TarHeader,
  inflated: number,
  size: number,
  what: "archive" | "layer",
): string {
  const max = Math.max(INFLATE_FLOOR, INFLATE_RATIO * size);
  return `entry "${header.name}" (${formatBytes(header.size)} decompressed) would take what ` +
    `r10e inflates of it to ${formatBytes(inflated)}, more than its limit for a ${
      formatBytes(size)
    } ${what} (${formatBytes(max)}: ${INFLATE_RATIO} times its size, at least ${
      formatBytes(INFLATE_FLOOR)
    })`;
}
