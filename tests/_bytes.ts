/**
 * Byte helpers shared by the writer, gzip and round-trip tests.
 *
 * @module
 */
import type { TarEntry } from "../src/tar/writer.ts";

/** Collects a stream of chunks into one array (copying: producers may reuse their buffers). */
export { collectBytes } from "../src/bytes.ts";

/** A file entry whose content is `text` (or bytes): the writer's own, for the tests. */
export { fileEntry } from "../src/tar/writer.ts";

/** A directory entry. */
export function dirEntry(name: string): TarEntry {
  return { name, kind: "dir", mode: 0o755, size: 0 };
}
