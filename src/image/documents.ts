/**
 * An input's documents, parsed and checked: index.json (nested indexes followed, attestations
 * and attached artifacts left out) or manifest.json, each manifest and config, every descriptor's
 * digest and size against its blob, and each config's diff_ids against the layers.
 *
 * @module
 */
import { plural } from "../plural.ts";
import { type Descriptor, DescriptorError, readDescriptor } from "./descriptor.ts";
import { type Platform, readPlatform } from "./platform.ts";
import { type Compression, detectCompression } from "./compression.ts";
import { type EntryStore, namedDigest, normalize } from "./entries.ts";
import { JSON_DEPTH_MAX, LAYERS_MAX } from "./limits.ts";
import { isObject } from "../json_object.ts";

const MEDIA_INDEX = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

const MEDIA_MANIFEST = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

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

/** What an input's documents say: its raw documents and the images they describe. */
export interface Documents {
  /** Raw bytes of `index.json`, `manifest.json`, `oci-layout`; null when absent. */
  indexJson: Uint8Array | null;
  manifestJson: Uint8Array | null;
  ociLayout: Uint8Array | null;
  /** Every image, from index.json when present, else from manifest.json. */
  images: ImageInfo[];
  /** The images manifest.json lists, even when index.json is present (empty if it is absent). */
  dockerImages: ImageInfo[];
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

/** Parses index.json / manifest.json and the configs, checking digests and sizes. */
export async function parseDocuments(input: EntryStore): Promise<Documents> {
  // Every blob named by its digest must match it (DESIGN: reading images).
  for (const e of input.entries) {
    const named = namedDigest(e.path);
    if (named && e.kind === "file" && e.sha256 !== named) {
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
  return { indexJson, manifestJson, ociLayout, images, dockerImages };
}

async function dockerManifestImages(input: EntryStore, bytes: Uint8Array): Promise<ImageInfo[]> {
  const doc = parseJson(input, bytes, "manifest.json");
  if (!Array.isArray(doc)) throw input.error("manifest.json is not a JSON array");
  const images: ImageInfo[] = [];
  for (const [i, item] of doc.entries()) {
    const where = `manifest.json[${i}]`;
    if (!isObject(item) || typeof item.Config !== "string" || !Array.isArray(item.Layers)) {
      throw input.error(`${where} has no "Config" string and "Layers" array`);
    }
    const configPath = normalize(item.Config);
    await input.need([configPath, ...(item.Layers as unknown[]).filter(isString)]);
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
  input: EntryStore,
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
  await input.need(
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
    await input.need([
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
  input: EntryStore,
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
function descriptor(input: EntryStore, d: unknown, where: string, what = "blob"): Descriptor {
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
  input: EntryStore,
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
  await input.need(layers.map((l) => l.path));
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
    }
    infos.push(layer);
  }
  return { ...base, platform, config, layers: infos };
}

/**
 * A layer whose content is not what its config claims: a lying image. Both digests are named,
 * so that the reader sees which layer was changed after the config was written.
 */
export function diffIdMismatch(layer: LayerInfo, real: string): string {
  return `layer ${layer.index} "${layer.path}" does not match its diff_id: the config claims ` +
    `"${layer.diffId}", its content is "${real}"`;
}

function parseJson(input: EntryStore, bytes: Uint8Array, what: string): unknown {
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

function isString(v: unknown): v is string {
  return typeof v === "string";
}
