/**
 * The image writer: layers, image config, OCI manifest and index, docker-archive
 * manifest.json, all in one tar that is both a docker-archive and an OCI image
 * layout (DESIGN: image format). `index.json` lists the image and nothing else, so podman,
 * crane, skopeo, docker and containerd take the archive as it is; the SBOMs and provenance are
 * written beside it (src/sbom/build_documents.ts) and attached in a registry by `r10e push`.
 *
 * Pure: content comes from the entries' `content` functions and bytes go to a
 * sink; no clock, no environment, no disk.
 *
 * @module
 */
import { canonicalJsonBytes } from "./canonical_json.ts";
import { Sha256, sha256Hex } from "./digest.ts";
import { gzip, GZIP_LEVEL, GzipPool, STORED_LEVEL } from "./gzip.ts";
import type { Descriptor } from "./descriptor.ts";
import type { Platform } from "./platform.ts";
import { plural } from "../plural.ts";
import { compareNames, fileEntry, type TarEntry, writeTar } from "../tar/writer.ts";

// r10e's image format version lives in src/version.ts (bump it there, with the golden digests,
// whenever bytes change for the same inputs): `r10e version` prints it without loading this writer.
export { FORMAT_VERSION } from "../version.ts";

/**
 * The provenance labels r10e sets itself (format version 2): the creation time
 * always, the commit and the source when known. `config.json`'s `labels` cannot set them.
 */
export const PROVENANCE_LABELS = {
  created: "org.opencontainers.image.created",
  revision: "org.opencontainers.image.revision",
  source: "org.opencontainers.image.source",
} as const;

/** Media types of what r10e writes. */
export const MediaType = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/**
 * How layer blobs are stored (`layer_compression` in config.json): gzip by r10e's
 * pinned compressor (gzip_worker.ts, at {@linkcode GZIP_LEVEL}), or uncompressed.
 */
export type LayerCompression = "gzip" | "none";

/** The default layer compression (README: layer compression, with the figures behind it). */
export const DEFAULT_LAYER_COMPRESSION: LayerCompression = "gzip";

/**
 * Compressed layer bytes held in memory between the hash pass and the write pass,
 * at most (all layers together). A layer beyond it goes to the spool (or without
 * one is compressed again when it is written), and its digest checked. Small:
 * what is kept stays for the rest of the build and adds to its peak memory.
 */
export const KEEP_COMPRESSED_BYTES = 4 << 20;

/** Docker's health check in an image config (`Healthcheck`, which Docker reads and OCI leaves open). */
export interface Healthcheck {
  /** `["CMD-SHELL", command]` (run by the image's /bin/sh) or `["CMD", program, ...args]`. */
  Test: string[];
  /** Nanoseconds; absent means Docker's default (30 s, 30 s, 0 s, 5 s). */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  /** Consecutive failures before "unhealthy"; absent means Docker's default (3). */
  Retries?: number;
}

/** The runtime part of an image config (`config` in the OCI image config). */
export interface RuntimeConfig {
  Env: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  /** `{"8080/tcp": {}}`, as Docker writes it. */
  ExposedPorts?: Record<string, Record<string, never>>;
  StopSignal?: string;
  /** Docker's health check: `Test` and durations in nanoseconds. */
  Healthcheck?: Healthcheck;
}

/** One layer: the fixed `created_by` text of its history entry, and its sorted entries. */
export interface LayerSpec {
  createdBy: string;
  entries: TarEntry[];
  /**
   * A layer of a base image, stored byte for byte as its blob (then `entries` is empty and the
   * layer has no history entry of its own: the base's history comes with `baseHistory`).
   */
  blob?: BlobLayer;
}

/** A layer blob taken as it is (a base image's). */
export interface BlobLayer {
  mediaType: string;
  digest: string;
  size: number;
  /** Its uncompressed digest, from the base's config. */
  diffId: string;
  /** Its bytes; the writer checks them against `digest` as it writes them. */
  read: () => AsyncIterable<Uint8Array>;
}

/** One platform's image. */
export interface ImageSpec {
  platform: Platform;
  config: RuntimeConfig;
  /** Base layer first. Empty layers must be left out by the caller. */
  layers: LayerSpec[];
  /** The base image's history entries, before those of r10e's layers. */
  baseHistory?: Record<string, unknown>[];
  /** The manifest's annotations (the base image's name and digest), when there are any. */
  annotations?: Record<string, string>;
}

/** What goes into one archive. */
export interface ArchiveSpec {
  /** Repository, e.g. `go-r10e-docker` or `registry.example.com/team/app`. */
  repository: string;
  /** Tag, e.g. `latest`. */
  tag: string;
  /** Creation time, seconds since the epoch: `created`, history and every layer mtime. */
  created: number;
  /** One image per platform, in index order. */
  images: ImageSpec[];
  /**
   * Which image manifest.json (the docker-archive view) carries, by position in `images`
   * (default 0). With several images it carries that one only: `docker load` of an older
   * Docker loads every manifest.json entry, and an image for another architecture is of no use there.
   */
  dockerImage?: number;
  /** The commit the image was built from (`org.opencontainers.image.revision`), when known. */
  revision?: string;
  /** Where its source is (`org.opencontainers.image.source`), when configured. */
  source?: string;
  /** How layer blobs are stored; default {@linkcode DEFAULT_LAYER_COMPRESSION}. */
  layerCompression?: LayerCompression;
}

/** Digests of one written image. */
export interface ImageResult {
  platform: Platform;
  /** Config digest, which Docker shows as the image ID. */
  imageId: string;
  manifestDigest: string;
  /** The manifest's layer descriptors (compressed blobs for gzip layers). */
  layers: Descriptor[];
  /** The digests of the uncompressed layer tars (`rootfs.diff_ids`), by position. */
  diffIds: string[];
}

/** Digests of the written archive. */
export interface ArchiveResult {
  /** sha256 of the bytes given to the sink. */
  archiveSha256: string;
  archiveSize: number;
  images: ImageResult[];
  /**
   * With several images: the digest of the OCI image index blob listing their manifests
   * (the one index.json points at, and the digest to deploy). Absent for one image.
   */
  indexDigest?: string;
}

/** Receives the archive's bytes in order. */
export type Sink = (chunk: Uint8Array) => Promise<void> | void;

/** Storage for compressed layers between the passes, appended to and read back by range. */
export interface LayerSpool {
  /** Bytes written so far: where the next write starts. */
  readonly size: number;
  write(chunk: Uint8Array): Promise<void>;
  read(offset: number, length: number): AsyncIterable<Uint8Array>;
}

/** Options of `writeImageArchive`. */
export interface WriteOptions {
  /** Gzip the outer tar (the default), or write a plain tar. */
  compress?: boolean;
  /** Called before each step, for progress output. */
  onProgress?: (message: string) => void;
  /**
   * Called as a step's bytes go through (a layer tarred and compressed, the archive written):
   * `done` of about `total` bytes, for a progress bar.
   */
  onBytes?: (done: number, total: number) => void;
  /** Compressed layer bytes kept between the passes; default {@linkcode KEEP_COMPRESSED_BYTES}. */
  keepCompressedBytes?: number;
  /**
   * Where the compressed layers beyond `keepCompressedBytes` wait for the write pass
   * (spool.ts: a temporary file); without one they are compressed again.
   */
  spool?: LayerSpool;
  /** Compressing worker threads besides this one (gzip.ts); default one less than the cores. */
  workers?: number;
  /** Aborting stops the work within a block (1 MiB) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** RFC 3339 UTC without fractions, as every `created` field is written. */
export function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** The full name Docker and containerd read from `io.containerd.image.name`. */
export function fullImageName(repository: string, tag: string): string {
  const first = repository.split("/")[0];
  const hasDomain = repository.includes("/") &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasDomain) return `${repository}:${tag}`;
  const path = repository.includes("/") ? repository : `library/${repository}`;
  return `docker.io/${path}:${tag}`;
}

/**
 * Writes the image archive to `sink` and returns its digests.
 *
 * Two passes over the content: the first hashes each layer (blob names need the
 * digests before any byte is written), the second writes; a layer whose bytes
 * changed between the passes is an error. A gzip layer is compressed in the first
 * pass and its compressed bytes kept while they fit `keepCompressedBytes`: then
 * the second pass writes them without reading the files again. Beyond that it is
 * compressed again and its digest checked. Every compression shares one pool of
 * worker threads. The outer gzip of an archive with gzip layers is written with
 * stored blocks (level 0): compressing gzip again gains nothing and costs time.
 * @throws {RangeError} when a file changed while it was read.
 */
export async function writeImageArchive(
  spec: ArchiveSpec,
  sink: Sink,
  options: WriteOptions = {},
): Promise<ArchiveResult> {
  if (spec.images.length === 0) throw new RangeError("Cannot write an archive without images");
  const dockerImage = spec.dockerImage ?? 0;
  if (!spec.images[dockerImage]) throw new RangeError(`No image ${dockerImage} for manifest.json`);
  const compression = spec.layerCompression ?? DEFAULT_LAYER_COMPRESSION;
  const gzipLayers = compression === "gzip" && spec.images.some((i) => i.layers.length > 0);
  const compressOuter = options.compress ?? true;
  // One pool for every stream of this archive, started before the first layer (its
  // threads load while this one tars), stopped when the archive is written.
  using pool = gzipLayers || compressOuter ? new GzipPool(options.workers) : null;
  const work: ArchiveWork = {
    spec,
    options,
    compression,
    pool,
    blobs: new Map(),
    keepBudget: options.keepCompressedBytes ?? KEEP_COMPRESSED_BYTES,
    hashed: new Map(),
  };

  // ── first pass: each layer hashed (and compressed), then each image's config and manifest ──
  const images: { result: ImageResult; manifest: Descriptor }[] = [];
  for (const image of spec.images) {
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (const layer of image.layers) {
      const { descriptor, diffId } = work.hashed.get(layer) ?? await hashLayer(work, layer);
      layers.push(descriptor);
      diffIds.push(diffId);
    }
    images.push(addImage(work, image, layers, diffIds));
  }
  const { index, indexDigest } = addIndex(work, images);

  // ── second pass: the archive written, blobs in name order ──
  const entries = archiveEntries(work, index, dockerManifest(spec, images[dockerImage].result));
  (options.onProgress ?? (() => {}))(`Writing archive (${plural(work.blobs.size, "blob")})`);
  const outerLevel = !compressOuter ? null : gzipLayers ? STORED_LEVEL : GZIP_LEVEL;
  const archive = await writeArchive(work, entries, outerLevel, sink);
  return {
    archiveSha256: archive.hex(),
    archiveSize: archive.size,
    images: images.map((i) => i.result),
    ...(indexDigest ? { indexDigest } : {}),
  };
}

/** What the phases of `writeImageArchive` share. */
interface ArchiveWork {
  spec: ArchiveSpec;
  options: WriteOptions;
  compression: LayerCompression;
  pool: GzipPool | null;
  /** Every blob of the archive by digest: how to write it in the second pass. */
  blobs: Map<string, Blob>;
  /** Compressed layer bytes that may still be kept in memory for the second pass. */
  keepBudget: number;
  /**
   * A layer given to several images (the CA, tzdata and extern_data layers of every platform)
   * is hashed once and stored once.
   */
  hashed: Map<LayerSpec, { descriptor: Descriptor; diffId: string }>;
}

/**
 * The first pass over one layer: its descriptor and diff_id, and its blob added to
 * `work.blobs` (a gzip layer's compressed bytes kept in memory within `work.keepBudget`, else
 * spooled, else compressed again when written).
 */
async function hashLayer(
  work: ArchiveWork,
  layer: LayerSpec,
): Promise<{ descriptor: Descriptor; diffId: string }> {
  const { blobs, options } = work;
  const done = (descriptor: Descriptor, diffId: string) => {
    const out = { descriptor, diffId };
    work.hashed.set(layer, out);
    return out;
  };
  if (layer.blob) {
    const { mediaType, digest, size, diffId } = layer.blob;
    if (!blobs.has(digest)) blobs.set(digest, { size, read: layer.blob.read });
    return done({ mediaType, digest, size }, diffId);
  }
  const verb = work.compression === "gzip" ? "Compressing" : "Hashing";
  options.onProgress?.(
    `${verb} layer "${layer.createdBy}" (${plural(layer.entries.length, "entry")})`,
  );
  const onBytes = options.onBytes ?? (() => {});
  const tarHash = new Sha256();
  // About the tar's size: contents and a header each (long names and padding aside).
  const tarTotal = layer.entries.reduce((n, e) => n + e.size + 512, 1024);
  const tar = tapped(
    abortable(writeTar(layer.entries, { mtime: work.spec.created }), options.signal),
    tarHash,
  );
  if (work.compression === "none") {
    for await (const _ of tar) onBytes(tarHash.size, tarTotal);
    const digest = `sha256:${tarHash.hex()}`;
    blobs.set(digest, { size: tarHash.size, layer: layer.entries });
    return done({ mediaType: MediaType.layer, digest, size: tarHash.size }, digest);
  }
  const blobHash = new Sha256();
  let kept: Uint8Array[] | undefined = [];
  let keptSize = 0;
  let spooledAt: number | undefined;
  for await (
    const chunk of gzip(tar, { level: GZIP_LEVEL, pool: work.pool!, signal: options.signal })
  ) {
    blobHash.update(chunk);
    onBytes(tarHash.size, tarTotal);
    if (kept) {
      keptSize += chunk.length;
      if (keptSize <= work.keepBudget) {
        kept.push(chunk.slice()); // gzip reuses the chunk's buffer for a later member
        continue;
      }
      // Over the memory bound: what was kept and the rest go to the spool, when there is one.
      if (options.spool) {
        spooledAt = options.spool.size;
        for (const c of kept) await options.spool.write(c);
      }
      kept = undefined;
    }
    if (spooledAt !== undefined) await options.spool!.write(chunk);
  }
  if (kept) work.keepBudget -= keptSize;
  const digest = `sha256:${blobHash.hex()}`;
  const stored = blobs.get(digest);
  if (!stored?.chunks && stored?.spooledAt === undefined) {
    blobs.set(digest, {
      size: blobHash.size,
      layer: layer.entries,
      gzip: true,
      chunks: kept,
      spooledAt,
    });
  }
  return done(
    { mediaType: MediaType.layerGzip, digest, size: blobHash.size },
    `sha256:${tarHash.hex()}`,
  );
}

/** One image's config and manifest blobs, added to `work.blobs`, from its layers' digests. */
function addImage(
  work: ArchiveWork,
  image: ImageSpec,
  layers: Descriptor[],
  diffIds: string[],
): { result: ImageResult; manifest: Descriptor } {
  const { spec, blobs } = work;
  const configBytes = canonicalJsonBytes(
    imageConfig(withProvenance(image, spec), diffIds, spec.created),
  );
  const config = addBytes(blobs, MediaType.config, configBytes);
  const manifestBytes = canonicalJsonBytes({
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config,
    layers,
    ...(image.annotations ? { annotations: image.annotations } : {}),
  });
  const manifest = addBytes(blobs, MediaType.manifest, manifestBytes);
  return {
    result: {
      platform: image.platform,
      imageId: config.digest,
      manifestDigest: manifest.digest,
      layers,
      diffIds,
    },
    manifest,
  };
}

/**
 * index.json's bytes, and with several images the image index blob (added to `work.blobs`)
 * that its one entry points at.
 */
function addIndex(
  work: ArchiveWork,
  images: { result: ImageResult; manifest: Descriptor }[],
): { index: Uint8Array; indexDigest?: string } {
  const { spec } = work;
  const annotations = {
    "io.containerd.image.name": fullImageName(spec.repository, spec.tag),
    "org.opencontainers.image.ref.name": spec.tag,
  };
  const manifests = images.map((i) => ({ ...i.manifest, platform: i.result.platform }));
  // Several platforms: an image index blob lists the manifests with their platforms, and
  // index.json's one entry points at it, as `docker save` (25+) and crane write them; its
  // digest is what a registry serves for the tag. Each manifest's bytes are those it has alone.
  let indexDigest: string | undefined;
  let top = manifests.map((m) => ({ ...m, annotations })) as Record<string, unknown>[];
  if (manifests.length > 1) {
    const nested = addBytes(
      work.blobs,
      MediaType.index,
      canonicalJsonBytes({ schemaVersion: 2, mediaType: MediaType.index, manifests }),
    );
    indexDigest = nested.digest;
    top = [{ ...nested, annotations }];
  }
  // The image alone: one entry, named, so that every tool takes it (DESIGN: the archive is the image).
  const index = canonicalJsonBytes({
    schemaVersion: 2,
    mediaType: MediaType.index,
    manifests: top,
  });
  return { index, ...(indexDigest ? { indexDigest } : {}) };
}

/** manifest.json of docker-archive: the one image `docker load` loads. */
function dockerManifest(spec: ArchiveSpec, image: ImageResult): Uint8Array {
  return canonicalJsonBytes([{
    Config: blobPath(image.imageId),
    RepoTags: [`${spec.repository}:${spec.tag}`],
    Layers: image.layers.map((l) => blobPath(l.digest)),
  }]);
}

/** The archive's entries in name order: the blobs, index.json, manifest.json, oci-layout. */
function archiveEntries(work: ArchiveWork, index: Uint8Array, manifest: Uint8Array): TarEntry[] {
  const { options } = work;
  const entries: TarEntry[] = [
    { name: "blobs", kind: "dir", mode: 0o755, size: 0 },
    { name: "blobs/sha256", kind: "dir", mode: 0o755, size: 0 },
    ...[...work.blobs.entries()].map(([digest, blob]) =>
      blobEntry(digest, blob, work.spec.created, {
        pool: work.pool,
        spool: options.spool,
        signal: options.signal,
      })
    ),
    fileEntry("index.json", index),
    fileEntry("manifest.json", manifest),
    fileEntry("oci-layout", canonicalJsonBytes({ imageLayoutVersion: "1.0.0" })),
  ];
  return entries.sort((a, b) => compareNames(a.name, b.name));
}

/**
 * The second pass: the archive's tar, gzipped at `level` (null: a plain tar), given to `sink`;
 * resolves to its hash.
 */
async function writeArchive(
  work: ArchiveWork,
  entries: TarEntry[],
  level: number | null,
  sink: Sink,
): Promise<Sha256> {
  const { options } = work;
  const archive = new Sha256();
  let stream: AsyncIterable<Uint8Array> = abortable(
    writeTar(entries, { mtime: 0 }),
    options.signal,
  );
  if (level !== null) stream = gzip(stream, { level, pool: work.pool!, signal: options.signal });
  const archiveTotal = [...work.blobs.values()].reduce((n, b) => n + b.size + 512, 0);
  for await (const chunk of stream) {
    archive.update(chunk);
    await sink(chunk);
    options.onBytes?.(archive.size, archiveTotal);
  }
  return archive;
}

/** The image with r10e's provenance labels added to its own (DESIGN: provenance in the image). */
export function withProvenance(
  image: ImageSpec,
  provenance: { created: number; revision?: string; source?: string },
): ImageSpec {
  const labels: Record<string, string> = {
    ...image.config.Labels,
    [PROVENANCE_LABELS.created]: rfc3339(provenance.created),
  };
  if (provenance.revision) labels[PROVENANCE_LABELS.revision] = provenance.revision;
  if (provenance.source) labels[PROVENANCE_LABELS.source] = provenance.source;
  return { ...image, config: { ...image.config, Labels: labels } };
}

/** The image config, before serialization; `diffIds` are the uncompressed layers' digests. */
export function imageConfig(image: ImageSpec, diffIds: string[], created: number) {
  const time = rfc3339(created);
  return {
    architecture: image.platform.architecture,
    os: image.platform.os,
    ...(image.platform.variant ? { variant: image.platform.variant } : {}),
    created: time,
    config: image.config,
    rootfs: { type: "layers", diff_ids: diffIds },
    history: [
      ...(image.baseHistory ?? []),
      ...image.layers.filter((l) => !l.blob).map((l) => ({
        created: time,
        created_by: l.createdBy,
      })),
    ],
  };
}

interface Blob {
  size: number;
  bytes?: Uint8Array;
  /** A base image's layer, copied as it is. */
  read?: () => AsyncIterable<Uint8Array>;
  layer?: TarEntry[];
  /** A gzip layer: `layer` compressed at GZIP_LEVEL. */
  gzip?: boolean;
  /** A gzip layer's bytes, kept from the hash pass. */
  chunks?: Uint8Array[];
  /** Where a gzip layer's bytes start in the spool (`size` bytes), when not kept. */
  spooledAt?: number;
}

/**
 * Passes a stream through, throwing the signal's reason at the first chunk after an abort: the
 * tar writer reads files in blocks of 1 MiB, so an interrupt stops the work within one.
 */
async function* abortable(
  source: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  signal?.throwIfAborted();
  for await (const chunk of source) {
    signal?.throwIfAborted();
    yield chunk;
  }
}

/** Passes a stream through, hashing every chunk. */
async function* tapped(
  source: AsyncIterable<Uint8Array>,
  hash: Sha256,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

function addBytes(blobs: Map<string, Blob>, mediaType: string, bytes: Uint8Array): Descriptor {
  const digest = `sha256:${sha256Hex(bytes)}`;
  blobs.set(digest, { size: bytes.length, bytes });
  return { mediaType, digest, size: bytes.length };
}

function blobPath(digest: string): string {
  return `blobs/sha256/${digest.slice("sha256:".length)}`;
}

function blobEntry(
  digest: string,
  blob: Blob,
  created: number,
  io: { pool: GzipPool | null; spool?: LayerSpool; signal?: AbortSignal },
): TarEntry {
  if (blob.bytes) return fileEntry(blobPath(digest), blob.bytes);
  const read = blob.read;
  return {
    name: blobPath(digest),
    kind: "file",
    mode: 0o644,
    size: blob.size,
    content: read ? () => givenBlob(digest, read) : () => layerBlob(digest, blob, created, io),
  };
}

/** A blob given ready-made (a base image's layer), checked against its digest as it is written. */
async function* givenBlob(
  digest: string,
  read: () => AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const hash = new Sha256();
  for await (const chunk of read()) {
    hash.update(chunk);
    yield chunk;
  }
  const got = `sha256:${hash.hex()}`;
  if (got !== digest) {
    throw new RangeError(`Cannot write layer "${digest}": its bytes have ${got}`);
  }
}

/**
 * A layer's blob in the second pass: the compressed bytes kept from the first, else read back
 * from the spool, else made again from its files; checked against the first pass's digest.
 */
async function* layerBlob(
  digest: string,
  blob: Blob,
  created: number,
  io: { pool: GzipPool | null; spool?: LayerSpool; signal?: AbortSignal },
): AsyncGenerator<Uint8Array> {
  const { layer, chunks } = blob as { layer: TarEntry[]; chunks?: Uint8Array[] };
  if (chunks) {
    yield* chunks;
    return;
  }
  const changed = () =>
    new RangeError(`Cannot write layer "${digest}": its files changed while r10e read them`);
  const hash = new Sha256();
  let stream: AsyncIterable<Uint8Array> = abortable(
    writeTar(layer, { mtime: created }),
    io.signal,
  );
  if (blob.gzip) {
    stream = gzip(stream, { level: GZIP_LEVEL, pool: io.pool!, signal: io.signal });
  }
  // Spooled: read back, and checked like bytes made again (the spool is a file on disk).
  if (blob.spooledAt !== undefined) {
    stream = abortable(io.spool!.read(blob.spooledAt, blob.size), io.signal);
  }
  for await (const chunk of stream) {
    hash.update(chunk);
    // Compressed again, a changed file may change the blob's size before its digest is known.
    if (hash.size > blob.size) throw changed();
    yield chunk;
  }
  if (`sha256:${hash.hex()}` !== digest) throw changed();
}
