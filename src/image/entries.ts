/**
 * The outer entries of an image input (archive members, layout files, registry blobs) and
 * where their bytes are held: {@linkcode EntryStore}, what documents and layers are read from.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { InputError } from "../errors.ts";
import type { TarHeader, TarSource } from "../tar/reader.ts";
import { concatBytes } from "../bytes.ts";
import { hashRanges } from "./_hash_ranges.ts";
import { type ArchiveStamp, bytesSource, FileRange, InflatedRange } from "./byte_range.ts";
import type { Compression } from "./compression.ts";
import { JSON_MAX } from "./limits.ts";

/** One entry of the input: an outer archive member, or a file of a layout directory. */
export interface OuterEntry {
  /** The name as stored in the archive (or the path relative to the directory). */
  name: string;
  /** The name normalized: no `./`, no trailing slash, no empty components. */
  path: string;
  /** The tar header; null for a directory input. */
  header: TarHeader | null;
  kind: TarHeader["kind"];
  /** Content size of a regular file, else 0. */
  size: number;
  /** sha256 hex of a regular file's content, else null. */
  sha256: string | null;
}

/**
 * Bytes of an entry that the reader does not hold, read when asked for (a registry's blob:
 * src/registry/pull.ts). Reading the whole entry checks it against its digest.
 */
export interface EntrySource {
  /** A stream of `length` bytes at `offset` of the entry. */
  read(offset: number, length: number): TarSource;
}

/** Where an entry's bytes are. */
export type Stored =
  | { kind: "memory"; bytes: Uint8Array }
  | { kind: "file"; path: string; offset: number; size: number }
  | { kind: "source"; source: EntrySource }
  /** Read again from a compressed archive: inflated from its start, up to the entry's bytes. */
  | { kind: "inflate"; archive: ArchiveStamp; offset: number; size: number };

/** The hex digest a blob's name claims (`blobs/sha256/<hex>`), or null for another name. */
export function namedDigest(path: string): string | null {
  return /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path)?.[1] ?? null;
}

/** `./a//b/` → `a/b`; used for names inside the input only (never for writing). */
export function normalize(name: string): string {
  return name.split("/").filter((p) => p !== "" && p !== ".").join("/");
}

/** Normalizes and applies `..` (stopping at the top): for symlinks inside the input. */
export function collapse(name: string): string {
  const out: string[] = [];
  for (const p of normalize(name).split("/")) {
    if (p === "..") out.pop();
    else if (p) out.push(p);
  }
  return out.join("/");
}

/** What {@linkcode EntryStore} is made of. */
export interface EntryStoreInit {
  /** The input's path, as given (for messages). */
  path: string;
  kind: "archive" | "directory" | "registry";
  compression: Compression;
  entries: OuterEntry[];
  stored: Map<string, Stored>;
  /** The spool directory, removed by `close`. */
  spool: string | null;
  /** Reads a compressed archive again for entries the first pass did not keep. */
  refill?: (want: Map<string, OuterEntry>) => Promise<void>;
  /** Called once by `close` (a registry input closes its client and spool). */
  onClose?: () => Promise<void>;
  /** Entries not hashed yet (`deferBlobHashes`). */
  unhashed?: Set<string>;
}

/**
 * The outer entries of an input and where their bytes are: found by name (links inside the
 * archive followed), read as stored, fetched again when the first pass did not keep them.
 * What an image input reads its documents and layers from.
 */
export class EntryStore {
  /** The path given to `openImage`, used in messages. */
  readonly path: string;
  /** `archive` for a tar file, `directory` for an OCI layout directory, `registry` for a reference. */
  readonly kind: "archive" | "directory" | "registry";
  /** Outer compression of an archive (`none` for a directory). */
  readonly compression: Compression;
  /** Every entry in input order (a directory's files sorted bytewise by path). */
  readonly entries: readonly OuterEntry[];
  /** Entries whose `sha256` is the digest their name claims, not yet checked (`deferBlobHashes`). */
  readonly unhashed: ReadonlySet<string>;
  #unhashed: Set<string>;
  #stored: Map<string, Stored>;
  #refill: ((want: Map<string, OuterEntry>) => Promise<void>) | undefined;
  #byPath: Map<string, OuterEntry>;
  #spool: string | null;
  #onClose: (() => Promise<void>) | undefined;

  /** A store of these entries. */
  constructor(init: EntryStoreInit) {
    this.#onClose = init.onClose;
    this.#unhashed = init.unhashed ?? new Set();
    this.unhashed = this.#unhashed;
    this.#refill = init.refill;
    this.path = init.path;
    this.kind = init.kind;
    this.compression = init.compression;
    this.entries = init.entries;
    this.#stored = init.stored;
    this.#spool = init.spool;
    this.#byPath = new Map(init.entries.map((e) => [e.path, e]));
  }

  /** `Cannot read image "<path>": <detail>`, as an InputError. */
  error(detail: string, cause?: unknown): InputError {
    return new InputError(`Cannot read image "${this.path}": ${detail}`, { cause });
  }

  /** The outer entry at a normalized path (symlinks inside the archive followed), or undefined. */
  entry(path: string): OuterEntry | undefined {
    return this.#resolve(normalize(path));
  }

  /** How an entry's bytes are held (`memory`, `file`, `source`, `inflate`), or undefined. */
  storedKind(path: string): Stored["kind"] | undefined {
    const entry = this.#resolve(normalize(path));
    return entry && this.#stored.get(entry.path)?.kind;
  }

  /** The bytes of a small entry (a JSON document). @throws {InputError} when it is missing or too large. */
  async readBytes(path: string, what = `entry "${path}"`): Promise<Uint8Array> {
    const entry = this.#resolve(normalize(path));
    if (!entry || entry.kind !== "file") throw this.error(`${what} is missing`);
    if (entry.size > JSON_MAX) {
      throw this.error(
        `${what} is too large (${entry.size} bytes; r10e reads JSON documents up to ${
          JSON_MAX >> 20
        } MiB)`,
      );
    }
    await this.need([entry.path]);
    const parts: Uint8Array[] = [];
    for await (const chunk of this.readEntry(entry.path)) parts.push(chunk);
    const bytes = concatBytes(parts);
    if (this.#unhashed.has(entry.path)) {
      if (createHash("sha256").update(bytes).digest("hex") !== entry.sha256) {
        throw this.error(`blob "${entry.path}" does not match its digest`);
      }
      this.#unhashed.delete(entry.path);
    }
    return bytes;
  }

  /**
   * Makes sure the bytes of these entries are at hand: a compressed archive's first pass keeps
   * only what fits its budgets (see `Spool`), and one more pass fetches what a document names.
   * @throws {InputError} when they cannot be kept (a cap or the disk) or changed meanwhile.
   */
  async need(paths: Iterable<string>): Promise<void> {
    if (!this.#refill) return;
    const want = new Map<string, OuterEntry>();
    for (const p of paths) {
      const entry = this.#resolve(normalize(p));
      if (entry?.kind === "file" && !this.#stored.has(entry.path)) want.set(entry.path, entry);
    }
    if (want.size) await this.#refill(want);
  }

  /**
   * Streams the bytes of an entry, as stored. With `reuse`, chunks share one buffer and are valid
   * only until the next one is asked for (no allocation per chunk).
   * @throws {InputError} when it is missing.
   */
  readEntry(
    path: string,
    offset = 0,
    length?: number,
    options: { reuse?: boolean } = {},
  ): TarSource {
    const entry = this.#resolve(normalize(path));
    const stored = entry && this.#stored.get(entry.path);
    if (!entry || !stored) throw this.error(`entry "${path}" is missing`);
    const size = entry.size;
    const len = length ?? size - offset;
    if (offset < 0 || offset + len > size) {
      throw new RangeError(`Cannot read ${len} bytes at ${offset} of "${path}" (${size} bytes)`);
    }
    if (stored.kind === "memory") return bytesSource(stored.bytes.subarray(offset, offset + len));
    if (stored.kind === "source") return stored.source.read(offset, len);
    if (stored.kind === "inflate") {
      return new InflatedRange(stored.archive, stored.offset + offset, len, this.error.bind(this));
    }
    return new FileRange(stored.path, stored.offset + offset, len, options);
  }

  /** Removes the spool directory. Safe to call twice. */
  async close(): Promise<void> {
    const spool = this.#spool;
    this.#spool = null;
    this.#stored.clear();
    if (spool) await Deno.remove(spool, { recursive: true }).catch(() => {});
    const onClose = this.#onClose;
    this.#onClose = undefined;
    await onClose?.();
  }

  #resolve(path: string, hops = 0): OuterEntry | undefined {
    const entry = this.#byPath.get(path);
    const link = entry?.kind === "symlink" || entry?.kind === "hardlink";
    if (!entry || !link || !entry.header || hops > 40) return link ? undefined : entry;
    const target = entry.header.linkname;
    // A hardlink names its target from the archive's top (a tar of a layout with shared blobs).
    if (entry.kind === "hardlink") return this.#resolve(collapse(target), hops + 1);
    // docker save (before 25) links identical layers: `<id>/layer.tar -> ../<id2>/layer.tar`.
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    const next = collapse(target.startsWith("/") ? target : dir + "/" + target);
    return this.#resolve(next, hops + 1);
  }

  /**
   * Checks entries left unhashed when the archive was opened (`deferBlobHashes`) against the
   * digests their names claim, the ranges of a plain tar hashed on every core, a compressed
   * archive's entries (`documentsOnly`) by inflating it again; others are no-ops.
   * @throws {InputError} for a blob that does not match its digest.
   */
  async checkBlobs(paths: Iterable<string>): Promise<void> {
    const files: { path: string; file: string; range: [number, number]; sha256: string }[] = [];
    for (const p of paths) {
      const entry = this.#resolve(normalize(p));
      if (!entry || !this.#unhashed.has(entry.path)) continue;
      const stored = this.#stored.get(entry.path);
      if (stored?.kind === "inflate") {
        // Passed over by a compressed archive's first pass (`documentsOnly`): read again.
        const hash = createHash("sha256");
        for await (const chunk of this.readEntry(entry.path)) hash.update(chunk);
        if (hash.digest("hex") !== entry.sha256) {
          throw this.error(`blob "${entry.path}" does not match its digest`);
        }
        this.#unhashed.delete(entry.path);
        continue;
      }
      if (stored?.kind !== "file") continue;
      files.push({
        path: entry.path,
        file: stored.path,
        range: [stored.offset, stored.size],
        sha256: entry.sha256 ?? "",
      });
    }
    const byFile = Map.groupBy(files, (f) => f.file);
    for (const [file, list] of byFile) {
      const hexes = await hashRanges(file, list.map((f) => f.range));
      list.forEach((f, i) => {
        if (hexes[i] !== f.sha256) throw this.error(`blob "${f.path}" does not match its digest`);
        this.#unhashed.delete(f.path);
      });
    }
  }
}
