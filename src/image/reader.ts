/**
 * The image reader shared by `verify` and `cp` (DESIGN: reading images). It opens a
 * docker-archive or an OCI image layout, as a `.tar`, `.tar.gz`, `.tar.zst` or a directory,
 * verifies every blob, and gives access to the JSON documents and to each layer's entries.
 *
 * ```ts
 * await using input = await openImage("out.tar.gz", { platform: "linux/amd64" });
 * input.compression;            // "gzip": the outer compression, detected by magic bytes
 * input.entries;                // outer archive entries in order: name, header, size, sha256
 * input.indexJson;              // raw bytes of index.json (or null), likewise manifestJson, ociLayout
 * const image = input.image();  // the one image, or the one for options.platform
 * image.manifestDigest; image.configDigest; image.configBytes; image.layers[0].diffId;
 * for await (const e of input.layerEntries(image, 0)) {
 *   e.header.name;              // tar header of each entry of layer 0, in order
 *   for await (const chunk of e.body) {} // content, streamed
 * }
 * ```
 *
 * What `openImage` does, and what it guarantees once it returns:
 * - The input is read ONCE from start to end. Every regular file in it is hashed (sha256,
 *   `entries[i].sha256`); a `.tar` outer archive is then read in place by offset (its headers
 *   are read first, seeking over content, then its entries are hashed on every core), a
 *   compressed one keeps small entries in memory and spools others to a temporary directory
 *   within a budget and the free space; what it does not keep is read, when asked for, by
 *   inflating the archive again up to it (nothing written: a 20 GiB layer costs no disk); the
 *   spool directory is removed by {@linkcode ImageInput.close}. A layer is never held in memory.
 * - Every blob named by a digest (`blobs/sha256/<hex>`, in an archive or a directory) matches it,
 *   and every descriptor's size matches its blob.
 * - index.json (nested indexes followed, attestation manifests left out) or else manifest.json
 *   (docker-archive, pre-Docker-25 `<id>/layer.tar` layout included, with its symlinked layers)
 *   is parsed into {@linkcode ImageInfo}s; each config is read and its `rootfs.diff_ids` counted
 *   against the layers. Uncompressed layers are checked against their diff_id here already;
 *   compressed ones (gzip or zstd, found by magic bytes) when `layerEntries` reads them to the end.
 * - All errors are {@linkcode InputError}s (exit 2) that name the input and the entry:
 *   `Cannot read image "x.tar.gz": blob "blobs/sha256/ab…" does not match its digest`.
 *
 * Designed for a consumer that compares two images: two inputs can be open at once and their
 * layers iterated side by side; nothing is shared between inputs.
 *
 * @module
 */
import { compareCodePoints } from "../code_point_order.ts";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { createHash } from "node:crypto";
import { statfs } from "node:fs/promises";
// fzstd: pure-JS streaming zstd decompression (npm). Deno's node:zlib zstd stream ends after the
// first frame of a multi-frame stream (pzstd, concatenated files).
import { Decompress as ZstdDecompress } from "fzstd";
import { ZstdPieces } from "./_zstd_pieces.ts";
import { InputError } from "../errors.ts";
import {
  readTar,
  type TarHeader,
  type TarReaderEntry,
  type TarSource,
  UnsupportedEntryError,
} from "../tar/reader.ts";
import { hashRanges } from "./_hash_ranges.ts";
import { plural } from "../plural.ts";
import { concatBytes } from "../bytes.ts";
import { type Descriptor, DescriptorError, readDescriptor } from "./descriptor.ts";
import {
  formatPlatform,
  parsePlatform,
  type Platform,
  platformMatches,
  readPlatform,
} from "./platform.ts";

/** Compression of an archive or a blob, by magic bytes. */
export type Compression = "none" | "gzip" | "zstd";

/** Reads are done in blocks of this size: few syscalls, flat memory. */
const READ_SIZE = 1 << 20;
/** The first read after a skip: enough for a few tar headers. */
const SMALL_READ = 16 << 10;
/** Entries of a compressed archive up to this size stay in memory; larger ones are spooled. */
const MEMORY_MAX = 256 << 10;
/**
 * At most this much of a compressed archive's entries is held in memory in all; beyond it,
 * small entries are spooled too (issue 10: thousands of 256 KiB entries reached 3.1 GB RSS).
 */
export const MEMORY_TOTAL = 16 << 20;
/**
 * JSON documents (index, manifests, configs) larger than this are refused: parsing costs about
 * ten times their size in memory (issue 10: a 60 MB manifest took 580 MB).
 */
export const JSON_MAX = 4 << 20;
/** JSON documents nested deeper than this are refused: comparing them recurses on depth. */
export const JSON_DEPTH_MAX = 512;
/**
 * Entries of one image (all its distinct layers) above this are refused: each costs memory in
 * the merged filesystem and in verify's summaries (issue 10: 1,000,000 entries, 1-2 GB RSS).
 */
export const ENTRIES_MAX = 250_000;
/** Layers of one image above this are refused (Docker's own limit is 125). */
export const LAYERS_MAX = 1_000;
/**
 * What a compressed archive may inflate to, by its headers: this much, or
 * {@linkcode INFLATE_RATIO} times the archive's size when that is more (issue 10: a 20 GiB layer
 * inside a 20 MB archive). Beyond it, r10e refuses before inflating: reading it would take
 * minutes. Nothing of that size is written: what the spool directory cannot hold is read again
 * by inflating the archive once more.
 */
export const INFLATE_FLOOR = 8 * 2 ** 30;
/** See {@linkcode INFLATE_FLOOR}. gzip inflates at most about 1,032 times; real images 2-10 times. */
export const INFLATE_RATIO = 100;

const MEDIA_INDEX = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
const MEDIA_MANIFEST = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

/** The compression that the first bytes show: gzip `1f 8b`, zstd `28 b5 2f fd`, else none. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (
    head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f &&
    head[3] === 0xfd
  ) return "zstd";
  return "none";
}

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

/** One layer of an image. */
export interface LayerInfo {
  /** Position in the image, base layer = 0. */
  index: number;
  /** The entry holding the blob, e.g. `blobs/sha256/ab…` or `4f…/layer.tar`. */
  path: string;
  /** Digest of the blob as stored (the descriptor's, or the sha256 of the entry). */
  digest: string;
  /** The descriptor's media type, or null in a docker-archive manifest. */
  mediaType: string | null;
  /** Blob size in bytes. */
  size: number;
  /** Digest of the uncompressed tar, from the config's `rootfs.diff_ids`. */
  diffId: string;
  /** Compression of the blob, by magic bytes. */
  compression: Compression;
}

/** One image of the input: one manifest with its config and layers. */
export interface ImageInfo {
  /** Where it was found: `index.json` (OCI layout) or `manifest.json` (docker-archive). */
  source: "oci" | "docker";
  /** From the index descriptor or the config; null when neither says. */
  platform: Platform | null;
  /** The manifest's digest, null for a docker-archive image (it has no manifest blob). */
  manifestDigest: string | null;
  manifestMediaType: string | null;
  /** Raw bytes of the manifest, null for a docker-archive image. */
  manifestBytes: Uint8Array | null;
  /** Annotations of the index descriptor that led here. */
  annotations: Record<string, string>;
  /** `RepoTags` of the docker-archive manifest.json entry (also filled for OCI images when it names the same config). */
  repoTags: string[];
  /** `sha256:<hex>` of the config: Docker's image ID. */
  configDigest: string;
  configPath: string;
  configMediaType: string | null;
  /** Raw config bytes, exactly as stored. */
  configBytes: Uint8Array;
  /** The parsed config. */
  config: Record<string, unknown>;
  layers: LayerInfo[];
}

/** Options of `openImage`. */
export interface OpenImageOptions {
  /** `os/arch[/variant]` to choose among several images; see {@linkcode ImageInput.image}. */
  platform?: string;
  /** Parent directory of the spool directory (default: the system temporary directory). */
  tempDir?: string;
  /**
   * For a plain `.tar`: blobs named by their digest (`blobs/sha256/<hex>`) of 1 MiB or more are
   * not hashed when the archive is opened; their name stands for their digest and
   * {@linkcode ImageInput.unhashed} lists them, for a caller that hashes what it reads anyway
   * (push hashes what it sends, so hashing and sending overlap; the registry checks it too).
   * Documents read with `readBytes` are checked whatever their size.
   */
  deferBlobHashes?: boolean;
  /**
   * Only the documents and configs will be read (verify of two byte-identical archives): the
   * blobs of a compressed archive named by their digest, of 1 MiB or more, are inflated past but
   * neither hashed nor spooled, and listed in {@linkcode ImageInput.unhashed} (`checkBlobs`
   * hashes one, inflating the archive again).
   */
  documentsOnly?: boolean;
}

/** Blobs below this are hashed when opened even with `deferBlobHashes`: cheap, and documents. */
const DEFER_MIN = 1 << 20;

/**
 * Bytes of an entry that the reader does not hold, read when asked for (a registry's blob:
 * src/registry/remote_image.ts). Reading the whole entry checks it against its digest.
 */
export interface EntrySource {
  /** A stream of `length` bytes at `offset` of the entry. */
  read(offset: number, length: number): TarSource;
}

/** Where an entry's bytes are. */
type Stored =
  | { kind: "memory"; bytes: Uint8Array }
  | { kind: "file"; path: string; offset: number; size: number }
  | { kind: "source"; source: EntrySource }
  /** Read again from a compressed archive: inflated from its start, up to the entry's bytes. */
  | { kind: "inflate"; archive: ArchiveStamp; offset: number; size: number };

/** A compressed archive as first read: a later read checks that it is still the same file. */
interface ArchiveStamp {
  path: string;
  compression: Compression;
  size: number;
  mtime: number | null;
}

/**
 * An open image input. Close it (or `await using` it) to remove the spool directory.
 */
export class ImageInput implements AsyncDisposable {
  /** The path given to `openImage`, used in messages. */
  readonly path: string;
  /** `archive` for a tar file, `directory` for an OCI layout directory, `registry` for a reference. */
  readonly kind: "archive" | "directory" | "registry";
  /** Outer compression of an archive (`none` for a directory). */
  readonly compression: Compression;
  /** Every entry in input order (a directory's files sorted bytewise by path). */
  readonly entries: readonly OuterEntry[];
  /** Raw bytes of `index.json`, `manifest.json`, `oci-layout`; null when absent. */
  readonly indexJson: Uint8Array | null;
  readonly manifestJson: Uint8Array | null;
  readonly ociLayout: Uint8Array | null;
  /** Every image, from index.json when present, else from manifest.json. */
  readonly images: readonly ImageInfo[];
  /** The images manifest.json lists, even when index.json is present (empty if it is absent). */
  readonly dockerImages: readonly ImageInfo[];
  /** Entries whose `sha256` is the digest their name claims, not yet checked (`deferBlobHashes`). */
  readonly unhashed: ReadonlySet<string>;
  #unhashed: Set<string>;
  #stored: Map<string, Stored>;
  #refill: ((want: Map<string, OuterEntry>) => Promise<void>) | undefined;
  #byPath: Map<string, OuterEntry>;
  #spool: string | null;
  #onClose: (() => Promise<void>) | undefined;
  #platform: string | undefined;
  #verifiedDiffIds = new Set<string>();
  /** Entries seen in each distinct layer blob of an image, for {@linkcode ENTRIES_MAX}. */
  #entryCounts = new WeakMap<ImageInfo, Map<string, number>>();

  /** @internal Use `openImage`. */
  constructor(init: {
    path: string;
    kind: "archive" | "directory" | "registry";
    compression: Compression;
    entries: OuterEntry[];
    stored: Map<string, Stored>;
    spool: string | null;
    platform: string | undefined;
    /** Reads a compressed archive again for entries the first pass did not keep. */
    refill?: (want: Map<string, OuterEntry>) => Promise<void>;
    /** Called once by `close` (a registry input closes its client and spool). */
    onClose?: () => Promise<void>;
    /** Entries not hashed yet (`deferBlobHashes`). */
    unhashed?: Set<string>;
  }) {
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
    this.#platform = init.platform;
    this.#byPath = new Map(init.entries.map((e) => [e.path, e]));
    this.indexJson = null;
    this.manifestJson = null;
    this.ociLayout = null;
    this.images = [];
    this.dockerImages = [];
  }

  /** `Cannot read image "<path>": <detail>`, as an InputError. */
  error(detail: string, cause?: unknown): InputError {
    return new InputError(`Cannot read image "${this.path}": ${detail}`, { cause });
  }

  /**
   * The image to use: the one matching `platform` (else the `platform` given to `openImage`),
   * or the only one.
   * @throws {InputError} when none matches, or several do and no platform was given.
   */
  image(platform: string | undefined = this.#platform): ImageInfo {
    const all = this.images;
    if (platform !== undefined) {
      let want: Platform;
      try {
        want = parsePlatform(platform);
      } catch (e) {
        throw new InputError((e as Error).message);
      }
      const found = all.filter((i) => i.platform && platformMatches(i.platform, want));
      if (found.length === 0) {
        throw this.error(
          `no image for platform "${platform}" (it has ${describePlatforms(all)})`,
        );
      }
      return found[0];
    }
    if (all.length === 1) return all[0];
    const platforms = new Set(all.map((i) => (i.platform ? formatPlatform(i.platform) : "?")));
    if (platforms.size === all.length) {
      throw this.error(
        `it holds images for ${describePlatforms(all)}: choose one with --platform`,
      );
    }
    throw this.error(`it holds ${all.length} images: choose one with --platform`);
  }

  /** The outer entry at a normalized path (symlinks inside the archive followed), or undefined. */
  entry(path: string): OuterEntry | undefined {
    return this.#resolve(normalize(path));
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
    await this._need([entry.path]);
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
  async _need(paths: Iterable<string>): Promise<void> {
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

  /**
   * The entries of one layer, in order, with their content streams (decompressed).
   * Reading the layer to the end checks its diff_id.
   * @throws {InputError} for a layer that is not a valid tar or does not match its diff_id.
   */
  async *layerEntries(image: ImageInfo, index: number): AsyncGenerator<TarReaderEntry> {
    const layer = image.layers[index];
    if (!layer) throw new RangeError(`Image has no layer ${index}`);
    const what = `layer "${layer.path}"`;
    await this._need([layer.path]);
    const raw = this.readEntry(layer.path);
    let source: TarSource = raw;
    /** The inflated bytes' sha256 hex, once read to the end; null when not checked. */
    let digest: (() => string) | null = null;
    // What a compressed layer inflates to, by its headers, within the outer archive's rule.
    const inflateMax = layer.compression === "none"
      ? Infinity
      : Math.max(INFLATE_FLOOR, INFLATE_RATIO * layer.size);
    if (layer.compression !== "none") {
      const tooLarge = () => {
        const limit = `${formatBytes(inflateMax)}: ${INFLATE_RATIO} times its size, at least ` +
          formatBytes(INFLATE_FLOOR);
        return this.error(`${what} inflates to more than its limit (${limit})`);
      };
      source = decompress(raw, layer.compression, { max: inflateMax, tooLarge });
      if (!this.#verifiedDiffIds.has(layer.path + " " + layer.diffId)) {
        const hash = createHash("sha256");
        source = hashing(source, hash);
        digest = () => hash.digest("hex");
      }
    }
    let counts = this.#entryCounts.get(image);
    if (!counts) this.#entryCounts.set(image, counts = new Map());
    let others = 0;
    for (const [p, c] of counts) if (p !== layer.path) others += c;
    let n = 0;
    let inflated = 0;
    // The tar reader stops at the end-of-archive blocks and closes its source: what follows them
    // (record padding) is read here, past it, so that the inflated bytes are hashed to their end.
    const inflating = layer.compression === "none" ? null : source[Symbol.asyncIterator]();
    if (inflating) source = { [Symbol.asyncIterator]: () => ({ next: () => inflating.next() }) };
    try {
      for await (const entry of readTar(source, { label: layer.path })) {
        if (++n + others > ENTRIES_MAX) {
          throw this.error(
            `${what} takes the image above ${ENTRIES_MAX} entries (r10e's limit), at entry "${entry.header.name}"`,
          );
        }
        inflated += entry.header.size;
        if (inflated > inflateMax) {
          throw this.error(
            `${what}: ${inflationRefused(entry.header, inflated, layer.size, "layer")}`,
          );
        }
        if (n > (counts.get(layer.path) ?? 0)) counts.set(layer.path, n);
        yield entry;
      }
      if (inflating) {
        // Read what follows the end-of-archive blocks too: it is part of the diff_id (and of a
        // fetched blob's digest, checked when its last byte comes).
        while (!(await inflating.next()).done) { /* drain */ }
      } else if (this.#stored.get(layer.path)?.kind === "source") {
        for await (const _ of source) { /* drain */ }
      }
      if (digest) {
        const got = "sha256:" + digest();
        if (got !== layer.diffId) throw this.error(diffIdMismatch(layer, got));
        this.#verifiedDiffIds.add(layer.path + " " + layer.diffId);
      }
    } catch (e) {
      if (e instanceof InputError) throw e;
      if (this.#stored.get(layer.path)?.kind === "source") {
        // A fetched blob that breaks the tar or the decompressor: read on to its end, where its
        // digest says whether the registry sent other bytes (then that is the message).
        for await (const _ of raw) { /* drain */ }
      }
      if (e instanceof UnsupportedEntryError) throw this.error(`${what}: ${e.detail}`);
      if (e instanceof SyntaxError) throw this.error(`${what} is not a valid tar`, e);
      throw this.error(`${what} cannot be decompressed (${layer.compression})`, e);
    } finally {
      // A reader that stops early: the inflater ends here.
      await inflating?.return?.();
    }
  }

  /**
   * The content bytes of a layer's entry by offset, when the layer is stored uncompressed
   * (read in place, nothing else of the layer is read); null for a compressed layer, whose
   * entries must be read through `layerEntries`.
   */
  layerRange(
    image: ImageInfo,
    index: number,
    dataOffset: number,
    size: number,
    options: { reuse?: boolean } = {},
  ): TarSource | null {
    if (!this.readsInPlace(image, index)) return null;
    return this.readEntry(image.layers[index].path, dataOffset, size, options);
  }

  /**
   * Whether {@linkcode layerRange} reads this layer's entries by offset: an uncompressed blob
   * held as such (not one read by inflating its compressed archive again, where each range would
   * inflate the archive up to it).
   */
  readsInPlace(image: ImageInfo, index: number): boolean {
    const layer = image.layers[index];
    if (!layer || layer.compression !== "none") return false;
    return this.#stored.get(this.entry(layer.path)?.path ?? "")?.kind !== "inflate";
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

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
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

  /** @internal Filled by `openImage` after the entries are known. */
  _set(fields: {
    indexJson: Uint8Array | null;
    manifestJson: Uint8Array | null;
    ociLayout: Uint8Array | null;
    images: ImageInfo[];
    dockerImages: ImageInfo[];
  }): void {
    Object.assign(this, fields);
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

  /** @internal Marks an uncompressed layer whose entry hash equals its diff_id. */
  _verified(layer: LayerInfo): void {
    this.#verifiedDiffIds.add(layer.path + " " + layer.diffId);
  }
}

function describePlatforms(images: readonly ImageInfo[]): string {
  return images.map((i) => (i.platform ? formatPlatform(i.platform) : "unknown platform"))
    .join(", ");
}

/**
 * Opens an image input: reads it once, verifies blob digests, parses its documents.
 * @throws {InputError} for anything unreadable, naming the input and the entry.
 */
export async function openImage(path: string, options: OpenImageOptions = {}): Promise<ImageInput> {
  const fail = (detail: string, cause?: unknown) =>
    new InputError(`Cannot read image "${path}": ${detail}`, { cause });
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw fail("file not found");
    throw fail("cannot open it", e);
  }
  let input: ImageInput;
  if (info.isDirectory) {
    // Checked before anything is hashed (issue 10: `verify /usr/share IMG` hashed 44k files).
    const has = async (name: string) =>
      (await Deno.stat(`${path}/${name}`).catch(() => null))?.isFile === true;
    if (!(await has("index.json")) && !(await has("manifest.json"))) {
      throw fail(
        "it is a directory without index.json or manifest.json (not an OCI image layout)",
      );
    }
    input = await openDirectory(path, options);
  } else if (info.isFile) {
    input = await openArchive(path, options, fail);
  } else {
    // Reading a FIFO blocks until a writer comes, possibly forever; a device never ends.
    throw fail(`it is ${specialKind(info)}, not a regular file or a directory`);
  }
  return await withDocuments(input);
}

/** `input` with its documents parsed; closed when they cannot be. */
async function withDocuments(input: ImageInput): Promise<ImageInput> {
  try {
    await parseDocuments(input);
    return input;
  } catch (e) {
    await input.close();
    throw e;
  }
}

/** One entry of an image whose bytes the caller knows where to find (see `openListedImage`). */
export interface ListedEntry {
  /** `index.json`, `oci-layout`, `blobs/sha256/<hex>`. */
  path: string;
  size: number;
  /** sha256 hex of the content: computed, or the digest the blob is named by (checked when read). */
  sha256: string;
  /** The bytes, when at hand (documents); else `source` gives them. */
  bytes?: Uint8Array;
  source?: EntrySource;
}

/**
 * Opens an image from a listing of its entries (a registry's blobs: src/registry/remote_image.ts),
 * parsing and checking its documents as `openImage` does. Nothing is read that the documents do
 * not need; the rest is read when asked for.
 * @throws {InputError} as `openImage` does.
 */
export async function openListedImage(
  path: string,
  entries: ListedEntry[],
  options: OpenImageOptions & { onClose?: () => Promise<void> } = {},
): Promise<ImageInput> {
  const stored = new Map<string, Stored>();
  const outer: OuterEntry[] = [];
  for (const e of entries) {
    outer.push({
      name: e.path,
      path: e.path,
      header: null,
      kind: "file",
      size: e.size,
      sha256: e.sha256,
    });
    if (e.bytes) stored.set(e.path, { kind: "memory", bytes: e.bytes });
    else if (e.source) stored.set(e.path, { kind: "source", source: e.source });
  }
  const input = new ImageInput({
    path,
    kind: "registry",
    compression: "none",
    entries: outer,
    stored,
    spool: null,
    platform: options.platform,
    onClose: options.onClose,
  });
  return await withDocuments(input);
}

function specialKind(info: Deno.FileInfo): string {
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "a special file";
}

async function openDirectory(path: string, options: OpenImageOptions): Promise<ImageInput> {
  const entries: OuterEntry[] = [];
  const stored = new Map<string, Stored>();
  // Pre-order, children sorted bytewise, with a stack of pending entries: no recursion on depth.
  const pending: [string, Deno.DirEntry][] = [];
  const list = async (rel: string) => {
    const names: Deno.DirEntry[] = [];
    for await (const d of Deno.readDir(rel ? `${path}/${rel}` : path)) names.push(d);
    names.sort((a, b) => compareCodePoints(b.name, a.name));
    for (const d of names) pending.push([rel, d]);
  };
  await list("");
  while (pending.length) {
    const [rel, d] = pending.pop()!;
    {
      const p = rel ? `${rel}/${d.name}` : d.name;
      const full = `${path}/${p}`;
      if (entries.length >= ENTRIES_MAX) {
        throw new InputError(
          `Cannot read image "${path}": it holds more than ${ENTRIES_MAX} files (r10e's limit)`,
        );
      }
      if (d.isDirectory) {
        entries.push({ name: p, path: p, header: null, kind: "dir", size: 0, sha256: null });
        await list(p);
      } else if (d.isFile) {
        const size = (await Deno.stat(full)).size;
        const hash = createHash("sha256");
        for await (const chunk of new FileRange(full, 0, size, { reuse: true })) hash.update(chunk);
        entries.push({
          name: p,
          path: p,
          header: null,
          kind: "file",
          size,
          sha256: hash.digest("hex"),
        });
        stored.set(p, { kind: "file", path: full, offset: 0, size });
      } else {
        // Symlinks and other files in a layout directory are listed but never followed.
        entries.push({ name: p, path: p, header: null, kind: "other", size: 0, sha256: null });
      }
    }
  }
  return new ImageInput({
    path,
    kind: "directory",
    compression: "none",
    entries,
    stored,
    spool: null,
    platform: options.platform,
  });
}

/** Names of the documents every reader needs: always kept in memory (up to JSON_MAX). */
const DOCUMENTS = new Set(["index.json", "manifest.json", "oci-layout"]);

/**
 * Whether an outer entry may be part of an image: a document, a blob, or named like the parts
 * of a docker-archive (`<hex>.json`, `<id>/layer.tar`, `<hex>.tar`, crane's `sha256:<hex>`).
 * Others are only hashed by the first pass (issue 10: thousands of junk entries beside the
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
class Spool {
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

async function openArchive(
  path: string,
  options: OpenImageOptions,
  fail: (detail: string, cause?: unknown) => InputError,
): Promise<ImageInput> {
  const st = await Deno.stat(path);
  const size = st.size;
  const head = await readHead(path, 4);
  const compression = detectCompression(head);
  const entries: OuterEntry[] = [];
  let stored = new Map<string, Stored>();
  let spool: string | null = null;
  let sink: Spool | null = null;
  const unhashed = new Set<string>();
  if (compression !== "none") {
    spool = await Deno.makeTempDir({ dir: options.tempDir, prefix: "r10e-image-" });
    const stamp = { path, compression, size, mtime: st.mtime?.getTime() ?? null };
    sink = new Spool(stamp, spool, size);
    stored = sink.stored;
  }
  // What the archive inflates to, by its headers: bounded, so is the time to read it.
  const inflateMax = Math.max(INFLATE_FLOOR, INFLATE_RATIO * size);
  let inflated = 0;
  try {
    // A plain tar's content is sought over here: one small buffer serves every header read.
    // A decompressor may hold chunks while it works, so it gets fresh ones.
    const raw = new FileRange(path, 0, size, { reuse: compression === "none" });
    const source = compression === "none" ? raw : decompress(raw, compression);
    const ranges: [number, number][] = [];
    const hashed: OuterEntry[] = [];
    for await (const e of readTar(source)) {
      const h = e.header;
      const p = normalize(h.name);
      let sha256: string | null = null;
      if (entries.length >= ENTRIES_MAX) {
        throw fail(`it holds more than ${ENTRIES_MAX} entries (r10e's limit)`);
      }
      if (h.kind === "file" && !sink) {
        // Read in place: only headers now (content is sought over), hashes below, in parallel.
        stored.set(p, { kind: "file", path, offset: h.dataOffset, size: h.size });
        const entry: OuterEntry = {
          name: h.name,
          path: p,
          header: h,
          kind: h.kind,
          size: h.size,
          sha256,
        };
        entries.push(entry);
        const named = options.deferBlobHashes && h.size >= DEFER_MIN
          ? /^blobs\/sha256\/([0-9a-f]{64})$/.exec(p)
          : null;
        unhashed.delete(p); // a later entry of the same name wins
        if (named) {
          entry.sha256 = named[1];
          unhashed.add(p);
          continue;
        }
        hashed.push(entry);
        ranges.push([h.dataOffset, h.size]);
        continue;
      }
      if (sink) {
        inflated += h.size;
        if (inflated > inflateMax) {
          // The header says how much would be inflated: decide before inflating any of it.
          throw fail(inflationRefused(h, inflated, size, "archive"));
        }
        // A later entry of the same name wins (tar semantics): what the earlier one holds goes.
        await sink.drop(p);
        unhashed.delete(p);
        const named = options.documentsOnly && h.kind === "file" && h.size >= DEFER_MIN
          ? /^blobs\/sha256\/([0-9a-f]{64})$/.exec(p)
          : null;
        if (named) {
          // Passed over (inflated to reach the next header, neither hashed nor kept): its name
          // stands for its digest until it is read (`checkBlobs`), by inflating the archive again.
          const entry = { name: h.name, path: p, header: h, kind: h.kind, size: h.size };
          entries.push({ ...entry, sha256: named[1] });
          sink.stream(entries[entries.length - 1]);
          unhashed.add(p);
          continue;
        }
        if (h.kind === "file") sha256 = await sink.take(p, h, e.body, DOCUMENTS.has(p));
      }
      entries.push({ name: h.name, path: p, header: h, kind: h.kind, size: h.size, sha256 });
    }
    if (ranges.length) {
      const hexes = await hashRanges(path, ranges);
      hashed.forEach((entry, i) => (entry.sha256 = hexes[i]));
    }
  } catch (e) {
    if (spool) await Deno.remove(spool, { recursive: true }).catch(() => {});
    if (e instanceof UnsupportedEntryError) throw fail(e.detail);
    if (e instanceof SyntaxError) throw fail("not a valid tar archive", e);
    if (e instanceof InputError) throw e;
    throw fail(
      compression === "none" ? "cannot read it" : `cannot decompress it (${compression})`,
      e,
    );
  }
  return new ImageInput({
    path,
    kind: "archive",
    compression,
    entries,
    stored,
    spool,
    platform: options.platform,
    refill: sink ? (want) => refill(path, compression, sink, want, fail) : undefined,
    unhashed,
  });
}

/**
 * What a document names that the first pass over a compressed archive did not keep: large
 * entries (layers) are read from now on by inflating the archive again up to them, nothing
 * spooled; small ones (documents) are fetched into memory by one more pass, checked to hash as
 * before, which stops after the last one.
 */
async function refill(
  path: string,
  compression: Compression,
  sink: Spool,
  want: Map<string, OuterEntry>,
  fail: (detail: string, cause?: unknown) => InputError,
): Promise<void> {
  for (const [p, entry] of want) {
    if (entry.size > JSON_MAX || (entry.size > MEMORY_MAX && !DOCUMENTS.has(p))) {
      sink.stream(entry);
      want.delete(p);
    }
  }
  if (want.size === 0) return;
  const size = (await Deno.stat(path)).size;
  const source = decompress(new FileRange(path, 0, size), compression);
  let left = want.size;
  try {
    for await (const e of readTar(source)) {
      const p = normalize(e.header.name);
      const entry = want.get(p);
      if (!entry || entry.header?.offset !== e.header.offset) continue;
      const sha = await sink.take(p, e.header, e.body, true);
      if (sha !== entry.sha256) throw fail(`entry "${entry.name}" changed while it was read`);
      // Not kept (memory full): read again by inflating.
      if (!sink.stored.has(p)) sink.stream(entry);
      if (--left === 0) break;
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw fail(`cannot decompress it again (${compression})`, e);
  }
  if (left) throw fail("it changed while it was read");
}

/** Parses index.json / manifest.json and the configs, checking digests and sizes. */
async function parseDocuments(input: ImageInput): Promise<void> {
  // Every blob named by its digest must match it (DESIGN: reading images).
  for (const e of input.entries) {
    const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(e.path);
    if (m && e.kind === "file" && e.sha256 !== m[1]) {
      throw input.error(`blob "${e.path}" does not match its digest`);
    }
  }
  const has = (p: string) => input.entry(p) !== undefined;
  const indexJson = has("index.json") ? await input.readBytes("index.json") : null;
  const manifestJson = has("manifest.json") ? await input.readBytes("manifest.json") : null;
  const ociLayout = has("oci-layout") ? await input.readBytes("oci-layout") : null;
  if (!indexJson && !manifestJson) {
    throw input.error(ociLayout ? "index.json is missing" : "manifest.json is missing");
  }
  const dockerImages = manifestJson ? await dockerManifestImages(input, manifestJson) : [];
  let images = dockerImages;
  if (indexJson) {
    images = [];
    await ociImages(input, parseJson(input, indexJson, "index.json"), "index.json", images, {}, 0);
    for (const image of images) {
      image.repoTags = dockerImages.find((d) => d.configDigest === image.configDigest)?.repoTags ??
        [];
    }
    if (images.length === 0) throw input.error("index.json lists no image manifest");
  }
  if (images.length === 0) throw input.error("manifest.json lists no image");
  input._set({ indexJson, manifestJson, ociLayout, images, dockerImages });
}

async function dockerManifestImages(input: ImageInput, bytes: Uint8Array): Promise<ImageInfo[]> {
  const doc = parseJson(input, bytes, "manifest.json");
  if (!Array.isArray(doc)) throw input.error("manifest.json is not a JSON array");
  const images: ImageInfo[] = [];
  for (const [i, item] of doc.entries()) {
    const where = `manifest.json[${i}]`;
    if (!isObject(item) || typeof item.Config !== "string" || !Array.isArray(item.Layers)) {
      throw input.error(`${where} has no "Config" string and "Layers" array`);
    }
    const configPath = normalize(item.Config);
    await input._need([configPath, ...(item.Layers as unknown[]).filter(isString)]);
    const configEntry = input.entry(configPath);
    if (!configEntry) throw input.error(`config "${item.Config}" is missing`);
    const configBytes = await input.readBytes(configPath, `config "${item.Config}"`);
    const configDigest = "sha256:" + configEntry.sha256;
    // docker save names the config after its digest: `<hex>.json`.
    const named = /(?:^|\/)([0-9a-f]{64})\.json$/.exec(configPath);
    if (named && named[1] !== configEntry.sha256) {
      throw input.error(`config "${item.Config}" does not match its digest`);
    }
    const layers = (item.Layers as unknown[]).map((l, j) => {
      if (typeof l !== "string") throw input.error(`${where}.Layers[${j}] is not a string`);
      return { path: normalize(l), digest: null, mediaType: null, size: null };
    });
    images.push(
      await buildImage(input, {
        source: "docker",
        platform: null,
        manifestDigest: null,
        manifestMediaType: null,
        manifestBytes: null,
        annotations: {},
        repoTags: Array.isArray(item.RepoTags) ? item.RepoTags.filter(isString) : [],
        configPath,
        configDigest,
        configMediaType: null,
        configBytes,
      }, layers),
    );
  }
  return images;
}

async function ociImages(
  input: ImageInput,
  doc: unknown,
  where: string,
  out: ImageInfo[],
  inherited: { platform?: Platform; annotations?: Record<string, string> },
  depth: number,
): Promise<void> {
  if (depth > 8) throw input.error(`${where} nests indexes too deeply`);
  if (!isObject(doc) || !Array.isArray(doc.manifests)) {
    throw input.error(`${where} has no "manifests" array`);
  }
  // One more pass at most for all the manifests listed here (when the first did not keep them).
  await input._need(
    (doc.manifests as unknown[]).map((d) =>
      isObject(d) && typeof d.digest === "string" ? `blobs/${d.digest.replace(":", "/")}` : ""
    ),
  );
  for (const [i, d] of (doc.manifests as unknown[]).entries()) {
    const at = `${where}: manifests[${i}]`;
    const desc = descriptor(input, d, at);
    const annotations = { ...inherited.annotations, ...desc.annotations };
    // BuildKit attaches provenance as extra manifests: they are not images to run.
    if (annotations["vnd.docker.reference.type"] === "attestation-manifest") continue;
    const platform = desc.platform ?? inherited.platform;
    const blobPath = blob(input, desc, at);
    const bytes = await input.readBytes(blobPath, `manifest "${blobPath}"`);
    const parsed = parseJson(input, bytes, blobPath);
    const mediaType = desc.mediaType ||
      (isObject(parsed) && typeof parsed.mediaType === "string" ? parsed.mediaType : "");
    if (MEDIA_INDEX.has(mediaType) || (isObject(parsed) && Array.isArray(parsed.manifests))) {
      await ociImages(input, parsed, blobPath, out, { platform, annotations }, depth + 1);
      continue;
    }
    if (!MEDIA_MANIFEST.has(mediaType) && !(isObject(parsed) && isObject(parsed.config))) {
      continue; // not an image manifest (an artifact): nothing to read
    }
    // An OCI 1.1 artifact (r10e's attached SBOM and provenance): a document about an image.
    if (isAttachment(d, parsed)) continue;
    if (!isObject(parsed) || !isObject(parsed.config) || !Array.isArray(parsed.layers)) {
      throw input.error(`manifest "${blobPath}" has no "config" and "layers"`);
    }
    const config = descriptor(input, parsed.config, `${blobPath}: config`, "config");
    const configPath = blob(input, config, `${blobPath}: config`, "config");
    await input._need([
      configPath,
      ...(parsed.layers as unknown[]).map((l) =>
        isObject(l) && typeof l.digest === "string" ? `blobs/${l.digest.replace(":", "/")}` : ""
      ),
    ]);
    const layers = [];
    for (const [j, l] of (parsed.layers as unknown[]).entries()) {
      const ld = descriptor(input, l, `${blobPath}: layers[${j}]`, "layer");
      layers.push({
        path: blob(input, ld, `${blobPath}: layers[${j}]`, "layer"),
        digest: ld.digest,
        mediaType: ld.mediaType,
        size: ld.size,
      });
    }
    out.push(
      await buildImage(input, {
        source: "oci",
        platform: platform ?? null,
        manifestDigest: desc.digest,
        manifestMediaType: mediaType,
        manifestBytes: bytes,
        annotations,
        repoTags: [],
        configPath,
        configDigest: config.digest,
        configMediaType: config.mediaType,
        configBytes: await input.readBytes(configPath, `config "${configPath}"`),
      }, layers),
    );
  }
}

/** Config media types of images: an `artifactType` of one of these names an image (crane writes it). */
const IMAGE_CONFIG_TYPES = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);

/**
 * Whether an index entry is an OCI 1.1 artifact rather than an image: an `artifactType` (in its
 * descriptor or manifest) that is not an image config's media type, a `subject`, or the empty
 * config (image-spec 1.1). crane's layouts give images `artifactType` = the config's media type,
 * as image-spec 1.1 says a descriptor may.
 */
export function isAttachment(descriptor: unknown, manifest: unknown): boolean {
  const artifact = (x: unknown) =>
    isObject(x) && typeof x.artifactType === "string" && !IMAGE_CONFIG_TYPES.has(x.artifactType);
  if (artifact(descriptor)) return true;
  if (!isObject(manifest)) return false;
  if (artifact(manifest) || isObject(manifest.subject)) return true;
  return isObject(manifest.config) &&
    manifest.config.mediaType === "application/vnd.oci.empty.v1+json";
}

/** The path of a descriptor's blob, checking that it exists with the descriptor's size and digest. */
function blob(
  input: ImageInput,
  d: Descriptor,
  where: string,
  what = "blob",
): string {
  const hex = d.digest.slice("sha256:".length);
  const path = `blobs/sha256/${hex}`;
  const entry = input.entry(path);
  if (!entry || entry.kind !== "file") throw input.error(`${what} "${path}" is missing`);
  if (entry.size !== d.size) {
    throw input.error(
      `${what} "${path}" has ${entry.size} bytes, its descriptor in ${where} says ${d.size}`,
    );
  }
  if (entry.sha256 !== hex) throw input.error(`blob "${path}" does not match its digest`);
  return path;
}

/** The descriptor `d` at `where` (of a `what`: blob, config, layer), as an InputError when it is none. */
function descriptor(input: ImageInput, d: unknown, where: string, what = "blob"): Descriptor {
  try {
    return readDescriptor(d, where);
  } catch (e) {
    if (!(e instanceof DescriptorError)) throw e;
    if (e.algorithm !== null) {
      throw input.error(
        `${what} "blobs/${e.digest!.replace(":", "/")}" of ${where} has a ${e.algorithm} digest: ` +
          "r10e checks sha256 digests only",
      );
    }
    throw input.error(e.message, e);
  }
}

async function buildImage(
  input: ImageInput,
  base: Omit<ImageInfo, "layers" | "config">,
  layers: { path: string; digest: string | null; mediaType: string | null; size: number | null }[],
): Promise<ImageInfo> {
  const config = parseJson(input, base.configBytes, `config "${base.configPath}"`);
  if (!isObject(config)) throw input.error(`config "${base.configPath}" is not a JSON object`);
  const rootfs = config.rootfs;
  const diffIds = isObject(rootfs) && Array.isArray(rootfs.diff_ids)
    ? rootfs.diff_ids.filter(isString)
    : null;
  if (!diffIds) throw input.error(`config "${base.configPath}" has no rootfs.diff_ids`);
  if (diffIds.length !== layers.length) {
    throw input.error(
      `config "${base.configPath}" lists ${plural(diffIds.length, "diff_id")} for ${
        plural(layers.length, "layer")
      }`,
    );
  }
  if (layers.length > LAYERS_MAX) {
    throw input.error(
      `config "${base.configPath}" has ${layers.length} layers, more than ${LAYERS_MAX} (r10e's limit)`,
    );
  }
  const platform = base.platform ?? readPlatform(config);
  const infos: LayerInfo[] = [];
  await input._need(layers.map((l) => l.path));
  for (const [i, l] of layers.entries()) {
    const entry = input.entry(l.path);
    if (!entry || entry.kind !== "file") throw input.error(`layer "${l.path}" is missing`);
    const head = new Uint8Array(4);
    let got = 0;
    for await (const chunk of input.readEntry(entry.path, 0, Math.min(4, entry.size))) {
      head.set(chunk, got);
      got += chunk.length;
    }
    const layer: LayerInfo = {
      index: i,
      path: entry.path,
      digest: l.digest ?? "sha256:" + entry.sha256,
      mediaType: l.mediaType,
      size: entry.size,
      diffId: diffIds[i],
      compression: detectCompression(head.subarray(0, got)),
    };
    if (layer.compression === "none") {
      // An uncompressed blob is its own diff_id: checked now, for free.
      if ("sha256:" + entry.sha256 !== layer.diffId) {
        throw input.error(diffIdMismatch(layer, "sha256:" + entry.sha256));
      }
      input._verified(layer);
    }
    infos.push(layer);
  }
  return { ...base, platform, config, layers: infos };
}

/**
 * A layer whose content is not what its config claims: a lying image. Both digests are named,
 * so that the reader sees which layer was changed after the config was written.
 */
function diffIdMismatch(layer: LayerInfo, real: string): string {
  return `layer ${layer.index} "${layer.path}" does not match its diff_id: the config claims ` +
    `"${layer.diffId}", its content is "${real}"`;
}

function parseJson(input: ImageInput, bytes: Uint8Array, what: string): unknown {
  const depth = jsonDepth(bytes);
  if (depth > JSON_DEPTH_MAX) {
    throw input.error(
      `${what} nests more than ${JSON_DEPTH_MAX} levels deep (r10e's limit for JSON documents)`,
    );
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw input.error(`${what} is not valid JSON: ${(e as Error).message}`, e);
  }
}

/** The deepest nesting of arrays and objects in JSON text (strings skipped), without parsing it. */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}

/** `./a//b/` → `a/b`; used for names inside the input only (never for writing). */
function normalize(name: string): string {
  return name.split("/").filter((p) => p !== "" && p !== ".").join("/");
}

/** Normalizes and applies `..` (stopping at the top): for symlinks inside the input. */
function collapse(name: string): string {
  const out: string[] = [];
  for (const p of normalize(name).split("/")) {
    if (p === "..") out.pop();
    else if (p) out.push(p);
  }
  return out.join("/");
}

/** Why an entry of a compressed archive or layer is refused before it is inflated. */
function inflationRefused(
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

/** `1.5 GiB`, `300 MiB`, `12 KiB`, `100 bytes`. */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

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

async function readHead(path: string, n: number): Promise<Uint8Array> {
  using file = await Deno.open(path);
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await file.read(buf.subarray(got));
    if (r === null) break;
    got += r;
  }
  return buf.subarray(0, got);
}

/**
 * A byte range of a file, read in 1 MiB blocks into fresh buffers (so that consumers may keep
 * the chunks). `skip` moves the position without reading: the tar reader uses it to step over
 * content it does not need.
 */
export class FileRange implements TarSource {
  #path: string;
  #pos: number;
  #end: number;
  #reuse: Uint8Array | null;
  /** Size of the next read: small after a skip (the tar reader wants one header), growing back to READ_SIZE. */
  #next = READ_SIZE;

  /**
   * The range [offset, offset+length) of the file at `path`. With `reuse`, one buffer is read
   * into again and again: each chunk is valid only until the next one is asked for.
   */
  constructor(path: string, offset: number, length: number, options: { reuse?: boolean } = {}) {
    this.#path = path;
    this.#pos = offset;
    this.#end = offset + length;
    this.#reuse = options.reuse ? new Uint8Array(Math.min(READ_SIZE, Math.max(length, 1))) : null;
  }

  /** Skips up to `n` bytes, without reading them; resolves to how many were skipped. */
  skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.#end - this.#pos));
    this.#pos += k;
    this.#next = SMALL_READ;
    return Promise.resolve(k);
  }

  /** Streams the range. @throws {Error} when the file is shorter than the range. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#pos >= this.#end) return;
    using file = await Deno.open(this.#path);
    let at = -1;
    while (this.#pos < this.#end) {
      if (at !== this.#pos) {
        await file.seek(this.#pos, Deno.SeekMode.Start);
        at = this.#pos;
      }
      const want = Math.min(this.#next, this.#end - this.#pos);
      this.#next = Math.min(READ_SIZE, this.#next * 4);
      const buf = this.#reuse ? this.#reuse.subarray(0, want) : new Uint8Array(want);
      let got = 0;
      while (got < buf.length) {
        const r = await file.read(buf.subarray(got));
        if (r === null) break;
        got += r;
      }
      if (got === 0) throw new Error(`File "${this.#path}" ended before offset ${this.#end}`);
      this.#pos += got;
      at += got;
      yield got === buf.length ? buf : buf.subarray(0, got);
    }
  }
}

/**
 * A byte range of a compressed archive's inflated tar, read by inflating the archive again from
 * its start (gzip and zstd streams cannot be entered in the middle): nothing is written to disk,
 * and memory stays flat; `skip` drops inflated bytes instead of yielding them. Each read checks
 * that the archive is still the file first read (size and mtime).
 */
class InflatedRange implements TarSource {
  #archive: ArchiveStamp;
  #pos: number;
  #end: number;
  #error: (detail: string, cause?: unknown) => InputError;

  constructor(
    archive: ArchiveStamp,
    offset: number,
    length: number,
    error: (detail: string, cause?: unknown) => InputError,
  ) {
    this.#archive = archive;
    this.#pos = offset;
    this.#end = offset + length;
    this.#error = error;
  }

  skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.#end - this.#pos));
    this.#pos += k;
    return Promise.resolve(k);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#pos >= this.#end) return;
    const a = this.#archive;
    const st = await Deno.stat(a.path).catch(() => null);
    if (!st || st.size !== a.size || (st.mtime?.getTime() ?? null) !== a.mtime) {
      throw this.#error("it changed while it was read");
    }
    let at = 0;
    for await (const chunk of decompress(new FileRange(a.path, 0, a.size), a.compression)) {
      const chunkEnd = at + chunk.length;
      while (this.#pos < this.#end && this.#pos < chunkEnd) {
        const piece = chunk.subarray(this.#pos - at, Math.min(chunk.length, this.#end - at));
        this.#pos += piece.length;
        yield piece;
      }
      at = chunkEnd;
      if (this.#pos >= this.#end) return;
    }
    throw this.#error("it changed while it was read (it ended before the entry did)");
  }
}

function bytesSource(bytes: Uint8Array): TarSource {
  let pos = 0;
  return {
    async *[Symbol.asyncIterator]() {
      while (pos < bytes.length) {
        const chunk = bytes.subarray(pos, pos + READ_SIZE);
        pos += chunk.length;
        yield chunk;
      }
    },
    skip(n: number) {
      const k = Math.max(0, Math.min(n, bytes.length - pos));
      pos += k;
      return Promise.resolve(k);
    },
  };
}

async function* hashing(
  source: AsyncIterable<Uint8Array>,
  hash: ReturnType<typeof createHash>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/**
 * Decompresses a gzip (node:zlib: native, every member of a multi-member file; reading does
 * not need the pinned bytes that writing does) or zstd (fzstd, streaming) stream.
 */
export function decompress(
  source: AsyncIterable<Uint8Array>,
  compression: Compression,
  options: DecompressOptions = {},
): AsyncGenerator<Uint8Array> {
  const out = compression === "gzip"
    ? gunzip(source)
    : compression === "zstd"
    ? unzstd(source)
    : passThrough(source);
  return options.max === undefined ? out : capped(out, options.max, options.tooLarge);
}

/** Options of {@linkcode decompress}. */
export interface DecompressOptions {
  /** Inflating more than this many bytes throws `tooLarge()` (what no header announced). */
  max?: number;
  tooLarge?: () => Error;
}

async function* capped(
  source: AsyncGenerator<Uint8Array>,
  max: number,
  tooLarge = () => new RangeError(`it inflates to more than ${formatBytes(max)}`),
): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (n > max) throw tooLarge();
    yield chunk;
  }
}

async function* passThrough(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* source;
}

async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // node:zlib rather than DecompressionStream: a gzip file may hold several
  // members (RFC 1952; bgzip, concatenated files, r10e's own parallel gzip),
  // and Deno's DecompressionStream fails after the first one.
  const input = Readable.from(source, { objectMode: false });
  // Large output chunks: fewer trips through the tar reader, the hash and the spool.
  const inflater = createGunzip({ chunkSize: 256 << 10 });
  input.on("error", (error) => inflater.destroy(error));
  input.pipe(inflater);
  // Each output chunk is a fresh buffer: collect them early when allowed (--expose-gc, set by
  // scripts/r10e and the compiled binary), or they pile up as external memory until V8 gets to it.
  const gc = (globalThis as { gc?: (o?: { type: string }) => void }).gc;
  let sinceCollect = 0;
  try {
    for await (const chunk of inflater) {
      // A plain view of the Buffer: subarray and indexOf on Node Buffers cost a JS polyfill
      // each in Deno (the tar reader calls them per header: issue 10, 150,000 entries).
      const c = chunk as Uint8Array;
      yield new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
      sinceCollect += (chunk as Uint8Array).length;
      if (gc && sinceCollect >= 4 << 20) {
        gc({ type: "minor" });
        sinceCollect = 0;
      }
    }
  } finally {
    input.destroy();
    inflater.destroy();
  }
}

async function* unzstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const d = new ZstdDecompress((chunk: Uint8Array) => {
    out.push(chunk);
  });
  // Fed piece by piece, each inflating to about 1 MiB: fzstd inflates all it is given at once.
  const pieces = new ZstdPieces();
  for await (const chunk of source) {
    for (const piece of pieces.cut(chunk)) {
      d.push(piece);
      while (out.length) yield out.shift()!;
    }
  }
  pieces.end();
  d.push(new Uint8Array(0), true);
  while (out.length) yield out.shift()!;
}
