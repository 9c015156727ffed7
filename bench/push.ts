/**
 * Benchmark of `r10e push`: a 200 MB two-platform image (linux/amd64 and linux/arm64:
 * a 20 MB layer both share, 40 and 50 MB layers of each, uncompressed as r10e writes them; the
 * index blob naming both manifests that r10e's image writer makes for several platforms) pushed to a docker-registry on loopback, against
 * `skopeo copy --all --preserve-digests oci-archive:… docker://…` of the same archive, in the
 * same run. Every run pushes to a fresh registry (its own storage), so that no blob is there
 * already; the runs interleave (r10e, skopeo, r10e, …) and the median is reported, with peak RSS
 * from GNU time. Both pushes must leave the registry serving the index digest the archive has.
 *
 *   deno run -A bench/push.ts [--size-mb 200] [--runs 3] [--dir /tmp/x] [--json]
 *
 * Targets: at most 1.0x skopeo's time, under 150 MB RSS; exits 1 when one is missed. (`verify
 * REF` against archives is measured by bench/verify.ts.)
 *
 * The archive is written by r10e's image writer, as a two-platform `r10e build --format tar`
 * writes it (without a Go build of 200 MB).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writeImageArchive } from "../src/image/writer.ts";
import type { TarEntry } from "../src/tar/writer.ts";
import { measure, type Measurement, median } from "./_measure.ts";
import { servedDigest, withRegistry } from "./_registry.ts";

const MB = 1 << 20;
/** r10e's push time against skopeo's, at most. */
const RATIO_TARGET = 1.0;
/** r10e's peak RSS (MiB, as GNU time's KiB), under. */
const RSS_TARGET_MB = 150;
const { values } = parseArgs({
  options: {
    "size-mb": { type: "string", default: "200" },
    runs: { type: "string", default: "3" },
    dir: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const sizeMb = Number(values["size-mb"]);
const runs = Number(values.runs);
const root = new URL("..", import.meta.url).pathname;
const dir = values.dir ?? await Deno.makeTempDir({ prefix: "r10e-bench-push-" });
const log = (s: string) => console.error(`bench/push: ${s}`);

/** A 1 MiB pseudo-random block, stamped per chunk so that no two MiB are alike. */
const block = new Uint8Array(MB);
for (let i = 0, x = 0x2545f491; i < MB; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  block[i] = x & 0xff;
}

function file(name: string, mb: number, seed: number): TarEntry {
  return {
    name,
    kind: "file",
    mode: 0o644,
    size: mb * MB,
    content: async function* () {
      for (let i = 0; i < mb; i++) {
        const chunk = block.slice();
        new DataView(chunk.buffer).setUint32(0, seed * 100_000 + i);
        yield chunk;
      }
    },
  } as TarEntry;
}

function layer(i: number, mb: number, seed: number) {
  return {
    createdBy: `layer ${i}`,
    entries: [
      { name: `l${i}`, kind: "dir", mode: 0o755, size: 0 } as TarEntry,
      file(`l${i}/data.bin`, mb, seed),
    ],
  };
}

const archive = `${dir}/image.tar`;
// 10% shared, then 20% and 25% per platform: 200 MB of distinct blobs in all.
const [shared, a, b] = [0.1, 0.2, 0.25].map((f) => Math.max(1, Math.round(sizeMb * f)));
log(`writing ${archive} (linux/amd64 and linux/arm64: ${shared} MB shared, ${a} + ${b} MB each)`);
let digest: string;
{
  using out = await Deno.open(archive, { write: true, create: true, truncate: true });
  const written = await writeImageArchive({
    // Uncompressed layers (the only kind before format 4): what this benchmark was made to measure.
    layerCompression: "none",
    repository: "bench-push",
    tag: "latest",
    created: 0,
    images: (["amd64", "arm64"] as const).map((architecture, p) => ({
      platform: { os: "linux", architecture },
      config: { Env: ["PATH=/bin"] },
      layers: [layer(0, shared, 1), layer(1, a, 10 + p), layer(2, b, 20 + p)],
    })),
  }, async (chunk) => {
    let off = 0;
    while (off < chunk.length) off += await out.write(chunk.subarray(off));
  }, { compress: false });
  if (!written.indexDigest) throw new Error("the writer made no index blob for two platforms");
  digest = written.indexDigest;
}
const archiveMb = (await Deno.stat(archive)).size / 1e6;
// Warm the page cache: both contenders read the archive from memory.
await Deno.readFile(archive);

const deno = Deno.execPath();
const env: Record<string, string> = {
  ...Deno.env.toObject(),
  DOCKER_CONFIG: `${dir}/docker`,
  XDG_CACHE_HOME: `${dir}/cache`,
};
// XDG_CACHE_HOME moves Deno's cache too: keep the one that holds the dependencies.
env.DENO_DIR ??= `${Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME")}/.cache`}/deno`;
const contenders: Record<string, (host: string) => string> = {
  // --no-documents: the image alone, as skopeo pushes it. This archive has no SBOMs beside it
  // (build writes them there), so push would make them again from the image and attach them:
  // another job (reading every layer), 3 s of the 6 s under load.
  "r10e push": (host) =>
    `${deno} run -A --quiet --v8-flags=--expose-gc --config ${root}deno.json ${root}src/main.ts push -q --no-documents ${archive} ${host}/bench:v1 > /dev/null`,
  "skopeo copy --all oci-archive: docker://": (host) =>
    // --preserve-digests: the same job as r10e's (without it skopeo gzips every layer, and the
    // digest changes). A fresh registry per run: skopeo's blob-info cache cannot mount.
    `skopeo copy -q --all --preserve-digests --dest-tls-verify=false oci-archive:${archive} docker://${host}/bench:v1`,
};
const results: Record<string, Measurement[]> = {};
for (let i = 0; i < runs; i++) {
  for (const [name, script] of Object.entries(contenders)) {
    const m = await withRegistry(dir, async (host) => {
      const m = await measure(script(host), { env });
      const got = await servedDigest(host, "bench", "v1");
      if (got !== digest) {
        throw new Error(`${name}: the registry serves ${got}, expected ${digest}`);
      }
      return m;
    });
    log(`${name}: ${m.wallSeconds.toFixed(2)} s, ${m.peakRssMb.toFixed(0)} MB`);
    (results[name] ??= []).push(m);
  }
}
const summary = Object.fromEntries(
  Object.entries(results).map(([name, ms]) => [name, {
    wallSeconds: median(ms.map((m) => m.wallSeconds)),
    cpuSeconds: median(ms.map((m) => m.cpuSeconds ?? 0)),
    peakRssMb: Math.max(...ms.map((m) => m.peakRssMb)),
  }]),
);
const base = summary["skopeo copy --all oci-archive: docker://"];
const ratio = summary["r10e push"].wallSeconds / base.wallSeconds;
const load = Deno.loadavg().map((l) => l.toFixed(1)).join(" ");

if (values.json) {
  console.log(JSON.stringify({ sizeMb, archiveMb, runs, digest, results: summary, ratio, load }));
} else {
  console.log(
    `push of a ${archiveMb.toFixed(0)} MB two-platform image to a loopback docker-registry ` +
      `(median of ${runs}; load average ${load})`,
  );
  for (const [name, m] of Object.entries(summary)) {
    console.log(
      `${name.padEnd(42)} ${m.wallSeconds.toFixed(2).padStart(7)} s  cpu ${
        m.cpuSeconds.toFixed(2).padStart(6)
      } s  ${m.peakRssMb.toFixed(0).padStart(5)} MB  ${
        (m.wallSeconds / base.wallSeconds).toFixed(2)
      }x`,
    );
  }
  console.log(
    `ratio ${ratio.toFixed(2)}x (target at most ${RATIO_TARGET}x skopeo); r10e peak RSS ${
      summary["r10e push"].peakRssMb.toFixed(0)
    } MB (target under ${RSS_TARGET_MB} MB)`,
  );
}
if (ratio > RATIO_TARGET || summary["r10e push"].peakRssMb >= RSS_TARGET_MB) Deno.exitCode = 1;
if (!values.dir) await Deno.remove(dir, { recursive: true });
