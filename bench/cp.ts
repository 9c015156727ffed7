/**
 * Benchmark of `r10e cp`: one 50 MB file out of a 1 GB image. Wall time and peak RSS
 * (from `/usr/bin/time -v`) of:
 *
 * - the lower bound: `tar -xOf` of the layer holding the file, the layer already taken out of
 *   the image (and decompressed);
 * - `r10e cp` on the image as `docker save` writes it (a plain tar, layers uncompressed), and on
 *   the same image gzipped (`gzip -1`), where the reader must inflate and spool the whole input;
 * - its peer: `tar -xOf image.tar LAYER | tar -xO app/big.bin` (target: r10e within 2x; the
 *   benchmark exits 1 past it);
 * - `crane export - - < image.tar | tar -x` when `crane` is on PATH or in ~/go/bin
 *   (`go install github.com/google/go-containerregistry/cmd/crane@latest`).
 *
 * The files are made once (deterministic pseudo-random content), the page cache is warmed, and
 * each command runs `--runs` times (default 3); the median is reported. Outputs are checked to
 * be the same bytes. Usage:
 *
 *   deno run -A bench/cp.ts [--size-mb 1024] [--runs 3] [--dir /tmp/x] [--json]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writeImageArchive } from "../src/image/writer.ts";
import type { TarEntry } from "../src/tar/writer.ts";
import { type Measure, measure, median, sha256File } from "./cp_measure.ts";

const MB = 1 << 20;
const FILE_MB = 10;
const BIG_MB = 50;

const { values } = parseArgs({
  options: {
    "size-mb": { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
    dir: { type: "string" },
    json: { type: "boolean", default: false },
    "no-gzip": { type: "boolean", default: false },
  },
});
const sizeMb = Number(values["size-mb"]);
const runs = Number(values.runs);
const root = new URL("..", import.meta.url).pathname;
const dir = values.dir ?? await Deno.makeTempDir({ prefix: "r10e-bench-cp-" });
const log = (s: string) => console.error(`bench/cp: ${s}`);

/** A 1 MiB pseudo-random block; each file chunk is this block stamped with (file, chunk). */
const block = new Uint8Array(MB);
for (let i = 0, x = 0x9e3779b9; i < MB; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  block[i] = x & 0xff;
}

function file(name: string, sizeMb: number, seed: number): TarEntry {
  return {
    name,
    kind: "file",
    mode: 0o644,
    size: sizeMb * MB,
    content: async function* () {
      for (let i = 0; i < sizeMb; i++) {
        const chunk = block.slice();
        new DataView(chunk.buffer).setUint32(0, seed);
        new DataView(chunk.buffer).setUint32(4, i);
        yield chunk;
      }
    },
  };
}

async function makeImage(path: string): Promise<string> {
  // Base ~45%, app layer ~55% (holding the 50 MB file), a small top layer.
  const baseFiles = Math.floor((sizeMb * 0.45) / FILE_MB);
  const appFiles = Math.max(0, Math.floor((sizeMb - BIG_MB) * 0.55 / FILE_MB));
  const base: TarEntry[] = [{ name: "usr", kind: "dir", mode: 0o755, size: 0 }];
  for (let i = 0; i < baseFiles; i++) {
    base.push(file(`usr/lib${String(i).padStart(4, "0")}.so`, FILE_MB, i));
  }
  const app: TarEntry[] = [
    { name: "app", kind: "dir", mode: 0o755, size: 0 },
    { name: "app/assets", kind: "dir", mode: 0o755, size: 0 },
  ];
  for (let i = 0; i < appFiles; i++) {
    app.push(file(`app/assets/a${String(i).padStart(4, "0")}.bin`, FILE_MB, 10000 + i));
  }
  app.push(file("app/big.bin", BIG_MB, 99999));
  app.sort((a, b) => (a.name < b.name ? -1 : 1));
  const top: TarEntry[] = [{ name: "etc", kind: "dir", mode: 0o755, size: 0 }];
  for (let i = 0; i < 200; i++) {
    const text = new TextEncoder().encode(`setting ${i}\n`);
    top.push({
      name: `etc/c${String(i).padStart(3, "0")}.conf`,
      kind: "file",
      mode: 0o644,
      size: text.length,
      content: async function* () {
        yield text;
      },
    });
  }
  using out = await Deno.open(path, { write: true, create: true, truncate: true });
  const result = await writeImageArchive({
    // Uncompressed layers (the only kind before format 4): what this benchmark was made to measure.
    layerCompression: "none",
    repository: "bench",
    tag: "latest",
    created: 0,
    images: [{
      platform: { os: "linux", architecture: "amd64" },
      config: { Env: ["PATH=/usr/bin"] },
      layers: [
        { createdBy: "base", entries: base },
        { createdBy: "app", entries: app },
        { createdBy: "config", entries: top },
      ],
    }],
  }, async (chunk) => {
    let n = 0;
    while (n < chunk.length) n += await out.write(chunk.subarray(n));
  }, { compress: false });
  return result.images[0].layers[1].digest.slice("sha256:".length);
}

async function sh(script: string): Promise<void> {
  const r = await new Deno.Command("sh", { args: ["-c", script], cwd: dir }).output();
  if (r.code !== 0) throw new Error(`${script}: ${new TextDecoder().decode(r.stderr)}`);
}

function findCrane(): string | undefined {
  const home = Deno.env.get("HOME") ?? "";
  const gopath = Deno.env.get("GOPATH") ?? `${home}/go`;
  for (const p of [...(Deno.env.get("PATH") ?? "").split(":"), `${gopath}/bin`]) {
    try {
      if (Deno.statSync(`${p}/crane`).isFile) return `${p}/crane`;
    } catch {
      // not here
    }
  }
  return undefined;
}

log(`work dir ${dir}`);
const image = `${dir}/image.tar`;
let layerHex: string;
try {
  layerHex = (await Deno.readTextFile(`${dir}/layer.hex`)).trim();
  await Deno.stat(image);
  log("reusing image.tar");
} catch {
  log(`writing a ${sizeMb} MB image`);
  layerHex = await makeImage(image);
  await Deno.writeTextFile(`${dir}/layer.hex`, layerHex);
}
const gz = !values["no-gzip"];
if (gz) {
  try {
    await Deno.stat(`${dir}/image.tar.gz`);
  } catch {
    log("gzip -1 image.tar");
    await sh("gzip -1 -c image.tar > image.tar.gz");
  }
}
await sh(`tar -xOf image.tar blobs/sha256/${layerHex} > layer.tar`);
await sh(`cat image.tar layer.tar ${gz ? "image.tar.gz" : ""} > /dev/null`); // warm the page cache

const deno = Deno.execPath();
const main = `${root}src/main.ts`;
const crane = findCrane();
const cases: { name: string; script: string; out: string }[] = [
  {
    name: "lower bound: tar -xOf layer.tar",
    script: "tar -xOf layer.tar app/big.bin > out.lb",
    out: "out.lb",
  },
  {
    name: "peer: tar -xOf image.tar LAYER, piped to tar -xO",
    script: `tar -xOf image.tar blobs/sha256/${layerHex} | tar -xO app/big.bin > out.peer`,
    out: "out.peer",
  },
  {
    name: "r10e cp image.tar",
    script:
      `rm -f out.r10e && ${deno} run -A --quiet --v8-flags=--expose-gc ${main} cp image.tar /app/big.bin out.r10e > /dev/null`,
    out: "out.r10e",
  },
];
// Not a copy: what verifying every blob costs at least (one sha256 pass over the image, one core).
const floor = {
  name: "reference: openssl dgst -sha256 image.tar",
  script: "openssl dgst -sha256 image.tar > hash.txt",
};
if (gz) {
  cases.push({
    name: "lower bound, gzip: gzip -dc | tar -xO layer | tar -xO",
    script:
      `gzip -dc image.tar.gz | tar -xO blobs/sha256/${layerHex} | tar -xO app/big.bin > out.lbgz`,
    out: "out.lbgz",
  });
  cases.push({
    name: "r10e cp image.tar.gz",
    script:
      `rm -f out.r10egz && ${deno} run -A --quiet --v8-flags=--expose-gc ${main} cp image.tar.gz /app/big.bin out.r10egz > /dev/null`,
    out: "out.r10egz",
  });
}
if (crane) {
  cases.push({
    name: "crane export - - < image.tar | tar -x",
    script:
      `rm -rf crane-out && mkdir crane-out && ${crane} export - - < image.tar | tar -x -C crane-out app/big.bin`,
    out: "crane-out/app/big.bin",
  });
} else {
  log("crane not found: go install github.com/google/go-containerregistry/cmd/crane@latest");
}

const loadBefore = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
const results: { name: string; wallSeconds: number; maxRssMb: number; runs: Measure[] }[] = [];
for (const c of [...cases, floor]) {
  const all: Measure[] = [];
  for (let i = 0; i < runs; i++) all.push(await measure(c.script, dir));
  results.push({
    name: c.name,
    wallSeconds: median(all.map((m) => m.wallSeconds)),
    maxRssMb: Math.max(...all.map((m) => m.maxRssMb)),
    runs: all,
  });
  log(
    `${c.name}: ${results.at(-1)!.wallSeconds.toFixed(3)} s, ${
      results.at(-1)!.maxRssMb.toFixed(1)
    } MB`,
  );
}
const want = await sha256File(`${dir}/${cases[0].out}`);
for (const c of cases) {
  const got = await sha256File(`${dir}/${c.out}`);
  if (got !== want) throw new Error(`${c.name} wrote different bytes (${got} != ${want})`);
}

const loadAfter = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
const lower = results[0].wallSeconds;
const lowerGz = results.find((r) => r.name.startsWith("lower bound, gzip"))?.wallSeconds;
if (values.json) {
  console.log(
    JSON.stringify({ sizeMb, bigMb: BIG_MB, runs, loadBefore, loadAfter, results }, null, 2),
  );
} else {
  console.log(
    `One ${BIG_MB} MB file out of a ${sizeMb} MB image (median of ${runs} runs, warm cache)`,
  );
  console.log(`load average before: ${loadBefore.trim()}; after: ${loadAfter.trim()}`);
  console.log("| command | wall s | ratio to lower bound | peak RSS MB |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const r of results) {
    const base = r.name.includes("gz") && lowerGz ? lowerGz : lower;
    console.log(
      `| ${r.name} | ${r.wallSeconds.toFixed(3)} | ${(r.wallSeconds / base).toFixed(2)}x | ${
        r.maxRssMb.toFixed(1)
      } |`,
    );
  }
}
if (!values.dir) await Deno.remove(dir, { recursive: true });
// One file from a plain tar: the manifest, the config and that file's layer are checked, not
// every blob, so it stays within 2x of taking the layer out with tar and the file out of it.
const peer = results.find((r) => r.name.startsWith("peer:"))!.wallSeconds;
const plain = results.find((r) => r.name === "r10e cp image.tar")!.wallSeconds;
const ratio = plain / peer;
console.log(
  `r10e cp image.tar / (tar -xOf image.tar LAYER, piped to tar -xO): ${
    ratio.toFixed(2)
  }x (target ≤ 2x)`,
);
if (ratio > 2) Deno.exit(1);
