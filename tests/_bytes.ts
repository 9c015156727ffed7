/**
 * Byte helpers shared by the writer, gzip and round-trip tests.
 *
 * @module
 */
import type { TarEntry } from "../src/tar/writer.ts";

/** Collects a stream of chunks into one array (copying: producers may reuse their buffers). */
export async function collectBytes(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c.slice());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A file entry whose content is `text` (or bytes): the writer's own, for the tests. */
export { fileEntry } from "../src/tar/writer.ts";

/** A directory entry. */
export function dirEntry(name: string): TarEntry {
  return { name, kind: "dir", mode: 0o755, size: 0 };
}
