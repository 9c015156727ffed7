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
 * The reader is made of one file per concern, re-exported here: ./open.ts (opening an input),
 * ./entries.ts (the outer entries and where their bytes are), ./archive_spool.ts (a compressed
 * archive's entries while it is read), ./byte_range.ts (ranges read in place or by inflating
 * again), ./compression.ts, ./documents.ts (parsing and checking the documents), ./input.ts
 * ({@linkcode ImageInput}), ./limits.ts (what r10e refuses to read).
 *
 * @module
 */
export {
  type Compression,
  decompress,
  type DecompressOptions,
  detectCompression,
} from "./compression.ts";
export { FileRange } from "./byte_range.ts";
export { type ImageInfo, isAttachment, jsonDepth, type LayerInfo } from "./documents.ts";
export type { EntrySource, OuterEntry } from "./entries.ts";
export { ImageInput } from "./input.ts";
export {
  ENTRIES_MAX,
  INFLATE_FLOOR,
  INFLATE_RATIO,
  JSON_DEPTH_MAX,
  JSON_MAX,
  LAYERS_MAX,
  MEMORY_TOTAL,
} from "./limits.ts";
export { type ListedEntry, openImage, type OpenImageOptions, openListedImage } from "./open.ts";
