/**
 * Helpers of the hostile CLI tests: spawn the real entry point and watch it
 * (its pid, its stderr, its peak memory), look for processes by group, and make
 * large image archives sparsely (a 1 GiB file costs no disk until read).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { encodeHeader, type TarEntry } from "../src/tar/writer.ts";
import { REPO } from "./_cli.ts";

const encoder = new TextEncoder();

/** A running `r10e`. */
export interface Running {
  child: Deno.ChildProcess;
  /** Resolves with everything written to stderr once the process ends. */
  stderr: Promise<string>;
  stdout: Promise<string>;
  /** Resolves when stderr so far includes `text`. */
  stderrIncludes(text: string): Promise<void>;
  /** Peak resident memory in bytes seen so far (VmHWM, polled). */
  peakRss(): number;
}

/** Starts `deno run src/main.ts …args` (the real CLI) with a minimal environment. */
export function spawnR10e(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Running {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["PATH", "HOME", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-all",
      "--config",
      `${REPO}/deno.json`,
      `${REPO}/src/main.ts`,
      ...args,
    ],
    cwd: options.cwd,
    env: { ...env, ...options.env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  const dec = new TextDecoder();
  const stderr = (async () => {
    for await (const chunk of child.stderr) {
      err += dec.decode(chunk, { stream: true });
      for (const w of waiters.splice(0)) {
        if (err.includes(w.text)) w.resolve();
        else waiters.push(w);
      }
    }
    for (const w of waiters.splice(0)) w.resolve();
    return err;
  })();
  const stdout = new Response(child.stdout).text();
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // gone
    }
  }, 20);
  child.status.finally(() => clearInterval(poll));
  return {
    child,
    stderr,
    stdout,
    stderrIncludes: (text) =>
      err.includes(text) ? Promise.resolve() : new Promise((resolve) => {
        waiters.push({ text, resolve });
      }),
    peakRss: () => peak,
  };
}

/** Pids of live (not zombie) processes whose process group is `pgid`, read from /proc. */
export function processesInGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (rest[0] !== "Z" && Number(rest[2]) === pgid) out.push(Number(e.name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Whether a process runs (a zombie does not count). */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Polls `check` every 20 ms until it is true, failing after `ms`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 60_000,
): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every path under `dir` (recursive, relative), sorted; [] when it does not exist. */
export function listAll(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(rel ? `${dir}/${rel}` : dir)];
    } catch {
      return;
    }
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      out.push(p);
      if (e.isDirectory) walk(p);
    }
  };
  walk("");
  return out.sort();
}

const BLOCK = 512;
const pad = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

/** One outer or layer entry: small bytes, or `zeros` bytes of zeros ending in `tail`. */
interface Part {
  name: string;
  bytes?: Uint8Array;
  /** A large file: this many zero bytes (written as a hole), then `tail`. */
  zeros?: number;
  tail?: Uint8Array;
}

function partSize(p: Part): number {
  return p.bytes ? p.bytes.length : (p.zeros ?? 0) + (p.tail?.length ?? 0);
}

/** Writes a tar of `parts` into `file` at its position, holes for zeros; feeds `hash`. */
async function writeTarParts(
  file: Deno.FsFile,
  parts: Part[],
  hash?: ReturnType<typeof createHash>,
): Promise<void> {
  const zero = new Uint8Array(1 << 20);
  const put = async (b: Uint8Array) => {
    hash?.update(b);
    let off = 0;
    while (off < b.length) off += await file.write(b.subarray(off));
  };
  const skip = async (n: number) => {
    if (hash) {
      for (let left = n; left > 0; left -= zero.length) {
        hash.update(zero.subarray(0, Math.min(left, zero.length)));
      }
    }
    await file.seek(n, Deno.SeekMode.Current);
  };
  for (const p of parts) {
    const size = partSize(p);
    const entry: TarEntry = { name: p.name, kind: "file", mode: 0o644, size };
    await put(encodeHeader(entry, { mtime: 1700000000 }));
    if (p.bytes) await put(p.bytes);
    else {
      await skip(p.zeros ?? 0);
      if (p.tail) await put(p.tail);
    }
    if (pad(size)) await skip(pad(size));
  }
  await skip(2 * BLOCK);
}

/** The layer digests writeSparseImage computed, by size and tail. */
const layerDigests = new Map<string, string>();

/**
 * Writes a plain-tar image archive (docker-archive + OCI layout) at `path` with one layer
 * holding `/app/small.txt` and `/app/big`: `bigSize` zero bytes then `bigTail`. The file is
 * sparse: the zeros cost no disk. Digests are computed over the real bytes.
 */
export async function writeSparseImage(
  path: string,
  bigSize: number,
  bigTail: Uint8Array = encoder.encode("end\n"),
): Promise<void> {
  const layerParts: Part[] = [
    { name: "app/small.txt", bytes: encoder.encode("small\n") },
    { name: "app/big", zeros: bigSize, tail: bigTail },
  ];
  // The layer's size and digest first (streamed through the hash, nothing held).
  let layerSize = 0;
  for (const p of layerParts) layerSize += BLOCK + partSize(p) + pad(partSize(p));
  layerSize += 2 * BLOCK;
  // Hashing a GiB of zeros takes seconds: the tests of a file that write the same image twice
  // hash it once.
  const key = `${bigSize}/${bigTail.join(",")}`;
  let layerHex = layerDigests.get(key);
  if (layerHex === undefined) {
    const layerHash = createHash("sha256");
    // Hash only: a throwaway sink that counts.
    const zero = new Uint8Array(1 << 20);
    for (const p of layerParts) {
      const size = partSize(p);
      layerHash.update(encodeHeader({ name: p.name, kind: "file", mode: 0o644, size }, {
        mtime: 1700000000,
      }));
      if (p.bytes) layerHash.update(p.bytes);
      else {
        for (let left = p.zeros ?? 0; left > 0; left -= zero.length) {
          layerHash.update(zero.subarray(0, Math.min(left, zero.length)));
        }
        if (p.tail) layerHash.update(p.tail);
      }
      layerHash.update(new Uint8Array(pad(size)));
    }
    layerHash.update(new Uint8Array(2 * BLOCK));
    layerHex = layerHash.digest("hex");
    layerDigests.set(key, layerHex);
  }
  const json = (v: unknown) => encoder.encode(JSON.stringify(v));
  const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  const config = json({
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/bin"] },
    rootfs: { type: "layers", diff_ids: [`sha256:${layerHex}`] },
  });
  const configHex = sha(config);
  const manifest = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: `sha256:${configHex}`,
      size: config.length,
    },
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: `sha256:${layerHex}`,
      size: layerSize,
    }],
  });
  const manifestHex = sha(manifest);
  const index = json({
    schemaVersion: 2,
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: `sha256:${manifestHex}`,
      size: manifest.length,
      platform: { os: "linux", architecture: "amd64" },
    }],
  });
  const dockerManifest = json([{
    Config: `blobs/sha256/${configHex}`,
    RepoTags: ["big:latest"],
    Layers: [`blobs/sha256/${layerHex}`],
  }]);
  const small: [string, Uint8Array][] = [
    [`blobs/sha256/${configHex}`, config],
    [`blobs/sha256/${manifestHex}`, manifest],
    ["index.json", index],
    ["manifest.json", dockerManifest],
    ["oci-layout", json({ imageLayoutVersion: "1.0.0" })],
  ];
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const put = async (b: Uint8Array) => {
    let off = 0;
    while (off < b.length) off += await file.write(b.subarray(off));
  };
  for (const [name, bytes] of small.slice(0, 2)) {
    await put(encodeHeader({ name, kind: "file", mode: 0o644, size: bytes.length }, { mtime: 0 }));
    await put(bytes);
    await put(new Uint8Array(pad(bytes.length)));
  }
  // The layer blob: its own tar, written in place with holes.
  await put(
    encodeHeader({ name: `blobs/sha256/${layerHex}`, kind: "file", mode: 0o644, size: layerSize }, {
      mtime: 0,
    }),
  );
  await writeTarParts(file, layerParts);
  for (const [name, bytes] of small.slice(2)) {
    await put(encodeHeader({ name, kind: "file", mode: 0o644, size: bytes.length }, { mtime: 0 }));
    await put(bytes);
    await put(new Uint8Array(pad(bytes.length)));
  }
  await put(new Uint8Array(2 * BLOCK));
  // A hole at the very end would leave the file short: the zeros above were written.
}
