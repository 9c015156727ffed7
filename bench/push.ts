/**
 * Benchmark of `r10e push` (issue 11): a 200 MB two-platform image (linux/amd64 and linux/arm64:
 * a 20 MB layer both share, 40 and 50 MB layers of each, uncompressed as r10e writes them; one
 * index blob naming both manifests) pushed to a docker-registry on loopback, against
 * `skopeo copy --all --preserve-digests oci-archive:… docker://…` of the same archive, in the
 * same run. Every run pushes to a fresh registry (its own storage), so that no blob is there
 * already; the runs interleave (r10e, skopeo, r10e, …) and the median is reported, with peak RSS
 * from GNU time. Both pushes must leave the registry serving the index digest the archive has.
 *
 *   deno run -A bench/push.ts [--size-mb 200] [--runs 3] [--dir /tmp/x] [--json]
 *
 * Targets (issue 11): at most 1.2x skopeo's time, under 150 MB RSS. (`verify REF` against
 * archives is measured by bench/verify.ts.)
 *
 * The archive is written by r10e's image writer (several images: one index.json entry each),
 * then given the index blob a multi-platform `r10e build` writes (skopeo's `oci-archive:` copies
 * one image or index: the one index.json names), with the tar re-made by GNU tar.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { canonicalJsonBytes } from "../src/image/canonical_json.ts";
import { writeImageArchive } from "../src/image/writer.ts";
import type { TarEntry } from "../src/tar/writer.ts";
import { measure, type Measurement, median } from "./_measure.ts";
import { servedDigest, withRegistry } from "./_registry.ts";

const MB = 1 << 20;
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

async function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const archive = `${dir}/image.tar`;
// 10% shared, then 20% and 25% per platform: 200 MB of distinct blobs in all.
const [shared, a, b] = [0.1, 0.2, 0.25].map((f) => Math.max(1, Math.round(sizeMb * f)));
log(`writing ${archive} (linux/amd64 and linux/arm64: ${shared} MB shared, ${a} + ${b} MB each)`);
{
  using out = await Deno.open(`${dir}/flat.tar`, { write: true, create: true, truncate: true });
  await writeImageArchive({
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
}
// The index blob: what `r10e push` stores for a flat index.json (canonical JSON, platforms kept),
// and what index.json then names alone.
const layout = `${dir}/layout`;
await Deno.mkdir(layout);
await run("tar", ["-xf", `${dir}/flat.tar`, "-C", layout]);
await Deno.remove(`${dir}/flat.tar`);
const flat = JSON.parse(await Deno.readTextFile(`${layout}/index.json`));
const indexBytes = canonicalJsonBytes({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: flat.manifests.map((m: Record<string, unknown>) => ({
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.size,
    platform: m.platform,
  })),
});
const digest = "sha256:" + createHash("sha256").update(indexBytes).digest("hex");
await Deno.writeFile(`${layout}/blobs/sha256/${digest.slice(7)}`, indexBytes);
await Deno.writeTextFile(
  `${layout}/index.json`,
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{
      mediaType: "application/vnd.oci.image.index.v1+json",
      digest,
      size: indexBytes.length,
      annotations: { "org.opencontainers.image.ref.name": "latest" },
    }],
  }),
);
await run("tar", [
  "--sort=name",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
  "--mtime=@0",
  "-cf",
  archive,
  "blobs",
  "index.json",
  "manifest.json",
  "oci-layout",
], layout);
await Deno.remove(layout, { recursive: true });
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
  "r10e push": (host) =>
    `${deno} run -A --quiet --v8-flags=--expose-gc --config ${root}deno.json ${root}src/main.ts push -q ${archive} ${host}/bench:v1 > /dev/null`,
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
    `ratio ${ratio.toFixed(2)}x (target at most 1.2x skopeo); r10e peak RSS ${
      summary["r10e push"].peakRssMb.toFixed(0)
    } MB (target under 150 MB)`,
  );
}
if (!values.dir) await Deno.remove(dir, { recursive: true });
