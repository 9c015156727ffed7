/**
 * Test helpers that make image inputs byte by byte: raw layer tars (any entry type, any name,
 * hostile ones included) and image archives around them in each layout the reader accepts
 * (OCI layout with nested multi-platform index, docker-archive before and after Docker 25),
 * as a plain tar, gzip, zstd or a directory. Used by the reader, merged filesystem and cp tests.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { concatBytes as concat } from "../src/bytes.ts";
import { type TarEntry, writeTar } from "../src/tar/writer.ts";

const encoder = new TextEncoder();

/** One raw entry of a layer. */
export interface RawEntry {
  name: string;
  type?: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";
  mode?: number;
  content?: string | Uint8Array;
  linkname?: string;
  mtime?: number;
  uid?: number;
  gid?: number;
  /** A PAX `x` record set to write before the header (e.g. long names). */
  pax?: Record<string, string>;
}

const TYPEFLAG = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
} as const;

function octal(b: Uint8Array, at: number, len: number, n: number): void {
  b.set(encoder.encode(n.toString(8).padStart(len - 1, "0")), at);
}

function header(
  name: string,
  typeflag: string,
  size: number,
  e: Pick<RawEntry, "mode" | "linkname" | "mtime" | "uid" | "gid">,
): Uint8Array {
  const b = new Uint8Array(512);
  const n = encoder.encode(name);
  if (n.length > 100) throw new RangeError(`name too long for a raw header: ${name}`);
  b.set(n, 0);
  octal(b, 100, 8, e.mode ?? 0o644);
  octal(b, 108, 8, e.uid ?? 0);
  octal(b, 116, 8, e.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, e.mtime ?? 1700000000);
  b.fill(0x20, 148, 156);
  b[156] = typeflag.charCodeAt(0);
  b.set(encoder.encode(e.linkname ?? ""), 157);
  b.set(encoder.encode("ustar\0" + "00"), 257);
  let sum = 0;
  for (const x of b) sum += x;
  b.set(encoder.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return b;
}

function paxBody(records: Record<string, string>): Uint8Array {
  let s = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    const restLen = encoder.encode(rest).length;
    let len = restLen + String(restLen).length;
    if (String(len).length + restLen !== len) len = restLen + String(len).length;
    s += `${len}${rest}`;
  }
  return encoder.encode(s);
}

/** A layer tar from raw entries, written as given (no sorting, no checks). */
export function rawTar(entries: RawEntry[], options: { end?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const pad = (n: number) => parts.push(new Uint8Array((512 - (n % 512)) % 512));
  for (const e of entries) {
    const type = e.type ?? "file";
    const content = typeof e.content === "string"
      ? encoder.encode(e.content)
      : e.content ?? new Uint8Array(0);
    if (e.pax) {
      const body = paxBody(e.pax);
      parts.push(header("PaxHeaders/x", "x", body.length, {}), body);
      pad(body.length);
    }
    const size = type === "file" ? content.length : 0;
    const name = e.pax?.path ? "placeholder" : e.name;
    parts.push(header(name, TYPEFLAG[type], size, e));
    if (size) {
      parts.push(content);
      pad(size);
    }
  }
  if (options.end ?? true) parts.push(new Uint8Array(1024));
  return concat(parts);
}

/** Concatenates byte arrays. */
export { concat };

/** sha256 hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** How to package the layers. */
export interface TestImageOptions {
  /** `oci` (index.json + manifest.json, like Docker 25+), `docker-legacy` (`<id>/layer.tar`, like Docker before 25), `oci-only`. */
  layout?: "oci" | "oci-only" | "docker-legacy";
  /** Outer packaging. */
  outer?: "tar" | "gzip" | "zstd" | "dir";
  /** Compression of each layer blob. */
  layerCompression?: "none" | "gzip" | "zstd";
  /** Several platforms under a nested index; each gets the same layers. */
  platforms?: string[];
  /** Wrong diff_ids in the config (to test the check). */
  badDiffId?: number;
  /** Entries (outer names) to leave out, e.g. a layer blob. */
  omit?: (name: string) => boolean;
  /** Duplicate the last layer as a symlink in docker-legacy layout. */
  symlinkLastLayer?: boolean;
}

/** What was written, to compare with what the reader finds. */
export interface TestImage {
  path: string;
  diffIds: string[];
  layerDigests: string[];
  configDigests: string[];
  manifestDigests: string[];
  /** Outer entry names in order. */
  names: string[];
}

function compress(bytes: Uint8Array, how: "none" | "gzip" | "zstd"): Uint8Array {
  if (how === "gzip") return new Uint8Array(gzipSync(bytes));
  if (how === "zstd") return new Uint8Array(zstdCompressSync(bytes));
  return bytes;
}

function json(v: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(v));
}

/** Writes an image archive (or directory) at `path` holding `layers` (uncompressed tars, base first). */
export async function writeTestImage(
  path: string,
  layers: Uint8Array[],
  options: TestImageOptions = {},
): Promise<TestImage> {
  const layout = options.layout ?? "oci";
  const files = new Map<string, Uint8Array | string>(); // string = symlink target
  const diffIds = layers.map((l) => "sha256:" + sha256(l));
  const blobs = layers.map((l) => compress(l, options.layerCompression ?? "none"));
  const layerDigests = blobs.map((b) => "sha256:" + sha256(b));
  const platforms = options.platforms ?? ["linux/amd64"];
  const configDigests: string[] = [];
  const manifestDigests: string[] = [];
  const manifestDescs: unknown[] = [];
  const dockerManifest: unknown[] = [];
  const layerMedia = options.layerCompression === "gzip"
    ? "application/vnd.oci.image.layer.v1.tar+gzip"
    : options.layerCompression === "zstd"
    ? "application/vnd.oci.image.layer.v1.tar+zstd"
    : "application/vnd.oci.image.layer.v1.tar";
  for (const platform of platforms) {
    const [os, architecture, variant] = platform.split("/");
    const config = json({
      architecture,
      os,
      ...(variant ? { variant } : {}),
      config: { Env: ["PATH=/bin"] },
      rootfs: {
        type: "layers",
        diff_ids: diffIds.map((d, i) => i === options.badDiffId ? "sha256:" + "0".repeat(64) : d),
      },
    });
    const configHex = sha256(config);
    configDigests.push("sha256:" + configHex);
    if (layout === "docker-legacy") {
      files.set(`${configHex}.json`, config);
      const layerPaths = blobs.map((b, i) => {
        const id = sha256(encoder.encode(`layer ${i} ${platform}`));
        const last = i === blobs.length - 1;
        if (last && options.symlinkLastLayer && i > 0) {
          const prev = sha256(encoder.encode(`layer ${i - 1} ${platform}`));
          files.set(`${id}/layer.tar`, `../${prev}/layer.tar`);
        } else {
          files.set(`${id}/layer.tar`, b);
        }
        files.set(`${id}/VERSION`, encoder.encode("1.0"));
        return `${id}/layer.tar`;
      });
      dockerManifest.push({
        Config: `${configHex}.json`,
        RepoTags: ["t:latest"],
        Layers: layerPaths,
      });
      continue;
    }
    files.set(`blobs/sha256/${configHex}`, config);
    blobs.forEach((b, i) => files.set(`blobs/sha256/${layerDigests[i].slice(7)}`, b));
    const manifest = json({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: "sha256:" + configHex,
        size: config.length,
      },
      layers: blobs.map((b, i) => ({
        mediaType: layerMedia,
        digest: layerDigests[i],
        size: b.length,
      })),
    });
    const manifestHex = sha256(manifest);
    manifestDigests.push("sha256:" + manifestHex);
    files.set(`blobs/sha256/${manifestHex}`, manifest);
    manifestDescs.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:" + manifestHex,
      size: manifest.length,
      platform: { os, architecture, ...(variant ? { variant } : {}) },
    });
    dockerManifest.push({
      Config: `blobs/sha256/${configHex}`,
      RepoTags: ["t:latest"],
      Layers: layerDigests.map((d) => `blobs/sha256/${d.slice(7)}`),
    });
  }
  if (layout !== "docker-legacy") {
    let index: unknown = { schemaVersion: 2, manifests: manifestDescs };
    if (platforms.length > 1) {
      // A nested index, as containerd's image store writes for multi-platform images.
      const inner = json({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: manifestDescs,
      });
      const innerHex = sha256(inner);
      files.set(`blobs/sha256/${innerHex}`, inner);
      index = {
        schemaVersion: 2,
        manifests: [{
          mediaType: "application/vnd.oci.image.index.v1+json",
          digest: "sha256:" + innerHex,
          size: inner.length,
        }],
      };
    }
    files.set("index.json", json(index));
    files.set("oci-layout", json({ imageLayoutVersion: "1.0.0" }));
  }
  if (layout !== "oci-only") files.set("manifest.json", json(dockerManifest));

  const names = [...files.keys()].filter((n) => !options.omit?.(n)).sort();
  if (options.outer === "dir") {
    for (const name of names) {
      const v = files.get(name)!;
      await Deno.mkdir(`${path}/${name.split("/").slice(0, -1).join("/")}`, { recursive: true });
      if (typeof v === "string") await Deno.symlink(v, `${path}/${name}`);
      else await Deno.writeFile(`${path}/${name}`, v);
    }
  } else {
    const dirs = new Set<string>();
    for (const n of names) {
      const parts = n.split("/");
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
    }
    const entries: TarEntry[] = [...dirs].map((d) => ({
      name: d,
      kind: "dir" as const,
      mode: 0o755,
      size: 0,
    }));
    for (const name of names) {
      const v = files.get(name)!;
      entries.push(
        typeof v === "string" ? { name, kind: "symlink", mode: 0o777, size: 0, linkTarget: v } : {
          name,
          kind: "file",
          mode: 0o644,
          size: v.length,
          content: async function* () {
            yield v;
          },
        },
      );
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const parts: Uint8Array[] = [];
    for await (const c of writeTar(entries, { mtime: 0 })) parts.push(c);
    const outer = options.outer ?? "tar";
    await Deno.writeFile(path, compress(concat(parts), outer === "tar" ? "none" : outer));
  }
  return { path, diffIds, layerDigests, configDigests, manifestDigests, names };
}

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

/** Output of one run of the real entry point. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

/** Runs `r10e …args` (src/main.ts) in `cwd` and captures its output. */
export async function runR10e(args: string[], cwd: string): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    stdoutBytes: out.stdout,
  };
}

/**
 * Every path under `dir` (symlinks not followed) with its type, mode, and content digest or
 * link target: compare two snapshots to see what a command wrote.
 */
export async function snapshot(
  dir: string,
  options: { mtime?: boolean } = {},
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    const names: string[] = [];
    for await (const d of Deno.readDir(rel ? `${dir}/${rel}` : dir)) names.push(d.name);
    names.sort();
    for (const name of names) {
      const p = rel ? `${rel}/${name}` : name;
      const st = await Deno.lstat(`${dir}/${p}`);
      const mode = (st.mode! & 0o7777).toString(8) +
        (options.mtime && !st.isSymlink ? ` @${st.mtime!.getTime() / 1000}` : "");
      if (st.isSymlink) out.set(p, `symlink -> ${await Deno.readLink(`${dir}/${p}`)}`);
      else if (st.isDirectory) {
        out.set(p, `dir ${mode}`);
        await walk(p);
      } else out.set(p, `file ${mode} ${sha256(await Deno.readFile(`${dir}/${p}`))}`);
    }
  };
  await walk("");
  return out;
}
