/**
 * `r10e push`: every blob of an OCI layout (archive or directory, read by the image reader) to a
 * registry, byte for byte, then the manifests and indexes by digest, the top one by tag. The
 * registry's digest is the one `build` printed because nothing is re-encoded
 * (DESIGN: registries; ggcr's `remote.Write` works the same way).
 *
 * Order: every blob confirmed (HEAD, mount, or upload) before any manifest, children before the
 * index that names them, the tag last. An interrupted push run again finds what is there (HEAD)
 * and resumes a chunked upload where the registry says it stands (its `Range` header), from the
 * upload URL kept in the state directory.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { writeFilesAtomically } from "../atomic_write.ts";
import { canonicalJsonBytes } from "../image/canonical_json.ts";
import type { Compression, ImageInput } from "../image/reader.ts";
import { formatPlatform } from "../image/platform.ts";
import { RegistryClient } from "./client.ts";
import { RegistryError } from "./errors.ts";
import { type Descriptor, readDocument } from "./media.ts";
import { type BytesBlob, type DocumentFile, documentReferrers } from "./documents.ts";
import { formatName, type Reference } from "./reference.ts";
import {
  pushReferrers,
  readReferrer,
  type ReferrerItem,
  type ReferrerResult,
} from "./referrers.ts";
import { backoff, DEFAULT_RETRY, retriableError, retriableStatus } from "./retry.ts";
import type { ClientOptions } from "./client.ts";

/** Options of `push`. */
export interface PushOptions extends ClientOptions {
  /** Repositories of the same registry to mount missing blobs from (`team/base`). */
  from?: string[];
  /** Blobs larger than this go in chunks of this size (PATCH); smaller ones in one PUT. */
  chunkSize?: number;
  /** Blobs sent at the same time (default 3). */
  parallel?: number;
  /** Directory for upload state (resumable upload URLs); none means no resume across runs. */
  stateDir?: string;
  /** Hears progress lines (for stderr). */
  onProgress?: (line: string) => void;
  /** Bytes of the blobs sent (or found there) of all to push, for a progress bar. */
  onBytes?: (done: number, total: number) => void;
  /**
   * Documents to attach as referrers (documents.ts: each platform's SBOMs to its manifest, the
   * provenance to the pushed digest), for an archive that does not carry its own (format 5).
   */
  documents?: readonly DocumentFile[];
}

/** What happened to one blob. */
export interface BlobResult {
  digest: string;
  size: number;
  /** `present`: already there; `mounted` from another repository; `uploaded` by this run. */
  action: "present" | "mounted" | "uploaded";
  /** Bytes this run sent for it (less than size when an upload resumed). */
  sent: number;
  /** Where a resumed upload started, when it did. */
  resumedAt?: number;
  /** The repository it was mounted from. */
  mountedFrom?: string;
}

/** The outcome of a push. */
export interface PushResult {
  /** `host/repo@sha256:…`: the line to deploy with. */
  reference: string;
  digest: string;
  mediaType: string;
  tag: string | null;
  /**
   * True when the archive held no manifest (`docker save` before Docker 25: manifest.json only)
   * and the push made one from its config and layers: the digest is the push's, not the archive's.
   */
  madeByPush?: true;
  blobs: BlobResult[];
  manifests: { digest: string; mediaType: string; size: number }[];
  /** The documents attached to the images (SBOMs, provenance), pushed as referrers. */
  referrers: ReferrerResult[];
}

const DEFAULT_CHUNK = 64 * 1024 * 1024;

/** A manifest or index to PUT, in order (children first). */
interface ManifestItem {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

/**
 * Pushes the image of `input` to `ref`.
 * @throws {RegistryError} for a refusal (the registry's message), an unreachable registry, or
 * a REF digest that is not the image's.
 * @throws {InputError} for an input that is not an OCI layout.
 */
export async function push(
  input: ImageInput,
  ref: Reference,
  options: PushOptions,
): Promise<PushResult> {
  const plan = await planPush(input);
  const top = plan.top;
  if (ref.digest && ref.digest !== top.digest) {
    throw new RegistryError(
      `Cannot push "${input.path}" as "${ref.digest}": the image's digest is ${top.digest}`,
    );
  }
  using client = new RegistryClient(ref.registry, options);
  const repo = ref.repository;
  const scopes = [`repository:${repo}:pull,push`];
  const progress = options.onProgress ?? (() => {});
  const total = plan.blobs.reduce((n, b) => n + b.size, 0);
  let done = 0;
  const count = (n: number) => {
    done += n;
    options.onBytes?.(done, total);
  };
  // A few blobs at once, as skopeo and crane do: the registry hashes and stores one while the
  // next is read and sent. Results keep the plan's order.
  const blobs: BlobResult[] = new Array(plan.blobs.length);
  let next = 0;
  const worker = async () => {
    while (next < plan.blobs.length) {
      const i = next++;
      blobs[i] = await pushBlob(client, input, repo, plan.blobs[i], plan.paths, {
        ...options,
        scopes,
        progress,
        count,
      });
      // What was not sent was there already, or mounted: done as well.
      count(plan.blobs[i].size - blobs[i].sent);
    }
  };
  const workers = Array.from(
    { length: Math.min(options.parallel ?? 3, plan.blobs.length) },
    worker,
  );
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  for (const m of plan.manifests) {
    await putManifest(client, repo, m, m.descriptor.digest, scopes);
  }
  const tag = ref.digest ? null : ref.tag ?? "latest";
  const topItem = plan.manifests[plan.manifests.length - 1];
  if (tag) await putManifest(client, repo, topItem, tag, scopes);
  // The documents, once the images they refer to are there (referrers.ts): those an archive of
  // format 3 or 4 carries inside, else those given (read beside the archive).
  let items = plan.referrers;
  if (items.length === 0 && options.documents?.length) {
    const docs = documentReferrers(attachTarget(input, plan), options.documents);
    for (const blob of docs.blobs) await pushBytes(client, repo, blob, scopes);
    items = docs.items;
  }
  const referrers = await pushReferrers(client, repo, items, {
    scopes,
    onProgress: progress,
  });
  return {
    reference: `${formatName(ref)}@${top.digest}`,
    digest: top.digest,
    mediaType: top.mediaType,
    tag,
    ...(plan.madeByPush ? { madeByPush: true } : {}),
    blobs,
    manifests: plan.manifests.map((m) => ({
      digest: m.descriptor.digest,
      mediaType: m.descriptor.mediaType,
      size: m.descriptor.size,
    })),
    referrers,
  };
}

/** What the documents attach to: the pushed digest, and each platform's manifest. */
function attachTarget(input: ImageInput, plan: Plan) {
  const topItem = plan.manifests.find((m) => m.descriptor.digest === plan.top.digest)!;
  const doc = readDocument(topItem.bytes, "the pushed index", plan.top.mediaType);
  if (doc.kind === "index") {
    return {
      top: plan.top,
      manifests: doc.children.map((c) => ({
        platform: c.platform ? formatPlatform(c.platform) : "",
        descriptor: { mediaType: c.mediaType, digest: c.digest, size: c.size },
      })),
    };
  }
  const platform = input.images.find((i) => i.manifestDigest === plan.top.digest)?.platform;
  return {
    top: plan.top,
    manifests: [{ platform: platform ? formatPlatform(platform) : "", descriptor: plan.top }],
  };
}

/** Sends a small blob held in memory (a document, the empty config) unless it is there. */
async function pushBytes(
  client: RegistryClient,
  repo: string,
  blob: BytesBlob,
  scopes: string[],
): Promise<void> {
  const head = await client.request("HEAD", `/v2/${repo}/blobs/${blob.digest}`, {
    scopes,
    expect: [200, 404],
    what: `check blob ${blob.digest}`,
  });
  await head.body?.cancel();
  if (head.status === 200) return;
  const url = await startUpload(client, repo, scopes, blob.digest);
  await finishUpload(client, url, blob.digest, blob.bytes, scopes);
}

/** What a push sends. */
interface Plan {
  /** Blobs in order of first use. */
  blobs: Descriptor[];
  /** The entry of the input holding each blob, by digest. */
  paths: Map<string, string>;
  /** Manifests and indexes, children first. */
  manifests: ManifestItem[];
  top: Descriptor;
  /** The archive had no manifest: this push made it. */
  madeByPush: boolean;
  /** The attached documents (artifact manifests with a subject), pushed after the images. */
  referrers: ReferrerItem[];
}

/** What to send: blobs (sorted by first use), manifests children first, the top descriptor. */
async function planPush(input: ImageInput): Promise<Plan> {
  if (!input.indexJson) return planDockerArchive(input);
  const index = readDocument(input.indexJson, "index.json");
  if (index.kind !== "index") throw input.error("index.json is not an image index");
  if (index.children.length === 0) throw input.error("index.json lists no manifest");
  const { images, attached } = await sortIndex(input, index.children);
  const blobs = new Map<string, Descriptor>();
  const manifests = new Map<string, ManifestItem>();
  for (const [i, d] of images.entries()) {
    await walkManifest(input, d, { where: `index.json: manifests[${i}]`, blobs, manifests });
  }
  // The documents' blobs (the empty config, the document) after the images'.
  for (const a of attached) addReferrerBlobs(input, a, blobs);
  const items = [...manifests.values()];
  // Several images in the layout and no index blob naming them all: the index is made here.
  const made = images.length > 1 ? madeIndex(images, manifests) : null;
  if (made) items.push(made);
  const top = made?.descriptor ?? manifests.get(images[0].digest)!.descriptor;
  const paths = new Map([...blobs.keys()].map((d) => [d, blobPath(d)]));
  return {
    blobs: [...blobs.values()],
    paths,
    manifests: items,
    top,
    madeByPush: false,
    referrers: attached,
  };
}
/**
 * index.json's descriptors: images, and the attached documents (an artifactType in index.json,
 * or a subject in the manifest), which are not images: their blobs go with the rest, their
 * manifests after the images, as referrers.
 * @throws {InputError} when it lists no image.
 */
async function sortIndex(
  input: ImageInput,
  children: readonly Descriptor[],
): Promise<{ images: Descriptor[]; attached: ReferrerItem[] }> {
  const images: Descriptor[] = [];
  const attached: ReferrerItem[] = [];
  for (const [i, d] of children.entries()) {
    const where = `index.json: manifests[${i}]`;
    const bytes = d.artifactType ? await readBlob(input, d, where) : null;
    const referrer = bytes ? readReferrer(bytes, `manifest "${blobPath(d.digest)}"`) : null;
    if (!referrer) {
      images.push(d);
      continue;
    }
    attached.push({
      mediaType: d.mediaType || "application/vnd.oci.image.manifest.v1+json",
      digest: d.digest,
      size: d.size,
      ...referrer,
      bytes: bytes!,
    });
  }
  if (images.length === 0) throw input.error("index.json lists no image manifest");
  return { images, attached };
}

/**
 * Reads a manifest or index (and the indexes and manifests it names, depth first) into
 * `manifests`, children before parents, and the blobs its manifests name into `blobs`, each
 * checked to be in the input, in order of first use.
 */
async function walkManifest(
  input: ImageInput,
  d: Descriptor,
  into: {
    where: string;
    blobs: Map<string, Descriptor>;
    manifests: Map<string, ManifestItem>;
    depth?: number;
  },
): Promise<void> {
  const { where, blobs, manifests } = into;
  const depth = into.depth ?? 0;
  if (manifests.has(d.digest)) return;
  if (depth > 8) throw input.error(`${where} nests indexes too deeply`);
  const bytes = await readBlob(input, d, where);
  let doc;
  try {
    doc = readDocument(bytes, `manifest "${blobPath(d.digest)}"`, d.mediaType);
  } catch (e) {
    throw input.error((e as Error).message, e);
  }
  for (const [i, child] of doc.children.entries()) {
    if (doc.kind === "index") {
      const at = `${blobPath(d.digest)}: manifests[${i}]`;
      await walkManifest(input, child, { where: at, blobs, manifests, depth: depth + 1 });
    } else if (!blobs.has(child.digest)) {
      checkBlob(input, child, blobPath(d.digest));
      blobs.set(child.digest, child);
    }
  }
  manifests.set(d.digest, {
    descriptor: { mediaType: doc.mediaType, digest: d.digest, size: d.size },
    bytes,
  });
}

/** The blobs an attached document names, added to `blobs` (checked to be in the input). */
function addReferrerBlobs(
  input: ImageInput,
  a: ReferrerItem,
  blobs: Map<string, Descriptor>,
): void {
  let doc;
  try {
    doc = readDocument(a.bytes, `manifest "${blobPath(a.digest)}"`, a.mediaType);
  } catch (e) {
    throw input.error((e as Error).message, e);
  }
  a.mediaType = doc.mediaType;
  for (const child of doc.children) {
    if (blobs.has(child.digest)) continue;
    checkBlob(input, child, blobPath(a.digest));
    blobs.set(child.digest, child);
  }
}

/**
 * The index of several images, made from index.json's descriptors (platforms kept, layout
 * annotations dropped), in canonical JSON (sorted keys, no whitespace) as the image writer
 * serializes: a function of the manifests alone.
 */
function madeIndex(images: Descriptor[], manifests: Map<string, ManifestItem>): ManifestItem {
  const bytes = canonicalJsonBytes({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: images.map((c) => ({
      mediaType: manifests.get(c.digest)!.descriptor.mediaType,
      digest: c.digest,
      size: c.size,
      ...(c.platform ? { platform: c.platform } : {}),
    })),
  });
  const descriptor = {
    mediaType: "application/vnd.oci.image.index.v1+json",
    digest: "sha256:" + createHash("sha256").update(bytes).digest("hex"),
    size: bytes.length,
  };
  return { descriptor, bytes };
}

/**
 * A docker-archive without index.json (`docker save` before Docker 25): it has a config and
 * layers but no manifest, so one is made here, as crane does for a docker tarball, but with the
 * layers sent as they are stored (no re-compression): an OCI manifest, canonical JSON like the
 * image writer's, naming the config and each layer by the digest of its bytes.
 */
function planDockerArchive(input: ImageInput): Plan {
  const images = input.dockerImages;
  if (images.length === 0) throw input.error("it has neither index.json nor manifest.json");
  if (images.length > 1) {
    throw input.error(
      `its manifest.json lists ${images.length} images (${
        images.map((i) => i.repoTags[0] ?? i.configDigest.slice(0, 19)).join(", ")
      }): r10e push sends one; docker save one image at a time`,
    );
  }
  const image = images[0];
  const paths = new Map<string, string>([[image.configDigest, image.configPath]]);
  const config: Descriptor = {
    mediaType: MediaType.config,
    digest: image.configDigest,
    size: image.configBytes.length,
  };
  const layers: Descriptor[] = image.layers.map((l) => {
    paths.set(l.digest, l.path);
    return { mediaType: LAYER_TYPES[l.compression], digest: l.digest, size: l.size };
  });
  const bytes = canonicalJsonBytes({
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config,
    layers,
  });
  const top: Descriptor = {
    mediaType: MediaType.manifest,
    digest: "sha256:" + createHash("sha256").update(bytes).digest("hex"),
    size: bytes.length,
  };
  const blobs = new Map<string, Descriptor>();
  for (const d of [config, ...layers]) if (!blobs.has(d.digest)) blobs.set(d.digest, d);
  return {
    blobs: [...blobs.values()],
    paths,
    manifests: [{ descriptor: top, bytes }],
    top,
    madeByPush: true,
    referrers: [],
  };
}

/** The OCI media types of what push makes (those of src/image/writer.ts, without loading it). */
const MediaType = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
} as const;

/** OCI layer media types by the compression the reader found (magic bytes). */
const LAYER_TYPES: Record<Compression, string> = {
  none: "application/vnd.oci.image.layer.v1.tar",
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
};

function blobPath(digest: string): string {
  return `blobs/${digest.replace(":", "/")}`;
}

function checkBlob(input: ImageInput, d: Descriptor, where: string): void {
  const entry = input.entry(blobPath(d.digest));
  if (!entry || entry.kind !== "file") {
    throw input.error(`blob "${blobPath(d.digest)}" named in ${where} is missing`);
  }
  if (entry.size !== d.size) {
    throw input.error(
      `blob "${
        blobPath(d.digest)
      }" has ${entry.size} bytes, its descriptor in ${where} says ${d.size}`,
    );
  }
  // The reader checked every blob against its name when it opened the input.
  if ("sha256:" + entry.sha256 !== d.digest) {
    throw input.error(`blob "${blobPath(d.digest)}" does not match its digest`);
  }
}

async function readBlob(input: ImageInput, d: Descriptor, where: string): Promise<Uint8Array> {
  checkBlob(input, d, where);
  return await input.readBytes(blobPath(d.digest), `manifest "${blobPath(d.digest)}"`);
}

async function putManifest(
  client: RegistryClient,
  repo: string,
  item: ManifestItem,
  reference: string,
  scopes: string[],
): Promise<void> {
  const response = await client.request("PUT", `/v2/${repo}/manifests/${reference}`, {
    scopes,
    headers: { "content-type": item.descriptor.mediaType },
    body: item.bytes,
    expect: [200, 201, 202],
    what:
      `store manifest ${item.descriptor.digest} (${item.descriptor.mediaType}) as "${reference}"`,
  });
  await response.body?.cancel();
  const said = response.headers.get("docker-content-digest");
  if (said && said !== item.descriptor.digest) {
    throw new RegistryError(
      `Registry "${client.registry}" stored manifest ${item.descriptor.digest} under another digest, ${said}`,
    );
  }
}

interface BlobContext extends PushOptions {
  scopes: string[];
  progress: (line: string) => void;
  /** Bytes read to be sent. */
  count?: (n: number) => void;
}

/**
 * One blob into the registry's repository, by the first way that works: already there (HEAD),
 * mounted from another repository, an upload resumed from a saved state, a new upload.
 */
async function pushBlob(
  client: RegistryClient,
  input: ImageInput,
  repo: string,
  blob: Descriptor,
  paths: Map<string, string>,
  ctx: BlobContext,
): Promise<BlobResult> {
  if (await blobExists(client, repo, blob, ctx.scopes, { lenient: false })) {
    await forgetState(ctx.stateDir, client.registry, repo, blob.digest);
    return { digest: blob.digest, size: blob.size, action: "present", sent: 0 };
  }
  const mount = await mountBlob(client, repo, blob, ctx);
  if ("action" in mount) return mount;
  const chunk = ctx.chunkSize ?? DEFAULT_CHUNK;
  const resumed = !mount.location && blob.size > chunk
    ? await resumeUpload(client, repo, blob, ctx)
    : null;
  const location = mount.location ?? resumed?.location ?? null;
  const upload: Upload = {
    url: location
      ? new URL(location, await client.base()).href
      : await startUpload(client, repo, ctx.scopes, blob.digest),
    offset: resumed?.offset ?? 0,
  };
  const path = paths.get(blob.digest) ?? blobPath(blob.digest);
  const sent = blob.size <= chunk && upload.offset === 0
    ? await putWhole(client, input, repo, blob, path, upload.url, ctx)
    : await patchChunks(client, input, repo, blob, path, upload, { ...ctx, chunk });
  await forgetState(ctx.stateDir, client.registry, repo, blob.digest);
  return {
    digest: blob.digest,
    size: blob.size,
    action: "uploaded",
    sent,
    ...(resumed ? { resumedAt: resumed.offset } : {}),
  };
}

/** An open upload: its URL and the bytes the registry has. */
interface Upload {
  url: string;
  offset: number;
}

/**
 * Asks to mount the blob from each of `ctx.from` in turn: the result when one did, else the
 * upload a registry opened instead (it may, by the spec), or null.
 */
async function mountBlob(
  client: RegistryClient,
  repo: string,
  blob: Descriptor,
  ctx: BlobContext,
): Promise<BlobResult | { location: string | null }> {
  for (const from of ctx.from ?? []) {
    if (from === repo) continue;
    const mount = await client.request(
      "POST",
      `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${
        encodeURIComponent(from)
      }`,
      {
        scopes: [...ctx.scopes, `repository:${from}:pull`],
        headers: { "content-length": "0" },
        expect: [201, 202],
        what: `mount blob ${blob.digest} from "${from}"`,
      },
    );
    await mount.body?.cancel();
    if (mount.status === 201) {
      ctx.progress(`mounted ${short(blob)} from ${from}`);
      return {
        digest: blob.digest,
        size: blob.size,
        action: "mounted",
        sent: 0,
        mountedFrom: from,
      };
    }
    // 202: the registry could not mount and opened an upload instead (the spec allows it).
    const location = mount.headers.get("location");
    if (location) return { location };
  }
  return { location: null };
}

/** The upload a previous run left (its saved URL), where the registry says it stands; else null. */
async function resumeUpload(
  client: RegistryClient,
  repo: string,
  blob: Descriptor,
  ctx: BlobContext,
): Promise<{ location: string; offset: number } | null> {
  const saved = await loadState(ctx.stateDir, client.registry, repo, blob.digest);
  if (!saved) return null;
  const at = await uploadOffset(client, saved, ctx.scopes, blob.digest);
  if (!at) return null;
  ctx.progress(`resuming ${short(blob)} at ${mb(at.offset)} of ${mb(blob.size)}`);
  return at;
}

/**
 * The whole blob in one PUT; returns the bytes sent. A blob the reader did not hash when it
 * opened the archive (deferBlobHashes) is hashed as it is sent.
 */
async function putWhole(
  client: RegistryClient,
  input: ImageInput,
  repo: string,
  blob: Descriptor,
  path: string,
  url: string,
  ctx: BlobContext,
): Promise<number> {
  const bad = { found: false };
  try {
    const body = input.unhashed.has(path)
      ? checkedStream(input, path, blob, bad, ctx.count)
      : rangeStream(input, path, 0, blob.size, ctx.count);
    await finishUpload(client, url, blob.digest, body, ctx.scopes, blob.size);
  } catch (e) {
    if (bad.found) throw input.error(`blob "${path}" does not match its digest`);
    // A lost answer to a PUT the registry did complete: the blob is there now.
    if (!(e instanceof RegistryError) || !(await blobExists(client, repo, blob, ctx.scopes))) {
      throw e;
    }
  }
  if (blob.size >= 1e6) ctx.progress(`uploaded ${short(blob)} (${mb(blob.size)})`);
  return blob.size;
}

/**
 * The blob in PATCH chunks of `ctx.chunk` from `upload.offset`, then the closing PUT; returns the
 * bytes sent. A chunk that fails is asked about (where the upload stands) and sent again from
 * there, within the retry policy; the upload URL is saved after each chunk for a later run.
 * A blob the reader did not hash is hashed first (a chunk once sent cannot be taken back).
 */
async function patchChunks(
  client: RegistryClient,
  input: ImageInput,
  repo: string,
  blob: Descriptor,
  path: string,
  upload: Upload,
  ctx: BlobContext & { chunk: number },
): Promise<number> {
  if (input.unhashed.has(path)) await checkBlobBytes(input, path, blob);
  const meter = throttle(ctx.progress);
  const retry = { ...DEFAULT_RETRY, ...ctx.retry };
  let { url, offset } = upload;
  let sent = 0;
  let failures = 0;
  while (offset < blob.size) {
    const len = Math.min(ctx.chunk, blob.size - offset);
    let response: Response | null = null;
    let failure: unknown = null;
    try {
      response = await client.request("PATCH", url, {
        scopes: ctx.scopes,
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${offset}-${offset + len - 1}`,
        },
        body: rangeStream(input, path, offset, len, ctx.count),
        length: len,
        expect: [202],
        what: `upload ${mb(len)} of blob ${blob.digest} at ${offset}`,
        // A PATCH half received must not be sent again as it was: ask where the upload stands.
        retry: false,
      });
    } catch (e) {
      failure = e;
    }
    if (response) {
      await response.body?.cancel();
      const next = response.headers.get("location");
      if (next) url = new URL(next, url).href;
      offset += len;
      sent += len;
      failures = 0;
      await saveState(ctx.stateDir, client.registry, repo, blob.digest, url);
      meter(`uploading ${short(blob)}: ${mb(offset)} of ${mb(blob.size)}`);
      continue;
    }
    const status = failure instanceof RegistryError ? failure.status : undefined;
    const again = status === undefined
      ? retriableError((failure as Error)?.cause ?? failure) || failure instanceof RegistryError
      : retriableStatus(status) || status === 416;
    if (!again || ++failures >= retry.attempts) throw failure;
    await retry.sleep(backoff(retry, failures));
    // No answer to the question either (the registry is down): the push fails as it is; its
    // state file lets a later run continue.
    const at: Upload | null = await uploadOffset(client, url, ctx.scopes, blob.digest)
      .then((a) => a && { url: a.location, offset: a.offset })
      .catch(() => {
        throw failure;
      });
    if (!at) {
      // The registry dropped the upload (docker distribution cancels one asked about with a
      // stale state, as after a lost answer): start it again, from the first byte.
      ctx.progress(`the registry lost the upload of ${short(blob)}; starting it again`);
      url = await startUpload(client, repo, ctx.scopes, blob.digest);
      offset = 0;
      continue;
    }
    ctx.progress(
      `upload of ${short(blob)} interrupted; the registry has ${mb(at.offset)}, continuing`,
    );
    // A chunk whose answer was lost but that the registry kept counts as sent.
    sent += Math.max(0, at.offset - offset);
    ({ url, offset } = at);
  }
  await finishUpload(client, url, blob.digest, new Uint8Array(0), ctx.scopes);
  return sent;
}

/** The digest as progress lines name it: `sha256:` and 12 hex digits. */
function short(blob: Descriptor): string {
  return blob.digest.slice(0, 19);
}

/**
 * Whether the registry has the blob (HEAD). A failed request throws, or with `lenient` (the
 * default: asked after another failure, which is the one to report) is a no.
 */
async function blobExists(
  client: RegistryClient,
  repo: string,
  blob: Descriptor,
  scopes: string[],
  options: { lenient: boolean } = { lenient: true },
): Promise<boolean> {
  const asked = client.request("HEAD", `/v2/${repo}/blobs/${blob.digest}`, {
    scopes,
    expect: [200, 404],
    what: `check blob ${blob.digest}`,
  });
  const head = options.lenient ? await asked.catch(() => null) : await asked;
  await head?.body?.cancel();
  return head?.status === 200;
}

async function startUpload(
  client: RegistryClient,
  repo: string,
  scopes: string[],
  digest: string,
): Promise<string> {
  const response = await client.request("POST", `/v2/${repo}/blobs/uploads/`, {
    scopes,
    headers: { "content-length": "0" },
    expect: [202],
    what: `start the upload of blob ${digest}`,
  });
  await response.body?.cancel();
  const location = response.headers.get("location");
  if (!location) {
    throw new RegistryError(`Registry "${client.registry}" opened an upload without a Location`);
  }
  return new URL(location, await client.base()).href;
}

/** Where an open upload stands: the registry's `Range: 0-<last byte>`; null when it is gone. */
async function uploadOffset(
  client: RegistryClient,
  location: string,
  scopes: string[],
  digest: string,
): Promise<{ location: string; offset: number } | null> {
  const response = await client.request("GET", location, {
    scopes,
    expect: [204, 404, 400],
    what: `ask where the upload of blob ${digest} stands`,
  });
  await response.body?.cancel();
  if (response.status !== 204) return null;
  const range = response.headers.get("range");
  const m = range ? /^(?:bytes=)?0-(\d+)$/.exec(range.trim()) : null;
  // "0-0" is what distribution answers for an upload that has nothing yet.
  const offset = m ? (m[1] === "0" ? 0 : Number(m[1]) + 1) : 0;
  const next = response.headers.get("location");
  return { location: next ? new URL(next, location).href : location, offset };
}

async function finishUpload(
  client: RegistryClient,
  location: string,
  digest: string,
  body: Uint8Array | (() => ReadableStream<Uint8Array>),
  scopes: string[],
  length?: number,
): Promise<void> {
  const url = new URL(location, await client.base());
  url.searchParams.set("digest", digest);
  const response = await client.request("PUT", url.href, {
    scopes,
    headers: { "content-type": "application/octet-stream" },
    body,
    length,
    expect: [201, 204],
    what: `complete the upload of blob ${digest}`,
  });
  await response.body?.cancel();
}

/** A function making a stream of `length` bytes of an entry at `offset`, read as it is sent. */
function rangeStream(
  input: ImageInput,
  path: string,
  offset: number,
  length: number,
  count?: (n: number) => void,
): () => ReadableStream<Uint8Array> {
  return () => ReadableStream.from(collecting(input.readEntry(path, offset, length), count));
}

/**
 * `rangeStream` of a whole blob, hashed as it is read: the last chunk is not passed on when the
 * bytes do not match the digest (the request fails, the registry stores nothing), and `bad`
 * says so; a retry of the request then fails at once.
 */
function checkedStream(
  input: ImageInput,
  path: string,
  blob: Descriptor,
  bad: { found: boolean },
  count?: (n: number) => void,
): () => ReadableStream<Uint8Array> {
  return () => {
    if (bad.found) throw input.error(`blob "${path}" does not match its digest`);
    const hash = createHash("sha256");
    let got = 0;
    async function* checked(): AsyncGenerator<Uint8Array> {
      for await (const chunk of collecting(input.readEntry(path, 0, blob.size), count)) {
        hash.update(chunk);
        got += chunk.length;
        if (got === blob.size && "sha256:" + hash.digest("hex") !== blob.digest) {
          bad.found = true;
          throw input.error(`blob "${path}" does not match its digest`);
        }
        yield chunk;
      }
    }
    return ReadableStream.from(checked());
  };
}

/** Hashes a blob the reader did not hash. @throws {InputError} when it does not match its digest. */
async function checkBlobBytes(input: ImageInput, path: string, blob: Descriptor): Promise<void> {
  const hash = createHash("sha256");
  for await (const chunk of input.readEntry(path, 0, blob.size, { reuse: true })) {
    hash.update(chunk);
  }
  if ("sha256:" + hash.digest("hex") !== blob.digest) {
    throw input.error(`blob "${path}" does not match its digest`);
  }
}

/**
 * Passes chunks on, counting them for progress, collecting garbage every 16 MiB when allowed
 * (--expose-gc): peak RSS.
 */
async function* collecting(
  source: AsyncIterable<Uint8Array>,
  count?: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  const gc = (globalThis as { gc?: () => void }).gc;
  let since = 0;
  for await (const chunk of source) {
    yield chunk;
    count?.(chunk.length);
    since += chunk.length;
    if (gc && since >= 16 << 20) {
      gc();
      since = 0;
    }
  }
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

function throttle(say: (line: string) => void): (line: string) => void {
  let last = 0;
  return (line) => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    say(line);
  };
}

// ── upload state: the URL of an unfinished chunked upload, to resume it in a later run ──

function stateFile(dir: string, registry: string, repo: string, digest: string): string {
  const key = createHash("sha256").update(`${registry}/${repo}@${digest}`).digest("hex");
  return `${dir}/${key}.json`;
}

async function loadState(
  dir: string | undefined,
  registry: string,
  repo: string,
  digest: string,
): Promise<string | null> {
  if (!dir) return null;
  try {
    const doc = JSON.parse(await Deno.readTextFile(stateFile(dir, registry, repo, digest)));
    return typeof doc.location === "string" ? doc.location : null;
  } catch {
    return null;
  }
}

async function saveState(
  dir: string | undefined,
  registry: string,
  repo: string,
  digest: string,
  location: string,
): Promise<void> {
  if (!dir) return;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = stateFile(dir, registry, repo, digest);
  // Written beside, then renamed: a state file is whole or absent.
  await writeFilesAtomically(
    [{ path: file, data: JSON.stringify({ location }), mode: 0o600 }],
    "push",
  );
}

async function forgetState(
  dir: string | undefined,
  registry: string,
  repo: string,
  digest: string,
): Promise<void> {
  if (!dir) return;
  await Deno.remove(stateFile(dir, registry, repo, digest)).catch(() => {});
}
