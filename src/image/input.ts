/**
 * An open image input ({@linkcode ImageInput}): its entries (an {@linkcode EntryStore}) with
 * the documents parsed from them, the image picked by platform, and each layer's entries read
 * as a stream, checked against its diff_id.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { InputError } from "../errors.ts";
import {
  readTar,
  type TarReaderEntry,
  type TarSource,
  UnsupportedEntryError,
} from "../tar/reader.ts";
import { formatBytes } from "../byte_size.ts";
import { type Compression, decompress } from "./compression.ts";
import { diffIdMismatch, type Documents, type ImageInfo } from "./documents.ts";
import type { EntryStore, OuterEntry } from "./entries.ts";
import { ENTRIES_MAX, INFLATE_FLOOR, INFLATE_RATIO, inflationRefused } from "./limits.ts";
import { formatPlatform, parsePlatform, type Platform, platformMatches } from "./platform.ts";

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
  #store: EntryStore;
  #platform: string | undefined;
  /** `<path> <diff_id>` of the layers read to the end (or stored uncompressed) and checked. */
  #verifiedDiffIds = new Set<string>();
  /** Entries seen in each distinct layer blob of an image, for {@linkcode ENTRIES_MAX}. */
  #entryCounts = new WeakMap<ImageInfo, Map<string, number>>();

  /**
   * The input of these entries and documents; `platform` picks the image when none is given to
   * {@linkcode ImageInput.image}. Use `openImage`.
   */
  constructor(store: EntryStore, documents: Documents, platform: string | undefined) {
    this.#store = store;
    this.#platform = platform;
    this.path = store.path;
    this.kind = store.kind;
    this.compression = store.compression;
    this.entries = store.entries;
    this.unhashed = store.unhashed;
    this.indexJson = documents.indexJson;
    this.manifestJson = documents.manifestJson;
    this.ociLayout = documents.ociLayout;
    this.images = documents.images;
    this.dockerImages = documents.dockerImages;
    // An uncompressed blob is its own diff_id, checked when the documents were parsed.
    for (const image of [...documents.images, ...documents.dockerImages]) {
      for (const layer of image.layers) {
        if (layer.compression === "none") {
          this.#verifiedDiffIds.add(layer.path + " " + layer.diffId);
        }
      }
    }
  }

  /** `Cannot read image "<path>": <detail>`, as an InputError. */
  error(detail: string, cause?: unknown): InputError {
    return this.#store.error(detail, cause);
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
    return this.#store.entry(path);
  }

  /** The bytes of a small entry (a JSON document). @throws {InputError} when it is missing or too large. */
  readBytes(path: string, what?: string): Promise<Uint8Array> {
    return this.#store.readBytes(path, what);
  }

  /** Streams the bytes of an entry, as stored: see {@linkcode EntryStore.readEntry}. */
  readEntry(
    path: string,
    offset = 0,
    length?: number,
    options: { reuse?: boolean } = {},
  ): TarSource {
    return this.#store.readEntry(path, offset, length, options);
  }

  /** Checks blobs left unhashed (`deferBlobHashes`): see {@linkcode EntryStore.checkBlobs}. */
  checkBlobs(paths: Iterable<string>): Promise<void> {
    return this.#store.checkBlobs(paths);
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
    await this.#store.need([layer.path]);
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
      } else if (this.#store.storedKind(layer.path) === "source") {
        for await (const _ of source) { /* drain */ }
      }
      if (digest) {
        const got = "sha256:" + digest();
        if (got !== layer.diffId) throw this.error(diffIdMismatch(layer, got));
        this.#verifiedDiffIds.add(layer.path + " " + layer.diffId);
      }
    } catch (e) {
      if (e instanceof InputError) throw e;
      if (this.#store.storedKind(layer.path) === "source") {
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
    return this.#store.storedKind(layer.path) !== "inflate";
  }

  /** Removes the spool directory. Safe to call twice. */
  close(): Promise<void> {
    return this.#store.close();
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function describePlatforms(images: readonly ImageInfo[]): string {
  return images.map((i) => (i.platform ? formatPlatform(i.platform) : "unknown platform"))
    .join(", ");
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
