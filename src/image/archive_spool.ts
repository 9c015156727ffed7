/**
 * Where a compressed archive's entries go while it is read once: memory for small ones, a spool
 * directory for others, within budgets and the free space ({@linkcode Spool}).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { statfs } from "node:fs/promises";
import type { TarHeader } from "../tar/reader.ts";
import { concatBytes } from "../bytes.ts";
import { type ArchiveStamp, READ_SIZE } from "./byte_range.ts";
import type { OuterEntry, Stored } from "./entries.ts";
import { JSON_MAX, MEMORY_MAX, MEMORY_TOTAL } from "./limits.ts";

/** Names of the documents every reader needs: always kept in memory (up to JSON_MAX). */
export const DOCUMENTS = new Set(["index.json", "manifest.json", "oci-layout"]);

/**
 * Whether an outer entry may be part of an image: a document, a blob, or named like the parts
 * of a docker-archive (`<hex>.json`, `<id>/layer.tar`, `<hex>.tar`, crane's `sha256:<hex>`).
 * Others are only hashed by the first pass (thousands of junk entries beside the
 * image were kept), and read again in the rare case that manifest.json names one.
 */
function mayBeNeeded(path: string): boolean {
  return DOCUMENTS.has(path) || path.startsWith("blobs/") || /[0-9a-f]{64}/.test(path) ||
    /(^|\/)layer\.tar$/.test(path) || /\.(json|tar|tar\.gz|tgz|tar\.zst)$/.test(path);
}

/**
 * Where a compressed archive's entries go while it is read: memory for small ones (within
 * {@linkcode MEMORY_TOTAL}), the spool directory for others (within a budget and the free
 * space), else nowhere: such an entry is only hashed; when a document names it, a small one is
 * fetched by a second pass, a large one read by inflating the archive again (`stream`).
 */
export class Spool {
  readonly stored = new Map<string, Stored>();
  /** The archive, for entries read by inflating it again. */
  readonly archive: ArchiveStamp;
  #dir: string;
  #n = 0;
  #block: Uint8Array | undefined;
  #held = 0;
  #spooled = 0;
  /** Bytes spooled in all (beyond, entries are read again by inflating the archive). */
  #budget: number;

  constructor(archive: ArchiveStamp, dir: string, archiveSize: number) {
    this.archive = archive;
    this.#dir = dir;
    this.#budget = Math.max(SPOOL_BUDGET_FLOOR, SPOOL_BUDGET_RATIO * archiveSize);
  }

  /** Forgets what an earlier entry of the same name held (a later one wins, as in tar). */
  async drop(path: string): Promise<void> {
    const previous = this.stored.get(path);
    if (!previous) return;
    this.stored.delete(path);
    if (previous.kind === "memory") this.#held -= previous.bytes.length;
    else if (previous.kind === "file") {
      this.#spooled -= previous.size;
      await Deno.remove(previous.path).catch(() => {});
    }
  }

  /** Reads an entry, from now on, by inflating the archive again up to it ({@linkcode InflatedRange}). */
  stream(entry: OuterEntry): void {
    if (!entry.header) return;
    this.stored.set(entry.path, {
      kind: "inflate",
      archive: this.archive,
      offset: entry.header.dataOffset,
      size: entry.size,
    });
  }

  /**
   * Hashes an entry's body and keeps its bytes where they fit: small ones in memory (`needed`
   * documents always), others in the spool directory within its budget and the free space; the
   * rest is hashed only. Resolves to the sha256 hex.
   */
  async take(path: string, h: TarHeader, body: AsyncIterable<Uint8Array>, needed: boolean) {
    const hash = createHash("sha256");
    if (!needed && !mayBeNeeded(path)) {
      for await (const chunk of body) hash.update(chunk);
      return hash.digest("hex");
    }
    const small = h.size <= MEMORY_MAX || (needed && DOCUMENTS.has(path) && h.size <= JSON_MAX);
    if (small && (this.#held + h.size <= MEMORY_TOTAL || DOCUMENTS.has(path))) {
      const parts: Uint8Array[] = [];
      for await (const chunk of body) {
        hash.update(chunk);
        parts.push(chunk.slice());
      }
      this.stored.set(path, { kind: "memory", bytes: concatBytes(parts) });
      this.#held += h.size;
      return hash.digest("hex");
    }
    // Spooled only within the budget and the free space: what is not kept is read again, when
    // a document names it, by inflating the archive again (`stream`), never refused for space.
    const free = await freeSpace(this.#dir);
    if (this.#spooled + h.size > this.#budget || (free !== null && h.size > free / 2)) {
      for await (const chunk of body) hash.update(chunk);
      return hash.digest("hex");
    }
    this.#spooled += h.size;
    const file = `${this.#dir}/${this.#n++}`;
    using out = await Deno.open(file, { write: true, createNew: true });
    let writing = true;
    const write = async (bytes: Uint8Array) => {
      if (!writing) return;
      try {
        await writeAll(out, bytes);
      } catch {
        // The disk filled meanwhile (others write there too): hashed only, read again later.
        writing = false;
      }
    };
    // Decompressors yield small chunks: gather them into large blocks, so that writing
    // and hashing cost one call per MiB, not one per chunk.
    const block = this.#block ??= new Uint8Array(READ_SIZE);
    let fill = 0;
    for await (let chunk of body) {
      while (chunk.length) {
        const k = Math.min(chunk.length, block.length - fill);
        block.set(chunk.subarray(0, k), fill);
        fill += k;
        chunk = chunk.subarray(k);
        if (fill === block.length) {
          hash.update(block);
          await write(block);
          fill = 0;
        }
      }
    }
    if (fill) {
      hash.update(block.subarray(0, fill));
      await write(block.subarray(0, fill));
    }
    if (!writing) {
      this.#spooled -= h.size;
      await Deno.remove(file).catch(() => {});
      return hash.digest("hex");
    }
    this.stored.set(path, { kind: "file", path: file, offset: 0, size: h.size });
    return hash.digest("hex");
  }
}

/** What the first pass may spool without knowing what is needed: this, or RATIO × the archive. */
const SPOOL_BUDGET_FLOOR = 256 << 20;

const SPOOL_BUDGET_RATIO = 8;

/** Bytes free for an unprivileged writer in the filesystem of `dir`, or null when unknown. */
async function freeSpace(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

async function writeAll(file: Deno.FsFile, chunk: Uint8Array): Promise<void> {
  let done = 0;
  while (done < chunk.length) done += await file.write(chunk.subarray(done));
}
