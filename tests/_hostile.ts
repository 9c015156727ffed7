/**
 * Helpers for the hostile-input tests of the reading side: raw tar headers with any
 * bytes in any field, outer archives written as concatenated gzip members (so that gigabytes of
 * zeros cost kilobytes to make and to store), image layouts around them, and a runner that
 * measures the peak RSS and the wall time of the real CLI.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { concatBytes as concat } from "../src/bytes.ts";

const encoder = new TextEncoder();
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** sha256 hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Bytes of a string, or the bytes themselves. */
function bytesOf(v: string | Uint8Array): Uint8Array {
  return typeof v === "string" ? encoder.encode(v) : v;
}

/** One tar header block, every field given as bytes (`name` may be any bytes up to 100). */
export function rawHeader(e: {
  name: string | Uint8Array;
  typeflag?: string;
  size?: number;
  /** The 12 bytes of the size field as written (e.g. GNU base-256), instead of `size`. */
  sizeField?: Uint8Array;
  mode?: number;
  linkname?: string | Uint8Array;
  mtime?: number;
}): Uint8Array {
  const b = new Uint8Array(512);
  const octal = (at: number, len: number, n: number) =>
    b.set(encoder.encode(n.toString(8).padStart(len - 1, "0")), at);
  const name = bytesOf(e.name);
  if (name.length > 100) throw new RangeError("name longer than 100 bytes: use a PAX record");
  b.set(name, 0);
  octal(100, 8, e.mode ?? 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  if (e.sizeField) b.set(e.sizeField, 124);
  else octal(124, 12, e.size ?? 0);
  octal(136, 12, e.mtime ?? 1700000000);
  b.fill(0x20, 148, 156);
  b[156] = (e.typeflag ?? "0").charCodeAt(0);
  if (e.linkname) b.set(bytesOf(e.linkname), 157);
  b.set(encoder.encode("ustar\u000000"), 257);
  let sum = 0;
  for (const x of b) sum += x;
  b.set(encoder.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return b;
}

/** A PAX `x` header and its records (values may be long: a 400 KB link target). */
export function paxHeader(records: Record<string, string>): Uint8Array {
  let body = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    const n = encoder.encode(rest).length;
    let len = n + String(n).length;
    if (String(len).length + n !== len) len = n + String(len).length;
    body += `${len}${rest}`;
  }
  const data = encoder.encode(body);
  return concat([rawHeader({ name: "PaxHeader", typeflag: "x", size: data.length }), padded(data)]);
}

/** Content padded to the block size. */
export function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

/** A tar of entries given as raw bytes (headers and padded content), ended by two zero blocks. */
export function tarOf(parts: Uint8Array[]): Uint8Array {
  return concat([...parts, new Uint8Array(1024)]);
}

/** A regular file entry: header and padded content. */
export function fileEntry(name: string | Uint8Array, content: string | Uint8Array): Uint8Array {
  const data = bytesOf(content);
  return concat([rawHeader({ name, size: data.length }), padded(data)]);
}

/** Concatenates byte arrays. */
export { concat };

/** An outer entry: small bytes, or a body made of gzip members that inflate to `size` bytes. */
export type OuterItem =
  | { name: string; bytes: Uint8Array }
  | { name: string; size: number; members: Uint8Array[] };

/** gzip members that inflate to `size` zero bytes, one shared member per MiB (kilobytes in all). */
export function zeroMembers(size: number): Uint8Array[] {
  const mib = 1 << 20;
  const out: Uint8Array[] = [];
  for (let left = size; left > 0; left -= mib) out.push(zeroMember(Math.min(left, mib)));
  return out;
}

const zeroCache = new Map<number, Uint8Array>();

/** One gzip member of `n` zero bytes, made once per size. */
function zeroMember(n: number): Uint8Array {
  let m = zeroCache.get(n);
  if (!m) zeroCache.set(n, m = new Uint8Array(gzipSync(new Uint8Array(n), { level: 9 })));
  return m;
}

/**
 * Writes an outer archive: a plain tar, or (`gzip`) a gzip file of one member per piece, so
 * that a body of gigabytes of zeros is shared members.
 */
export async function writeOuter(
  path: string,
  items: OuterItem[],
  outer: "tar" | "gzip",
): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const w = file.writable.getWriter();
  const piece = async (bytes: Uint8Array) =>
    await w.write(outer === "gzip" ? new Uint8Array(gzipSync(bytes, { level: 1 })) : bytes);
  let pending: Uint8Array[] = [];
  let pendingSize = 0;
  const flush = async () => {
    if (pending.length) await piece(concat(pending));
    pending = [];
    pendingSize = 0;
  };
  const add = async (bytes: Uint8Array) => {
    pending.push(bytes);
    pendingSize += bytes.length;
    if (pendingSize >= 1 << 20) await flush();
  };
  for (const item of items) {
    if ("bytes" in item) {
      const head = item.name.length > 100 ? paxHeader({ path: item.name }) : new Uint8Array(0);
      await add(
        concat([head, rawHeader({ name: item.name.slice(0, 100), size: item.bytes.length })]),
      );
      await add(padded(item.bytes));
      continue;
    }
    if (outer !== "gzip") throw new TypeError("members need a gzip outer archive");
    await add(concat([paxHeader({ size: String(item.size) }), rawHeader({ name: item.name })]));
    await flush();
    for (const m of item.members) await w.write(m);
    const pad = (512 - (item.size % 512)) % 512;
    if (pad) await add(new Uint8Array(pad));
  }
  await add(new Uint8Array(1024));
  await flush();
  await w.close();
}

/** A layer blob of an image made by {@linkcode imageItems}: bytes, or gzip members of a big one. */
export type LayerBlob =
  | {
    bytes: Uint8Array;
    /** Its diff_id, when the blob is compressed. */
    diffId?: string;
  }
  | {
    /** An uncompressed blob of `size` bytes, given as gzip members (for a gzip outer archive). */
    size: number;
    members: Uint8Array[];
    digest: string;
  };

function blobDigest(l: LayerBlob): string {
  return "bytes" in l ? "sha256:" + sha256(l.bytes) : l.digest;
}

/**
 * The outer entries of an OCI layout + docker-archive holding one image: `layers` in order,
 * each listed `repeat` times; `config` fields added to the image config.
 */
export function imageItems(
  layers: LayerBlob[],
  options: { repeat?: number; config?: Record<string, unknown>; extra?: OuterItem[] } = {},
): OuterItem[] {
  const repeat = options.repeat ?? 1;
  const listed = layers.flatMap((l) => Array.from({ length: repeat }, () => l));
  const config = encoder.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: {},
    rootfs: {
      type: "layers",
      diff_ids: listed.map((l) => ("bytes" in l ? l.diffId : undefined) ?? blobDigest(l)),
    },
    ...options.config,
  }));
  const manifest = encoder.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: "sha256:" + sha256(config),
      size: config.length,
    },
    layers: listed.map((l) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: blobDigest(l),
      size: "bytes" in l ? l.bytes.length : l.size,
    })),
  }));
  const index = encoder.encode(JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:" + sha256(manifest),
      size: manifest.length,
    }],
  }));
  const blobs = new Map<string, OuterItem>();
  for (const b of [config, manifest]) {
    blobs.set(`blobs/sha256/${sha256(b)}`, { name: `blobs/sha256/${sha256(b)}`, bytes: b });
  }
  for (const l of layers) {
    const name = `blobs/sha256/${blobDigest(l).slice(7)}`;
    blobs.set(
      name,
      "bytes" in l ? { name, bytes: l.bytes } : { name, size: l.size, members: l.members },
    );
  }
  return [
    ...(options.extra ?? []),
    ...[...blobs].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, item]) => item),
    { name: "index.json", bytes: index },
    { name: "oci-layout", bytes: encoder.encode('{"imageLayoutVersion":"1.0.0"}') },
  ];
}

/** Output of one measured run of the CLI. */
export interface Measured {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident set size of the r10e process, in MB (10^6 bytes). */
  rssMB: number;
  seconds: number;
  /** True when it was killed after the time limit. */
  timedOut: boolean;
}

/**
 * Runs `r10e …args` (src/main.ts, with --expose-gc as scripts/r10e does) under a Python
 * wrapper that reports the child's peak RSS (getrusage of the waited child) and kills it after
 * `timeoutSeconds`.
 */
export async function measure(
  args: string[],
  options: {
    cwd: string;
    env?: Record<string, string>;
    timeoutSeconds?: number;
    prefix?: string[];
  },
): Promise<Measured> {
  const report = await Deno.makeTempFile({ prefix: "r10e-rss-" });
  const wrapper = [
    "import resource, subprocess, sys, time",
    "t = time.time()",
    "p = subprocess.Popen(sys.argv[3:])",
    "timed_out = 0",
    "try:",
    "    code = p.wait(timeout=float(sys.argv[2]))",
    "except subprocess.TimeoutExpired:",
    "    p.kill(); code = p.wait(); timed_out = 1",
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss",
    "open(sys.argv[1], 'w').write(f'{rss} {time.time() - t} {timed_out}')",
    "sys.exit(code if code >= 0 else 128 - code)",
  ].join("\n");
  const deno = [
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-all",
    "--v8-flags=--expose-gc",
    "--config",
    CONFIG,
    MAIN,
  ];
  const out = await new Deno.Command(options.prefix?.[0] ?? "python3", {
    args: [
      ...(options.prefix ? [...options.prefix.slice(1), "python3"] : []),
      "-c",
      wrapper,
      report,
      String(options.timeoutSeconds ?? 60),
      ...deno,
      ...args,
    ],
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [rss, seconds, timedOut] = (await Deno.readTextFile(report)).split(" ").map(Number);
  await Deno.remove(report);
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    rssMB: Math.round(rss * 1024 / 1e6),
    seconds,
    timedOut: timedOut === 1,
  };
}

/** A piece of a zstd stream made by {@linkcode zstdOf}: bytes as they are, or `zeros` zero bytes. */
export type ZstdPiece = Uint8Array | { zeros: number };

/**
 * One zstd frame (RFC 8878) of raw blocks for bytes and RLE blocks for zeros: 10 GiB of zeros
 * cost 320 KiB (4 bytes per 128 KiB block), as zstd itself writes them.
 */
export function zstdOf(pieces: ZstdPiece[]): Uint8Array {
  const max = 128 << 10;
  // Magic, then a frame header descriptor of 0 (no content size, no checksum, no dictionary)
  // and a window descriptor of 1 MiB (exponent 20 - 10).
  const out: Uint8Array[] = [new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 10 << 3])];
  const blocks: { type: 0 | 1; size: number; data: Uint8Array }[] = [];
  for (const p of pieces) {
    if (p instanceof Uint8Array) {
      for (let o = 0; o < p.length; o += max) {
        const data = p.subarray(o, o + max);
        blocks.push({ type: 0, size: data.length, data });
      }
    } else {
      const zero = new Uint8Array(1);
      for (let left = p.zeros; left > 0; left -= max) {
        blocks.push({ type: 1, size: Math.min(left, max), data: zero });
      }
    }
  }
  if (blocks.length === 0) blocks.push({ type: 0, size: 0, data: new Uint8Array(0) });
  blocks.forEach((b, i) => {
    const h = (b.size << 3) | (b.type << 1) | (i === blocks.length - 1 ? 1 : 0);
    out.push(new Uint8Array([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), b.data);
  });
  return concat(out);
}

/** Whether this machine lets the tests make a mount namespace with a small tmpfs. */
export async function canMount(): Promise<string | null> {
  try {
    const out = await new Deno.Command("unshare", {
      args: ["-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
      stdout: "null",
      stderr: "piped",
    }).output();
    return out.success ? null : new TextDecoder().decode(out.stderr).trim();
  } catch (e) {
    return (e as Error).message;
  }
}
