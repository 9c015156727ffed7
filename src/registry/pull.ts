/**
 * Reading from a registry: the manifest or index of a reference, the config of
 * each image asked for, and then only the layer blobs a command reads, each streamed into the
 * image reader as it arrives and checked against its digest and size when its last byte comes.
 * Nothing is written to disk unless the caller asks (`spool`: cp and sbom read layers twice,
 * first for the merged filesystem, then for file contents); a dropped download resumes with a
 * `Range` request where the registry allows it.
 *
 * ```ts
 * await using input = await openRemoteImage(parseReference("host/app@sha256:…"), { env: {} });
 * input.kind;        // "registry"
 * input.image();     // as for an archive: manifest, config, layers (nothing fetched yet)
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { formatBytes } from "../byte_size.ts";
import { InputError } from "../errors.ts";
import {
  type EntrySource,
  FileRange,
  type ImageInput,
  type ListedEntry,
  openListedImage,
} from "../image/reader.ts";
import { concatBytes } from "../bytes.ts";
import {
  formatPlatform,
  parsePlatform,
  type Platform,
  platformMatches,
  readPlatform,
} from "../image/platform.ts";
import { registerTemporary, removeTemporary } from "../signals.ts";
import type { TarSource } from "../tar/reader.ts";
import { type ClientOptions, RegistryClient } from "./client.ts";
import { RegistryError } from "./errors.ts";
import { ACCEPT, type Descriptor, readDocument } from "./media.ts";
import { formatName, formatReference, type Reference } from "./reference.ts";
import { backoff, DEFAULT_RETRY, retriableError } from "./retry.ts";
import { MANIFEST_LIMIT, readCapped } from "./transport.ts";

/** Options of `openRemoteImage`. */
export interface RemoteImageOptions extends ClientOptions {
  /** `os/arch[/variant]`: of an index, fetch only this platform's image. */
  platform?: string;
  /**
   * Keep each blob read whole in a temporary directory (removed on close and on signals), so
   * that reading it again is local: for commands that read layers twice (cp, sbom).
   */
  spool?: boolean;
  /** Parent of that directory (default: the system one). */
  tempDir?: string;
  onProgress?: (line: string) => void;
  /**
   * Hears the layer bytes as they come: `(0, size)` when a layer's download starts, then
   * `(n, 0)` for each `n` bytes received, so that a caller sums several inputs into one line.
   */
  onFetched?: (bytes: number, more: number) => void;
}

/** An image manifest of a reference, as `pickImages` found it. */
export interface PickedImage {
  /** Its descriptor, with the platform the index gives it. */
  descriptor: Descriptor;
  bytes: Uint8Array;
}

/** Configs are JSON documents the reader parses whole: the reader's own limit. */
const CONFIG_MAX = 4 * 1024 * 1024;
/** Layer heads (compression magic bytes) fetched at once when the image is opened. */
const HEADS_AT_ONCE = 4;

/**
 * Opens the image of `ref` for the image reader: fetches the manifest or index, the image
 * manifests (of `platform` only, when given) and their configs; layers are fetched when read.
 * Dispose of it to close the client and remove what was spooled.
 * @throws {RegistryError} for an unreachable registry, a refusal, a missing platform, or a
 * document that does not match its digest.
 * @throws {InputError} for documents the image reader refuses.
 */
export async function openRemoteImage(
  ref: Reference,
  options: RemoteImageOptions,
): Promise<ImageInput> {
  const client = new RegistryClient(ref.registry, options);
  let spool: string | null = null;
  const live = new Set<ChunkSource>();
  const cleanUp = async () => {
    for (const stream of [...live]) await stream.close();
    client.close();
    if (spool) await removeTemporary(spool);
  };
  try {
    const scopes = [`repository:${ref.repository}:pull`];
    const top = await fetchManifest(client, ref, ref.digest ?? ref.tag ?? "latest", scopes);
    const name = `${formatName(ref)}@${top.descriptor.digest}`;
    const images = await pickImages(client, ref, top, { platform: options.platform, scopes });
    const entries = new Map<string, ListedEntry>();
    const blobs = new Map<string, RemoteBlob>();
    const context: BlobContext = {
      client,
      ref,
      scopes,
      name,
      progress: options.onProgress ?? (() => {}),
      fetched: options.onFetched ?? (() => {}),
      live,
      spool: options.spool
        ? async () => {
          if (!spool) {
            spool = await Deno.makeTempDir({ dir: options.tempDir, prefix: "r10e-pull-" });
            // An interrupt (Ctrl-C) removes it too.
            registerTemporary(spool);
          }
          return spool;
        }
        : null,
    };
    const index: Descriptor[] = [];
    for (const image of images) {
      entries.set(blobPath(image.descriptor.digest), {
        path: blobPath(image.descriptor.digest),
        size: image.bytes.length,
        sha256: hex(image.descriptor.digest),
        bytes: image.bytes,
      });
      const doc = readOrFail(image.bytes, image.descriptor, name);
      const [config, ...layers] = doc.children;
      if (!config) throw new RegistryError(`Cannot read "${name}": a manifest has no config`);
      // Two platforms may share a config (the same image for both): fetched once.
      const configBytes = entries.get(blobPath(config.digest))?.bytes ??
        await fetchSmallBlob(context, config, CONFIG_MAX);
      entries.set(blobPath(config.digest), {
        path: blobPath(config.digest),
        size: config.size,
        sha256: hex(config.digest),
        bytes: configBytes,
      });
      // Of several platforms, each one's layers are numbered in their own image: named by it.
      const platform = images.length > 1 ? platformOf(configBytes).platform : undefined;
      const of = platform ? `${formatPlatform(platform)} ` : "";
      for (const [i, layer] of layers.entries()) {
        if (entries.has(blobPath(layer.digest))) continue; // shared by two platforms
        // Numbered from 0, as verify's report numbers layers.
        const blob = new RemoteBlob(context, layer, `${of}layer ${i} of ${layers.length}`);
        blobs.set(layer.digest, blob);
        entries.set(blobPath(layer.digest), {
          path: blobPath(layer.digest),
          size: layer.size,
          sha256: hex(layer.digest),
          source: blob,
        });
      }
      index.push({
        mediaType: image.descriptor.mediaType,
        digest: image.descriptor.digest,
        size: image.descriptor.size,
        ...(image.descriptor.platform
          ? { platform: image.descriptor.platform }
          : platformOf(configBytes)),
      });
    }
    // The reader tells compression by magic bytes: the first bytes of every layer, a few at once.
    const pending = [...blobs.values()];
    await Promise.all(
      Array.from({ length: Math.min(HEADS_AT_ONCE, pending.length) }, async () => {
        for (let b = pending.shift(); b; b = pending.shift()) await b.fetchHead();
      }),
    );
    const enc = new TextEncoder();
    const layout = enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    // index.json as a layout of the fetched images would have it (what the reader starts from).
    const indexJson = enc.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: index,
    }));
    const listed: ListedEntry[] = [
      { path: "oci-layout", size: layout.length, sha256: sha256Hex(layout), bytes: layout },
      {
        path: "index.json",
        size: indexJson.length,
        sha256: sha256Hex(indexJson),
        bytes: indexJson,
      },
      ...[...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    ];
    return await openListedImage(name, listed, { platform: options.platform, onClose: cleanUp });
  } catch (e) {
    await cleanUp();
    throw e;
  }
}

/**
 * The image manifests of a reference whose top document is `top`: itself when it is a manifest,
 * else the index's manifests (nested indexes followed), of `platform` only when given, without
 * BuildKit's attestation manifests. The one place where a platform is picked from an index.
 * @throws {RegistryError} when none is left, or a document is not one.
 */
export async function pickImages(
  client: RegistryClient,
  ref: Reference,
  top: PickedImage,
  options: { platform?: string; scopes: string[] },
): Promise<PickedImage[]> {
  const name = formatReference(ref);
  const images: PickedImage[] = [];
  const want = options.platform ? wantedPlatform(options.platform) : null;
  const visit = async (d: Descriptor, bytes: Uint8Array, depth: number): Promise<void> => {
    const doc = readOrFail(bytes, d, name);
    if (doc.kind === "manifest") {
      images.push({ descriptor: { ...d, mediaType: doc.mediaType }, bytes });
      return;
    }
    if (depth > 4) throw new RegistryError(`Cannot read "${name}": indexes nest too deeply`);
    for (const child of doc.children) {
      // BuildKit's attestations are manifests too, but not images to run.
      if (child.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") continue;
      if (want && child.platform && !platformMatches(child.platform, want)) continue;
      const got = await fetchManifest(client, ref, child.digest, options.scopes, child);
      await visit({ ...got.descriptor, platform: child.platform }, got.bytes, depth + 1);
    }
  };
  await visit(top.descriptor, top.bytes, 0);
  if (images.length === 0) {
    throw new RegistryError(
      `Cannot read "${name}": no image${want ? ` for platform "${options.platform}"` : ""} in it`,
    );
  }
  return images;
}

function readOrFail(bytes: Uint8Array, d: Descriptor, name: string) {
  try {
    return readDocument(bytes, `manifest ${d.digest} of "${name}"`, d.mediaType);
  } catch (e) {
    throw new RegistryError(`Cannot read "${name}": ${(e as Error).message}`, { cause: e });
  }
}

function blobPath(digest: string): string {
  return `blobs/sha256/${hex(digest)}`;
}

function hex(digest: string): string {
  return digest.slice("sha256:".length);
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `{ platform }` from a config's os/architecture/variant, as the image writer puts it in index.json. */
function platformOf(configBytes: Uint8Array): { platform?: Platform } {
  try {
    const platform = readPlatform(JSON.parse(new TextDecoder().decode(configBytes)));
    if (platform) return { platform };
  } catch {
    // the reader says what is wrong with it
  }
  return {};
}

/** GETs a manifest by tag or digest, checking it against the digest asked for. */
export async function fetchManifest(
  client: RegistryClient,
  ref: Reference,
  reference: string,
  scopes: string[],
  expected?: Descriptor,
): Promise<PickedImage> {
  const name = formatReference(ref);
  const response = await client.request("GET", `/v2/${ref.repository}/manifests/${reference}`, {
    scopes,
    headers: { accept: ACCEPT },
    expect: [200],
    what: `fetch manifest "${reference}" of "${ref.repository}"`,
  });
  const bytes = await readCapped(
    response,
    MANIFEST_LIMIT,
    `Cannot read "${name}": manifest "${reference}"`,
  );
  const digest = "sha256:" + sha256Hex(bytes);
  const want = expected?.digest ?? (reference.startsWith("sha256:") ? reference : undefined);
  if (want && digest !== want) {
    throw new RegistryError(
      `Cannot read "${name}": the registry sent a manifest whose digest is ${digest}, not ${want}`,
    );
  }
  if (expected && bytes.length !== expected.size) {
    throw new RegistryError(
      `Cannot read "${name}": manifest ${digest} has ${bytes.length} bytes, its descriptor says ${expected.size}`,
    );
  }
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
  let mediaType = expected?.mediaType || "";
  if (!mediaType) {
    try {
      mediaType = readDocument(bytes, "manifest", type === "application/json" ? "" : type)
        .mediaType;
    } catch (e) {
      throw new RegistryError(`Cannot read "${name}": ${(e as Error).message}`, { cause: e });
    }
  }
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
}

interface BlobContext {
  client: RegistryClient;
  ref: Reference;
  scopes: string[];
  /** `host/repo@sha256:…`, in messages. */
  name: string;
  progress: (line: string) => void;
  /** Layer bytes: see `RemoteImageOptions.onFetched`. */
  fetched: (bytes: number, more: number) => void;
  /** The spool directory (made on first use), or null for none. */
  spool: (() => Promise<string>) | null;
  /** Downloads under way, closed with the input. */
  live: Set<ChunkSource>;
}

/** A small blob (a config) read whole into memory, checked against its digest. */
async function fetchSmallBlob(ctx: BlobContext, blob: Descriptor, max: number) {
  if (blob.size > max) {
    throw new RegistryError(
      `Cannot read "${ctx.name}": blob ${blob.digest} has ${blob.size} bytes (limit ${
        max >> 20
      } MiB for a config)`,
    );
  }
  const out = new Uint8Array(blob.size);
  let at = 0;
  for await (const chunk of new RemoteBlob(ctx, blob).read(0, blob.size)) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * One blob of the registry, as the image reader reads it: whole (streamed, hashed, checked when
 * its last byte comes, spooled when asked), or a range of it (an uncompressed layer's file).
 */
class RemoteBlob implements EntrySource {
  #ctx: BlobContext;
  #blob: Descriptor;
  /** Its first bytes, for the reader's look at the compression. */
  #head: Uint8Array | null = null;
  /** The spooled copy, once whole and checked. */
  #local: string | null = null;
  /** `layer 1 of 3` for progress; none for a config. */
  #label: string | undefined;

  constructor(ctx: BlobContext, blob: Descriptor, label?: string) {
    this.#ctx = ctx;
    this.#blob = blob;
    this.#label = label;
  }

  /** Fetches the first 4 bytes (a Range request; a registry that ignores it is cut short). */
  async fetchHead(): Promise<void> {
    const n = Math.min(4, this.#blob.size);
    const parts: Uint8Array[] = [];
    let got = 0;
    for await (const chunk of this.#range(0, n)) {
      parts.push(chunk.slice());
      got += chunk.length;
    }
    this.#head = concatBytes(parts);
  }

  read(offset: number, length: number): TarSource {
    if (this.#local) return new FileRange(this.#local, offset, length);
    if (offset === 0 && this.#head && length <= this.#head.length) {
      return new ChunkSource(once(this.#head.slice(0, length)), this.#ctx.live);
    }
    if (offset === 0 && length === this.#blob.size) {
      return new ChunkSource(this.#whole(), this.#ctx.live);
    }
    return new ChunkSource(this.#range(offset, length), this.#ctx.live);
  }

  #url(): string {
    return `/v2/${this.#ctx.ref.repository}/blobs/${this.#blob.digest}`;
  }

  #error(detail: string, cause?: unknown): InputError {
    return new InputError(`Cannot read image "${this.#ctx.name}": ${detail}`, { cause });
  }

  /** GET with retries; a RegistryError becomes the reader's InputError (exit 2 both). */
  async #get(headers: Record<string, string>, expect: number[]): Promise<Response> {
    try {
      return await this.#ctx.client.request("GET", this.#url(), {
        scopes: this.#ctx.scopes,
        headers,
        expect,
        what: `fetch blob ${this.#blob.digest} of "${this.#ctx.ref.repository}"`,
      });
    } catch (e) {
      if (e instanceof RegistryError) throw new InputError(e.message, { cause: e });
      throw e;
    }
  }

  /** The whole blob: hashed as it streams, checked when the last byte comes, resumed on a drop. */
  async *#whole(): AsyncGenerator<Uint8Array> {
    const blob = this.#blob;
    const dir = this.#ctx.spool ? await this.#ctx.spool() : null;
    const final = dir ? `${dir}/${hex(blob.digest)}` : null;
    const part = final ? `${final}.part` : null;
    const file = part
      ? await Deno.open(part, { write: true, create: true, truncate: true, mode: 0o600 })
      : null;
    const hash = createHash("sha256");
    let got = 0;
    let failures = 0;
    let done = false;
    const label = this.#label;
    if (label) {
      this.#ctx.progress(
        `fetching ${label} of ${formatName(this.#ctx.ref)} (${blob.digest.slice(0, 19)}, ${
          formatBytes(blob.size)
        })`,
      );
      this.#ctx.fetched(0, blob.size);
    }
    const retry = { ...DEFAULT_RETRY, ...this.#ctx.client.retryPolicy };
    try {
      while (got < blob.size || blob.size === 0) {
        const response = await this.#get(
          got > 0 ? { range: `bytes=${got}-` } : {},
          got > 0 ? [200, 206] : [200],
        );
        // A registry that ignored the Range starts again at byte 0: what was had is passed over.
        let drop = got > 0 && response.status === 200 ? got : 0;
        try {
          for await (let chunk of response.body ?? new ReadableStream<Uint8Array>()) {
            if (drop) {
              const k = Math.min(drop, chunk.length);
              drop -= k;
              chunk = chunk.subarray(k);
              if (!chunk.length) continue;
            }
            got += chunk.length;
            if (got > blob.size) {
              throw this.#error(
                `blob ${blob.digest} has more bytes than its descriptor's ${blob.size}`,
              );
            }
            hash.update(chunk);
            if (file) await writeAll(file, chunk);
            if (got === blob.size) this.#check(hash);
            if (label) this.#ctx.fetched(chunk.length, 0);
            yield chunk;
          }
        } catch (e) {
          if (e instanceof InputError || !retriableError(e) || ++failures >= retry.attempts) {
            if (e instanceof InputError) throw e;
            throw this.#error(`cannot fetch blob ${blob.digest}: ${(e as Error).message}`, e);
          }
          await retry.sleep(backoff(retry, failures));
          continue;
        }
        if (got < blob.size) {
          throw this.#error(
            `blob ${blob.digest} does not match its digest (the registry sent ${got} bytes, its descriptor says ${blob.size})`,
          );
        }
        if (blob.size === 0) this.#check(hash);
        break;
      }
      done = true;
    } finally {
      file?.close();
      if (part && final) {
        if (done) {
          await Deno.rename(part, final);
          this.#local = final;
        } else await Deno.remove(part).catch(() => {});
      }
    }
  }

  #check(hash: ReturnType<typeof createHash>): void {
    const digest = "sha256:" + hash.digest("hex");
    if (digest !== this.#blob.digest) {
      throw this.#error(
        `blob ${this.#blob.digest} does not match its digest (the registry sent ${this.#blob.size} bytes hashing to ${digest})`,
      );
    }
  }

  /** `length` bytes at `offset`: a Range request (a file of an uncompressed layer). */
  async *#range(offset: number, length: number): AsyncGenerator<Uint8Array> {
    if (length === 0) return;
    let at = offset;
    const end = offset + length;
    let failures = 0;
    const retry = { ...DEFAULT_RETRY, ...this.#ctx.client.retryPolicy };
    while (at < end) {
      const response = await this.#get({ range: `bytes=${at}-${end - 1}` }, [200, 206]);
      // 200: the registry sends the whole blob; skip to the range.
      let drop = response.status === 200 ? at : 0;
      const reader = (response.body ?? new ReadableStream<Uint8Array>()).getReader();
      try {
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          let chunk = r.value;
          if (drop) {
            const k = Math.min(drop, chunk.length);
            drop -= k;
            chunk = chunk.subarray(k);
          }
          if (chunk.length > end - at) chunk = chunk.subarray(0, end - at);
          if (!chunk.length) continue;
          at += chunk.length;
          yield chunk;
          if (at >= end) break;
        }
      } catch (e) {
        if (!retriableError(e) || ++failures >= retry.attempts) {
          throw this.#error(`cannot fetch blob ${this.#blob.digest}: ${(e as Error).message}`, e);
        }
        await retry.sleep(backoff(retry, failures));
        continue;
      } finally {
        await reader.cancel().catch(() => {});
      }
      if (at < end) {
        throw this.#error(
          `blob ${this.#blob.digest} ended at byte ${at}, before the ${end} its descriptor promises`,
        );
      }
    }
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * A stream of chunks that can also skip: skipped bytes are read and dropped (a network stream
 * has nothing to seek), so a whole blob is still hashed to its end. Like the reader's FileRange,
 * iterating again continues where the last iteration stopped (the reader drains a layer after
 * the tar reader let go of it): leaving a loop keeps the download open, and `live` closes what
 * is left when the input closes.
 */
class ChunkSource implements TarSource {
  #it: AsyncGenerator<Uint8Array>;
  #pending: Uint8Array | null = null;
  #live: Set<ChunkSource>;

  constructor(it: AsyncGenerator<Uint8Array>, live: Set<ChunkSource>) {
    this.#it = it;
    this.#live = live;
    live.add(this);
  }

  /** Ends the download (the input is closing). */
  async close(): Promise<void> {
    this.#live.delete(this);
    await this.#it.return(undefined).catch(() => {});
  }

  async #pull(): Promise<Uint8Array | null> {
    const p = this.#pending;
    if (p) {
      this.#pending = null;
      return p;
    }
    let r: IteratorResult<Uint8Array>;
    try {
      r = await this.#it.next();
    } catch (e) {
      this.#live.delete(this);
      throw e;
    }
    if (r.done) this.#live.delete(this);
    return r.done ? null : r.value;
  }

  async skip(n: number): Promise<number> {
    let k = 0;
    while (k < n) {
      const chunk = await this.#pull();
      if (!chunk) break;
      if (chunk.length > n - k) {
        this.#pending = chunk.subarray(n - k);
        k = n;
      } else k += chunk.length;
    }
    return k;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async () => {
        const chunk = await this.#pull();
        return chunk ? { done: false, value: chunk } : { done: true, value: undefined };
      },
      // Leaving a loop early keeps the stream: iterating again continues it.
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }
}

async function writeAll(file: Deno.FsFile, chunk: Uint8Array): Promise<void> {
  let done = 0;
  while (done < chunk.length) done += await file.write(chunk.subarray(done));
}

/** `--platform`'s text, parsed. @throws {RegistryError} for another shape. */
function wantedPlatform(text: string): Platform {
  try {
    return parsePlatform(text);
  } catch (e) {
    throw new RegistryError((e as Error).message, { cause: e });
  }
}
