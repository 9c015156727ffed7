/**
 * Whether two inputs are the same file or two files of the same bytes: then they hold the same
 * image, and verify needs neither to hash them twice nor to read their layers (the archive's
 * sha256, taken once, names both).
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** Bytes compared at a time, from each file. */
const BLOCK = 4 << 20;

/**
 * True when `pathA` and `pathB` are regular files with the same bytes: one file under two names,
 * or compared side by side, stopping at the first difference (two builds that differ have files
 * of the same size as often as not, and differ anywhere in them, so nothing is hashed here).
 */
export async function sameBytes(pathA: string, pathB: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([pathA, pathB].map((p) => Deno.stat(p).catch(() => null)));
  if (!sa?.isFile || !sb?.isFile || sa.size !== sb.size) return false;
  if (sa.dev === sb.dev && sa.ino !== null && sa.ino === sb.ino) return true;
  using fa = await Deno.open(pathA);
  using fb = await Deno.open(pathB);
  const bufA = new Uint8Array(BLOCK);
  const bufB = new Uint8Array(BLOCK);
  for (let at = 0; at < sa.size;) {
    const n = Math.min(BLOCK, sa.size - at);
    const [gotA, gotB] = await Promise.all([
      readFull(fa, bufA.subarray(0, n)),
      readFull(fb, bufB.subarray(0, n)),
    ]);
    // A file that shrank while it was read is not the same as the other any more.
    if (!gotA || !gotB) return false;
    if (Buffer.compare(bufA.subarray(0, n), bufB.subarray(0, n)) !== 0) return false;
    at += n;
  }
  return true;
}

/** Fills `buf` from the file; false when the file ends first. */
async function readFull(file: Deno.FsFile, buf: Uint8Array): Promise<boolean> {
  for (let got = 0; got < buf.length;) {
    const n = await file.read(buf.subarray(got));
    if (n === null) return false;
    got += n;
  }
  return true;
}
