/**
 * Benchmark of `r10e push` (issue 11): a ~200 MB image (plain .tar OCI layout, layers of 20, 80
 * and 100 MB, uncompressed as r10e writes them) pushed to a docker-registry on loopback, against
 * `skopeo copy --preserve-digests oci-archive:… docker://…` of the same archive, in the same
 * run. Every run pushes to a fresh registry (its own storage), so that no blob is there already;
 * the runs interleave (r10e, skopeo, r10e, …) and the median is reported, with peak RSS from GNU
 * time. Both pushes must give the digest the writer printed. Usage:
 *
 *   deno run -A bench/push.ts [--size-mb 200] [--runs 3] [--dir /tmp/x] [--json]
 *
 * Targets (issue 11): at most 1.2x skopeo's time, under 150 MB RSS. Then, against one registry
 * holding the image: `r10e verify REF@digest image.tar` against `r10e verify image.tar image.tar`
 * (target: at most 1.5x).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writeImageArchive } from "../src/image/writer.ts";
import type { TarEntry } from "../src/tar/writer.ts";
import { measure, type Measurement, median } from "./_measure.ts";

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

const archive = `${dir}/image.tar`;
const parts = [0.1, 0.4, 0.5].map((f) => Math.max(1, Math.round(sizeMb * f)));
log(`writing ${archive} (layers of ${parts.join(", ")} MB)`);
using out = await Deno.open(archive, { write: true, create: true, truncate: true });
const written = await writeImageArchive({
  repository: "bench-push",
  tag: "latest",
  created: 0,
  images: [{
    platform: { os: "linux", architecture: "amd64" },
    config: { Env: ["PATH=/bin"] },
    layers: parts.map((mb, i) => ({
      createdBy: `layer ${i}`,
      entries: [
        { name: `l${i}`, kind: "dir", mode: 0o755, size: 0 } as TarEntry,
        file(`l${i}/data.bin`, mb, i + 1),
      ],
    })),
  }],
}, async (chunk) => {
  let off = 0;
  while (off < chunk.length) off += await out.write(chunk.subarray(off));
}, { compress: false });
const digest = written.images[0].manifestDigest;
// Warm the page cache: both contenders read the archive from memory.
await Deno.readFile(archive);

let run = 0;
async function withRegistry<T>(fn: (host: string) => Promise<T>): Promise<T> {
  const storage = `${dir}/registry-${run++}`;
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await Deno.writeTextFile(
    `${storage}.yml`,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = new Deno.Command("/usr/bin/docker-registry", {
    args: ["serve", `${storage}.yml`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let i = 0;; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v2/`);
        await r.body?.cancel();
        if (r.ok) break;
      } catch {
        if (i > 100) throw new Error("docker-registry did not start");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return await fn(`127.0.0.1:${port}`);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(storage, { recursive: true }).catch(() => {});
    await Deno.remove(`${storage}.yml`).catch(() => {});
  }
}

async function servedDigest(host: string, repo: string): Promise<string> {
  const r = await fetch(`http://${host}/v2/${repo}/manifests/v1`, {
    method: "HEAD",
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  await r.body?.cancel();
  return r.headers.get("docker-content-digest") ?? "";
}

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
  "skopeo copy oci-archive: docker://": (host) =>
    // --preserve-digests: the same job as r10e's (without it skopeo gzips every layer, and the
    // digest changes). A fresh registry per run: skopeo's blob-info cache cannot mount.
    `skopeo copy -q --preserve-digests --dest-tls-verify=false oci-archive:${archive} docker://${host}/bench:v1`,
};
const results: Record<string, Measurement[]> = {};
for (let i = 0; i < runs; i++) {
  for (const [name, script] of Object.entries(contenders)) {
    const m = await withRegistry(async (host) => {
      const m = await measure(script(host), { env });
      const got = await servedDigest(host, "bench");
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
const base = summary["skopeo copy oci-archive: docker://"];
const ratio = summary["r10e push"].wallSeconds / base.wallSeconds;
// Reading back (issue 11): `r10e verify REF@digest archive` against `r10e verify archive archive`,
// one registry holding the image, the runs interleaved.
const r10eCmd =
  `${deno} run -A --quiet --v8-flags=--expose-gc --config ${root}deno.json ${root}src/main.ts`;
const verifyRuns: Record<string, Measurement[]> = {};
await withRegistry(async (host) => {
  await measure(`${r10eCmd} push -q ${archive} ${host}/bench:v1 > /dev/null`, { env });
  const scripts: Record<string, string> = {
    "r10e verify REF@digest image.tar": `${r10eCmd} verify -q ${host}/bench@${digest} ${archive}`,
    "r10e verify image.tar image.tar": `${r10eCmd} verify -q ${archive} ${archive}`,
  };
  for (let i = 0; i < runs; i++) {
    for (const [name, script] of Object.entries(scripts)) {
      const m = await measure(`${script} > /dev/null`, { env });
      log(`${name}: ${m.wallSeconds.toFixed(2)} s, ${m.peakRssMb.toFixed(0)} MB`);
      (verifyRuns[name] ??= []).push(m);
    }
  }
});
const verifySummary = Object.fromEntries(
  Object.entries(verifyRuns).map(([name, ms]) => [name, {
    wallSeconds: median(ms.map((m) => m.wallSeconds)),
    cpuSeconds: median(ms.map((m) => m.cpuSeconds ?? 0)),
    peakRssMb: Math.max(...ms.map((m) => m.peakRssMb)),
  }]),
);
const verifyBase = verifySummary["r10e verify image.tar image.tar"];
const verifyRatio = verifySummary["r10e verify REF@digest image.tar"].wallSeconds /
  verifyBase.wallSeconds;

function rows(table: Record<string, Measurement & { cpuSeconds: number }>, baseline: Measurement) {
  for (const [name, m] of Object.entries(table)) {
    console.log(
      `${name.padEnd(40)} ${m.wallSeconds.toFixed(2).padStart(7)} s  cpu ${
        m.cpuSeconds.toFixed(2).padStart(6)
      } s  ${m.peakRssMb.toFixed(0).padStart(5)} MB  ${
        (m.wallSeconds / baseline.wallSeconds).toFixed(2)
      }x`,
    );
  }
}

if (values.json) {
  console.log(JSON.stringify(
    {
      sizeMb,
      runs,
      digest,
      push: { results: summary, ratio },
      verify: { results: verifySummary, ratio: verifyRatio },
    },
    null,
    2,
  ));
} else {
  console.log(`push of a ${sizeMb} MB image to a loopback docker-registry (median of ${runs})`);
  rows(summary, base);
  console.log(`target: at most 1.2x skopeo, under 150 MB RSS`);
  console.log(`\nverify of the pushed image against its archive (median of ${runs})`);
  rows(verifySummary, verifyBase);
  console.log(`target: at most 1.5x verify of the two archives`);
}
if (!values.dir) await Deno.remove(dir, { recursive: true });
