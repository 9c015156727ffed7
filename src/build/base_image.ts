/**
 * `base_image`: an image pinned by digest whose layers go, byte for byte, below r10e's own. Its
 * manifests, configs and layers are fetched once into a cache keyed by digest
 * (`$XDG_CACHE_HOME/r10e/blobs/sha256/<hex>`), checked against their digest on every read, so
 * a build works offline once they are there; the platform's manifest is picked from the base's
 * index, and its config's Env, User, WorkingDir, Entrypoint and Cmd are the image's defaults.
 *
 * `pickPlatform` and `baseDefaults` are pure; `loadBaseImage` reads the cache and the registry.
 *
 * @module
 */
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { Sha256 } from "../image/digest.ts";
import { MediaType, type RuntimeConfig } from "../image/writer.ts";
import { formatPlatform, type Platform, readPlatform } from "../image/platform.ts";
import { type ClientOptions, RegistryClient } from "../registry/client.ts";
import { type Descriptor, readDocument } from "../registry/media.ts";
import { fetchManifest } from "../registry/pull.ts";
import { readTar } from "../tar/reader.ts";
import { decompress } from "../image/reader.ts";
import { type GoBuildInfo, readGoBuildInfo } from "../gobinary/go_binary.ts";
import { fileRandomAccess } from "../gobinary/random_access.ts";
import { hashFile } from "../sbom/file_hash.ts";
import { registerTemporary, removeTemporary } from "../signals.ts";
import { replaceAtomically } from "../atomic_write.ts";
import { formatName, type Reference } from "../registry/reference.ts";
import { parseBaseImage } from "../config/schema.ts";

/** A layer of the base, as its manifest names it, with its uncompressed digest from the config. */
export interface BaseLayer {
  /** The OCI media type (Docker's are written as their OCI equivalents: the same bytes). */
  mediaType: string;
  digest: string;
  size: number;
  diffId: string;
  /** The blob's bytes from the cache, checked against `digest` as the last byte goes by. */
  read: () => AsyncIterable<Uint8Array>;
}

/** The base image of one platform. */
export interface BaseImage {
  /** `host/repo`, the annotation `org.opencontainers.image.base.name`. */
  name: string;
  /** The pinned digest (of the index or manifest), `org.opencontainers.image.base.digest`. */
  digest: string;
  /** The platform's own manifest digest. */
  manifestDigest: string;
  layers: BaseLayer[];
  /** The runtime fields the config's own override. */
  defaults: Partial<Pick<RuntimeConfig, "Env" | "User" | "WorkingDir" | "Entrypoint" | "Cmd">>;
  /** The base config's history, kept as it is before r10e's entries. */
  history: Record<string, unknown>[];
}

/** An index or manifest document as JSON. */
type Json = Record<string, unknown>;

/** A zstd layer (OCI image spec 1.1), kept as it is: engines since Docker 23 and containerd 1.5 read it. */
const LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";

const DOCKER_LAYER_TYPES: Record<string, string> = {
  "application/vnd.docker.image.rootfs.diff.tar.gzip": MediaType.layerGzip,
  "application/vnd.oci.image.layer.v1.tar+gzip": MediaType.layerGzip,
  "application/vnd.oci.image.layer.v1.tar": MediaType.layer,
  [LAYER_ZSTD]: LAYER_ZSTD,
  "application/vnd.docker.image.rootfs.diff.tar.zstd": LAYER_ZSTD,
};

/** Media types of an index whose entries may be indexes in turn (a nested index). */
const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

/** How deep indexes may nest, and how many a base may hold in all (each is a fetch). */
const NESTED_MAX = { depth: 8, indexes: 64 } as const;

/** What one index offers for a platform: its manifest, the platforms it has, the indexes nested in it. */
export interface IndexScan {
  match: Descriptor | null;
  offered: string[];
  nested: Descriptor[];
}

/** Looks through one index's entries for `platform`'s manifest. Pure. */
export function scanIndex(index: Json, platform: Platform): IndexScan {
  const want = formatPlatform(platform);
  const out: IndexScan = { match: null, offered: [], nested: [] };
  for (const m of (Array.isArray(index.manifests) ? index.manifests : []) as Json[]) {
    const descriptor = {
      mediaType: String(m.mediaType),
      digest: String(m.digest),
      size: Number(m.size),
    };
    // An index in an index: its own entries say which platforms it has.
    if (INDEX_TYPES.has(descriptor.mediaType)) {
      out.nested.push(descriptor);
      continue;
    }
    const p = readPlatform(m.platform);
    if (!p) continue;
    // BuildKit's attestations claim "unknown/unknown".
    if (p.os === "unknown") continue;
    const text = formatPlatform(p);
    out.offered.push(text);
    // arm64's variant v8 is the default: "linux/arm64" and "linux/arm64/v8" are the same.
    const norm = (s: string) => s.replace(/^linux\/arm64\/v8$/, "linux/arm64");
    if (out.match === null && norm(text) === norm(want)) out.match = descriptor;
  }
  return out;
}

/** The error for a platform no index of the base has. */
function noPlatform(name: string, platform: Platform, offered: string[]): ConfigError {
  return new ConfigError(
    `Cannot use base_image "${name}": it has no image for platform "${
      formatPlatform(platform)
    }" (it has ${
      offered.length ? offered.map((o) => `"${o}"`).join(", ") : "none with a platform"
    })`,
  );
}

/**
 * The descriptor of `platform`'s manifest in an index, or null when the document is a manifest
 * (its config says which platform it is for). Pure: an index nested in it is not looked into.
 * @throws {ConfigError} naming the platform when the index has none for it.
 */
export function pickPlatform(
  index: Json,
  platform: Platform,
  name: string,
): Descriptor | null {
  if (!Array.isArray(index.manifests)) return null;
  const scan = scanIndex(index, platform);
  if (scan.match) return scan.match;
  throw noPlatform(name, platform, scan.offered);
}

/**
 * `platform`'s manifest in the base's index, looking into nested indexes breadth first (the
 * first match at the shallowest level wins, in index order), or null for a manifest.
 * @throws {ConfigError} naming the platform and every platform found, or too deep a nesting
 */
async function findPlatform(
  top: Json,
  platform: Platform,
  name: string,
  fetchIndex: (d: Descriptor) => Promise<Json>,
): Promise<Descriptor | null> {
  if (!Array.isArray(top.manifests)) return null;
  const offered: string[] = [];
  let level: Json[] = [top];
  let fetched = 0;
  for (let depth = 0; level.length; depth++) {
    const next: Descriptor[] = [];
    for (const index of level) {
      const scan = scanIndex(index, platform);
      if (scan.match) return scan.match;
      offered.push(...scan.offered);
      next.push(...scan.nested);
    }
    if (
      next.length && (depth + 1 >= NESTED_MAX.depth || fetched + next.length > NESTED_MAX.indexes)
    ) {
      throw new ConfigError(
        `Cannot use base_image "${name}": its indexes nest deeper than ${NESTED_MAX.depth} levels or number more than ${NESTED_MAX.indexes}`,
      );
    }
    fetched += next.length;
    level = [];
    for (const d of next) level.push(await fetchIndex(d));
  }
  throw noPlatform(name, platform, [...new Set(offered)]);
}

/** The runtime defaults of a base config (`config` of the image config). */
export function baseDefaults(config: Json): BaseImage["defaults"] {
  const c = (config.config ?? {}) as Json;
  const strings = (v: unknown) =>
    Array.isArray(v) && v.every((s) => typeof s === "string") ? v as string[] : undefined;
  const text = (v: unknown) => typeof v === "string" && v !== "" ? v : undefined;
  const out: BaseImage["defaults"] = {};
  const env = strings(c.Env);
  if (env) out.Env = env;
  if (text(c.User)) out.User = text(c.User);
  if (text(c.WorkingDir)) out.WorkingDir = text(c.WorkingDir);
  if (strings(c.Entrypoint)) out.Entrypoint = strings(c.Entrypoint);
  if (strings(c.Cmd)) out.Cmd = strings(c.Cmd);
  return out;
}

/**
 * The image config's runtime fields with the base's as defaults: the config's Env replaces a
 * base variable of the same name (the base's order kept, new ones after it in name order); its
 * Entrypoint, Cmd, WorkingDir and User replace the base's. A configured Entrypoint drops the
 * base's Cmd, as a Dockerfile's ENTRYPOINT does.
 */
export function mergeRuntime(
  base: BaseImage["defaults"],
  own: RuntimeConfig,
  configured: { env: Record<string, string>; entrypoint: boolean; cmd: boolean },
): RuntimeConfig {
  const env = [...(base.Env ?? [])];
  const nameOf = (kv: string) => kv.slice(0, kv.indexOf("=") >>> 0);
  for (const key of Object.keys(configured.env).sort()) {
    const kv = `${key}=${configured.env[key]}`;
    const at = env.findIndex((e) => nameOf(e) === key);
    if (at >= 0) env[at] = kv;
    else env.push(kv);
  }
  // r10e's default PATH only when neither the base nor the config sets one.
  if (!env.some((e) => nameOf(e) === "PATH")) {
    const path = own.Env.find((e) => nameOf(e) === "PATH");
    if (path) env.unshift(path);
  }
  const out: RuntimeConfig = { ...own, Env: env };
  const entrypoint = configured.entrypoint ? own.Entrypoint : base.Entrypoint;
  const cmd = configured.cmd ? own.Cmd : configured.entrypoint ? undefined : base.Cmd;
  delete out.Entrypoint;
  delete out.Cmd;
  if (entrypoint) out.Entrypoint = entrypoint;
  if (cmd) out.Cmd = cmd;
  if (!out.WorkingDir && base.WorkingDir) out.WorkingDir = base.WorkingDir;
  if (!out.User && base.User) out.User = base.User;
  return sortKeys(out);
}

function sortKeys<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))) as T;
}

/** A non-directory the base's layers leave: a file with its digests, or a link. */
export interface BaseEntry {
  kind: "file" | "symlink" | "hardlink" | "other";
  size: number;
  /** Of a file's content (a hardlink's target's). */
  sha256?: string;
  sha1?: string;
  /** A Go executable's build info (its modules go into the SBOMs, as `r10e sbom` finds them). */
  info?: GoBuildInfo;
  /** A symlink's target, as the layer wrote it. */
  target?: string;
}

/** Symlinks followed at most, as Linux's path walk (ELOOP after 40). */
const SYMLINK_HOPS = 40;

/**
 * The file `path` leads to in the base, through symlinks anywhere in it (a symlinked directory
 * such as a merged-/usr base's `/lib64` → `usr/lib64`, absolute or relative targets, `..` stopping
 * at the root), or null when it leads to no file or loops. Pure.
 */
export function resolveInTree(tree: ReadonlyMap<string, BaseEntry>, path: string): string | null {
  let parts = path.split("/").filter((p) => p !== "" && p !== ".");
  let hops = 0;
  for (let i = 0; i < parts.length; i++) {
    const entry = tree.get("/" + parts.slice(0, i + 1).join("/"));
    if (entry?.kind !== "symlink" || entry.target === undefined) continue;
    if (++hops > SYMLINK_HOPS) return null;
    const from = entry.target.startsWith("/") ? [] : parts.slice(0, i);
    const joined = [...from, ...entry.target.split("/"), ...parts.slice(i + 1)];
    parts = [];
    for (const p of joined) {
      if (p === "" || p === ".") continue;
      if (p === "..") parts.pop();
      else parts.push(p);
    }
    // The resolved prefix holds no symlink: walking it again costs a few lookups.
    i = -1;
  }
  const final = "/" + parts.join("/");
  return tree.get(final)?.kind === "file" ? final : null;
}

/** Options of `baseTree`. */
export interface BaseTreeOptions {
  /** Parent of the spool folder for executables whose Go build info is read (default: the system one). */
  tempDir?: string;
}

/**
 * Hashes one file of a base layer; an executable is spooled on the way and its Go build info
 * read, then the spooled copy removed (one executable on disk at a time). Malformed headers or
 * build info leave the modules out, as `r10e sbom` does.
 */
async function hashBaseFile(
  body: AsyncIterable<Uint8Array>,
  spoolFile: () => Promise<string>,
): Promise<{ sha256: string; sha1: string; info?: GoBuildInfo }> {
  const { sha256, sha1, spooled: name } = await hashFile(body, { spoolTo: spoolFile });
  const hashes = { sha256, sha1 };
  if (name === null) return hashes;
  try {
    using file = await Deno.open(name);
    const info = await readGoBuildInfo(fileRandomAccess(file, (await file.stat()).size));
    return info ? { ...hashes, info } : hashes;
  } catch {
    return hashes;
  } finally {
    await Deno.remove(name).catch(() => {});
  }
}

/**
 * What the base's layers leave, by absolute path, whiteouts applied (directories left out): for
 * the audit (a dynamic executable may run where the base provides its loader and libraries) and
 * the SBOMs (the base's files are files of the image). Reads every layer once, checked against
 * its digest; memory grows with the number of files, not their size.
 */
export async function baseTree(
  layers: readonly BaseLayer[],
  options: BaseTreeOptions = {},
): Promise<Map<string, BaseEntry>> {
  let spool: string | null = null;
  let spooled = 0;
  const spoolFile = async () => {
    if (spool === null) {
      spool = await Deno.makeTempDir({ dir: options.tempDir, prefix: "r10e-base-" });
      registerTemporary(spool);
    }
    return `${spool}/${spooled++}`;
  };
  try {
    return await readBaseTree(layers, spoolFile);
  } finally {
    if (spool !== null) await removeTemporary(spool);
  }
}

async function readBaseTree(
  layers: readonly BaseLayer[],
  spoolFile: () => Promise<string>,
): Promise<Map<string, BaseEntry>> {
  const tree = new Map<string, BaseEntry>();
  for (const layer of layers) {
    // Reading only: the bytes written are the blob's own, whatever this decompressor does. The
    // reader's decompressor takes every gzip member (DecompressionStream stops after the first)
    // and zstd, fed so that memory stays bounded.
    const compression = layer.mediaType === MediaType.layerGzip
      ? "gzip"
      : layer.mediaType === LAYER_ZSTD
      ? "zstd"
      : "none";
    try {
      await readLayerInto(tree, layer, compression, spoolFile);
    } catch (error) {
      // A changed blob is named as such: its digest is checked at its end, which a decompressor
      // that fails on the damage first (a gzip trailer's length) never reaches.
      for await (const _ of layer.read()) { /* throws when the blob is not its digest */ }
      throw error;
    }
  }
  return tree;
}

/** Applies one base layer's entries to `tree`: files hashed (Go binaries read), whiteouts applied. */
async function readLayerInto(
  tree: Map<string, BaseEntry>,
  layer: BaseLayer,
  compression: "gzip" | "zstd" | "none",
  spoolFile: () => Promise<string>,
): Promise<void> {
  const abs = (n: string) => "/" + n.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
  const stream = ReadableStream.from(decompress(layer.read(), compression));
  for await (const { header, body } of readTar(stream, { label: `base layer ${layer.digest}` })) {
    const name = abs(header.name);
    const base = name.slice(name.lastIndexOf("/") + 1);
    const dir = name.slice(0, name.lastIndexOf("/") + 1);
    if (header.kind === "file") {
      if (!base.startsWith(".wh.")) {
        tree.set(name, { kind: "file", size: header.size, ...await hashBaseFile(body, spoolFile) });
        continue;
      }
      for await (const _ of body) { /* a whiteout marker has no content */ }
    } else {
      for await (const _ of body) { /* nothing but files has content */ }
    }
    if (base === ".wh..wh..opq") {
      for (const p of [...tree.keys()]) if (p.startsWith(dir)) tree.delete(p);
    } else if (base.startsWith(".wh.")) {
      const gone = dir + base.slice(4);
      for (const p of [...tree.keys()]) {
        if (p === gone || p.startsWith(gone + "/")) tree.delete(p);
      }
    } else if (header.kind === "hardlink") {
      // A hardlink takes its target's content as it stands.
      const target = tree.get(abs(header.linkname));
      tree.set(name, target?.kind === "file" ? { ...target } : { kind: "hardlink", size: 0 });
    } else if (header.kind === "symlink") {
      tree.set(name, { kind: "symlink", size: 0, target: header.linkname });
    } else if (header.kind !== "dir") {
      tree.set(name, { kind: "other", size: 0 });
    } else {
      // A directory replaces a non-directory of a lower layer.
      if (tree.get(name)) tree.delete(name);
    }
  }
}

/**
 * The digest a tag of `base_image` names now, as `host/repo@sha256:…` (for `init`).
 * @throws {ConfigError} for a reference r10e cannot read; RegistryError when it cannot ask.
 */
export async function pinBaseImage(text: string, options: ClientOptions): Promise<string> {
  const ref = parseBaseImage(text);
  if (typeof ref === "string") throw new ConfigError(`Cannot use base_image: ${ref}`);
  if (ref.digest) return `${formatName(ref)}@${ref.digest}`;
  const client = new RegistryClient(ref.registry, options);
  try {
    const top = await fetchManifest(client, ref, ref.tag ?? "latest", [
      `repository:${ref.repository}:pull`,
    ]);
    return `${formatName(ref)}@${top.descriptor.digest}`;
  } finally {
    client.close();
  }
}

/**
 * The base image reference a build uses: config.json's when pinned there, else the digest
 * `init` pinned for its tag.
 */
export function effectiveBaseImage(
  configured: string | undefined,
  pinned: { requested: string; pinned: string } | undefined,
): string | undefined {
  if (configured === undefined) return undefined;
  if (pinned && pinned.requested === configured) return pinned.pinned;
  return configured;
}

/** What is wrong between config.json's base_image and pins.json, or null (for `checkPins`). */
export function checkBaseImagePin(
  configured: string | undefined,
  pinned: { requested: string; pinned: string } | undefined,
  file: string,
): string | null {
  const byTag = configured !== undefined && !configured.includes("@sha256:");
  if (!byTag && pinned === undefined) return null;
  if (byTag && pinned?.requested === configured) return null;
  if (!byTag) {
    return `config.json ${
      configured ? "pins base_image by digest" : "has no base_image"
    } but "${file}" pins base_image "${pinned!.requested}"`;
  }
  return `config.json asks for base_image "${configured}" but "${file}" ${
    pinned ? `pinned "${pinned.requested}"` : "pins no base image"
  }`;
}

/** Options of `loadBaseImage`. */
export interface LoadBaseOptions extends ClientOptions {
  /** The cache directory, `$XDG_CACHE_HOME/r10e` (default `~/.cache/r10e`). */
  cacheDir: string;
  onProgress?: (message: string) => void;
}

/**
 * The base image of every platform, from the cache, fetching what is missing.
 * @throws {ConfigError} for a reference that is not pinned, a platform the base lacks, or a
 * blob that does not match its digest.
 */
export async function loadBaseImage(
  text: string,
  platforms: Platform[],
  options: LoadBaseOptions,
): Promise<BaseImage[]> {
  const ref = parseBaseImage(text);
  if (typeof ref === "string") throw new ConfigError(`Cannot use base_image: ${ref}`);
  if (!ref.digest) {
    throw new ConfigError(
      `Cannot use base_image "${text}": it is not pinned by digest; run \`r10e init\` to pin it`,
    );
  }
  const store = new BlobStore(ref, options);
  try {
    const name = formatName(ref);
    const top = await store.manifest(ref.digest!);
    const out: BaseImage[] = [];
    for (const platform of platforms) {
      const picked = await findPlatform(
        top.json,
        platform,
        text,
        async (d) => (await store.manifest(d.digest, d)).json,
      );
      const manifest = picked ? await store.manifest(picked.digest, picked) : top;
      const doc = readDocument(manifest.bytes, `manifest ${manifest.digest} of "${text}"`);
      if (doc.kind !== "manifest") {
        throw new ConfigError(`Cannot use base_image "${text}": ${manifest.digest} is no image`);
      }
      const [configDesc, ...layers] = doc.children;
      const config = JSON.parse(new TextDecoder().decode(await store.small(configDesc))) as Json;
      if (!picked) {
        const has = readPlatform(config);
        if (!has || formatPlatform(has) !== formatPlatform(platform)) {
          throw new ConfigError(
            `Cannot use base_image "${text}": it is an image for platform "${
              has ? formatPlatform(has) : "unknown"
            }", not for platform "${formatPlatform(platform)}"`,
          );
        }
      }
      const diffIds = ((config.rootfs as Json)?.diff_ids ?? []) as string[];
      if (diffIds.length !== layers.length) {
        throw new ConfigError(
          `Cannot use base_image "${text}": its config has ${diffIds.length} diff_ids for ${layers.length} layers`,
        );
      }
      const based: BaseLayer[] = [];
      for (const [i, layer] of layers.entries()) {
        const mediaType = DOCKER_LAYER_TYPES[layer.mediaType];
        if (!mediaType) {
          throw new ConfigError(
            `Cannot use base_image "${text}": layer ${layer.digest} is of type "${layer.mediaType}" (expected a tar, or a gzip or zstd tar)`,
          );
        }
        await store.ensure(layer);
        based.push({
          mediaType,
          digest: layer.digest,
          size: layer.size,
          diffId: diffIds[i],
          read: () => store.read(layer),
        });
      }
      out.push({
        name,
        digest: ref.digest!,
        manifestDigest: manifest.digest,
        layers: based,
        defaults: baseDefaults(config),
        history: Array.isArray(config.history) ? config.history as Json[] : [],
      });
    }
    return out;
  } finally {
    store.close();
  }
}

/** Blobs and manifests by digest in the cache, fetched from the base's registry when missing. */
class BlobStore {
  #ref: Reference;
  #options: LoadBaseOptions;
  #client: RegistryClient | null = null;
  #dir: string;

  constructor(ref: Reference, options: LoadBaseOptions) {
    this.#ref = ref;
    this.#options = options;
    this.#dir = join(options.cacheDir, "blobs", "sha256");
  }

  close(): void {
    this.#client?.close();
  }

  #path(digest: string): string {
    return join(this.#dir, digest.slice("sha256:".length));
  }

  #registry(): RegistryClient {
    this.#client ??= new RegistryClient(this.#ref.registry, this.#options);
    return this.#client;
  }

  /** A manifest or index by digest, checked. */
  async manifest(
    digest: string,
    expected?: Descriptor,
  ): Promise<{ digest: string; bytes: Uint8Array; json: Json }> {
    let bytes = await this.#cached(digest);
    if (!bytes) {
      this.#options.onProgress?.(`Fetching base image manifest ${digest}`);
      const got = await fetchManifest(
        this.#registry(),
        this.#ref,
        digest,
        [`repository:${this.#ref.repository}:pull`],
        expected,
      );
      bytes = got.bytes;
      await this.#store(digest, ReadableStream.from([bytes]));
    }
    return { digest, bytes, json: JSON.parse(new TextDecoder().decode(bytes)) };
  }

  /** A small blob (a config) whole, checked. */
  async small(d: Descriptor): Promise<Uint8Array> {
    await this.ensure(d);
    return (await this.#cached(d.digest))!;
  }

  /** Fetches a blob into the cache unless it is there (and whole). */
  async ensure(d: Descriptor): Promise<void> {
    const have = await Deno.stat(this.#path(d.digest)).catch(() => null);
    if (have?.size === d.size) return;
    this.#options.onProgress?.(`Fetching base image blob ${d.digest} (${d.size} bytes)`);
    const response = await this.#registry().request(
      "GET",
      `/v2/${this.#ref.repository}/blobs/${d.digest}`,
      {
        scopes: [`repository:${this.#ref.repository}:pull`],
        expect: [200],
        what: `fetch blob ${d.digest} of "${this.#ref.repository}"`,
      },
    );
    if (!response.body) throw new ConfigError(`Cannot fetch base blob ${d.digest}: no body`);
    await this.#store(d.digest, response.body, d.size);
  }

  /** Reads a cached blob, checking its digest and size as the last byte goes by. */
  async *read(d: Descriptor): AsyncGenerator<Uint8Array> {
    const hash = new Sha256();
    // The stream closes the file at its end or when the reader stops early.
    const file = await Deno.open(this.#path(d.digest));
    for await (const chunk of file.readable) {
      hash.update(chunk);
      yield chunk;
    }
    const got = `sha256:${hash.hex()}`;
    if (got !== d.digest || hash.size !== d.size) {
      throw new ConfigError(
        `Cannot use base_image blob ${d.digest}: the cached file "${
          this.#path(d.digest)
        }" has ${got} (${hash.size} bytes); remove it to fetch it again`,
      );
    }
  }

  async #cached(digest: string): Promise<Uint8Array | null> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.#path(digest));
    } catch {
      return null;
    }
    const hash = new Sha256();
    hash.update(bytes);
    const got = `sha256:${hash.hex()}`;
    if (got !== digest) {
      throw new ConfigError(
        `Cannot use base_image blob ${digest}: the cached file "${
          this.#path(digest)
        }" has ${got}; remove it to fetch it again`,
      );
    }
    return bytes;
  }

  /** Writes a blob to a temporary file, checks its digest, then renames it into place. */
  async #store(
    digest: string,
    source: ReadableStream<Uint8Array>,
    size?: number,
  ): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true });
    const hash = new Sha256();
    // An interrupt (Ctrl-C) removes a half-fetched blob too (the temporary is registered).
    await replaceAtomically(this.#path(digest), "build", async (tmp) => {
      {
        using file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
        for await (const chunk of source) {
          hash.update(chunk);
          let off = 0;
          while (off < chunk.length) off += await file.write(chunk.subarray(off));
        }
      }
      const got = `sha256:${hash.hex()}`;
      if (got !== digest || (size !== undefined && hash.size !== size)) {
        throw new ConfigError(
          `Cannot use base_image "${
            formatName(this.#ref)
          }": the registry sent ${got} (${hash.size} bytes) for blob ${digest}`,
        );
      }
    });
  }
}
