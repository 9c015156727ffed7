/**
 * Benchmark of reading an SBOM: `r10e sbom` of a 1 GB image against, in the same run,
 *
 * - the lower bound: `zcat image.tar.gz | sha256sum` (read the archive once);
 * - `syft scan docker-archive:image.tar -o syft-json` (syft reads no gzip-compressed archive,
 *   so it gets the same archive uncompressed: less work than ours, which also inflates);
 * - `r10e sbom image.tar`, the same uncompressed input as syft's.
 *
 * Target: r10e ≤ 1.5x the lower bound, peak RSS < 150 MB.
 *
 *   deno run -A bench/sbom_read.ts [--rounds N] [--files N] [--file-kb N]
 *
 * The image is an r10e-format archive (uncompressed layers inside a gzip outer tar, `gzip -6`):
 * a layer of real Go binaries (the Go toolchain's own, and tests/fixtures/moddeps built here, with
 * its two modules) and a layer of data files, half incompressible (an AES-CTR key stream), half
 * compressible (slices of the Go toolchain's binaries and sources). It is made once, in
 * bench/out/sbom_read, and kept between runs.
 *
 * @module
 */
import { createCipheriv } from "node:crypto";
import { compare, formatRows, measure, type Measurement } from "./_measure.ts";
import type { TarEntry } from "../src/tar/writer.ts";
import { writeImageArchive } from "../src/image/writer.ts";
import { concatBytes } from "../src/bytes.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const WORK = `${REPO}/bench/out/sbom_read`;

function arg(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

async function output(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).trim();
}

/** The Go binaries of the image: the toolchain's, and the fixture built with its modules. */
async function goBinaries(goroot: string): Promise<{ name: string; bytes: Uint8Array }[]> {
  const out: { name: string; bytes: Uint8Array }[] = [];
  await output(
    "go",
    ["build", "-trimpath", "-o", `${WORK}/moddeps`, "."],
    "tests/fixtures/moddeps",
  );
  out.push({ name: "app/moddeps", bytes: await Deno.readFile(`${WORK}/moddeps`) });
  for (const name of ["go", "gofmt"]) {
    out.push({
      name: `usr/local/go/bin/${name}`,
      bytes: await Deno.readFile(`${goroot}/bin/${name}`),
    });
  }
  const tools = `${goroot}/pkg/tool/linux_amd64`;
  const names = [];
  for await (const e of Deno.readDir(tools)) if (e.isFile) names.push(e.name);
  for (const name of names.sort()) {
    out.push({
      name: `usr/local/go/pkg/tool/${name}`,
      bytes: await Deno.readFile(`${tools}/${name}`),
    });
  }
  return out;
}

/** About 64 MiB of real program bytes (compressible like programs): Go tool binaries and sources. */
async function pool(goroot: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const t of ["compile", "link", "vet", "asm"]) {
    parts.push(await Deno.readFile(`${goroot}/pkg/tool/linux_amd64/${t}`));
  }
  parts.push(
    new TextEncoder().encode(
      (await Deno.readTextFile(`${goroot}/src/net/http/server.go`)).repeat(40),
    ),
  );
  return concatBytes(parts);
}

/** `size` bytes of an AES-128-CTR key stream for file `i`: incompressible, the same every run. */
function noise(i: number, size: number): Uint8Array {
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(12, i);
  const c = createCipheriv("aes-128-ctr", new Uint8Array(16).fill(7), iv);
  return new Uint8Array(c.update(new Uint8Array(size)));
}

function entries(
  binaries: { name: string; bytes: Uint8Array }[],
  data: Uint8Array,
  count: number,
  fileSize: number,
): { bins: TarEntry[]; files: TarEntry[] } {
  const dirs = new Set<string>();
  const bins: TarEntry[] = [];
  const dir = (name: string, into: TarEntry[]) => {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirs.has(d)) {
        dirs.add(d);
        into.push({ name: d, kind: "dir", mode: 0o755, size: 0 });
      }
    }
  };
  for (const b of binaries) {
    dir(b.name, bins);
    bins.push({
      name: b.name,
      kind: "file",
      mode: 0o755,
      size: b.bytes.length,
      content: async function* () {
        yield b.bytes;
      },
    });
  }
  const files: TarEntry[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < count; i++) {
    const name = `data/d${String(i % 100).padStart(2, "0")}/f${String(i).padStart(5, "0")}.bin`;
    dir(name, files);
    files.push({
      name,
      kind: "file",
      mode: 0o644,
      size: fileSize,
      content: async function* () {
        if (i % 2 === 0) {
          yield noise(i, fileSize);
        } else {
          const start = (i * 1_000_003) % (data.length - fileSize);
          const bytes = data.slice(start, start + fileSize);
          bytes.set(enc.encode(`file ${i}\n`), 0);
          yield bytes;
        }
      },
    });
  }
  const byName = (a: TarEntry, b: TarEntry) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { bins: bins.sort(byName), files: files.sort(byName) };
}

/** Writes image.tar.gz (r10e's writer, `gzip -6` outside) and image.tar (the same, uncompressed). */
async function makeImage(count: number, fileSize: number): Promise<void> {
  const goroot = await output("go", ["env", "GOROOT"]);
  const { bins, files } = entries(await goBinaries(goroot), await pool(goroot), count, fileSize);
  const path = `${WORK}/image.tar.gz`;
  const gzip = new Deno.Command("sh", {
    args: ["-c", `tee "${WORK}/image.tar.tmp" | gzip -6 > "${path}.tmp"`],
    stdin: "piped",
  }).spawn();
  const writer = gzip.stdin.getWriter();
  await writeImageArchive(
    {
      repository: "bench-sbom",
      tag: "latest",
      created: 1700000000,
      images: [{
        platform: { os: "linux", architecture: "amd64" },
        config: { Env: ["PATH=/usr/bin:/bin"], Entrypoint: ["/app/moddeps"] },
        layers: [
          { createdBy: "r10e: artifacts", entries: bins },
          { createdBy: "r10e: extern_data", entries: files },
        ],
      }],
    },
    (chunk) => writer.write(chunk),
    { compress: false },
  );
  await writer.close();
  if (!(await gzip.status).success) throw new Error("gzip failed");
  await Deno.rename(`${WORK}/image.tar.tmp`, `${WORK}/image.tar`);
  await Deno.rename(`${path}.tmp`, path);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** syft on PATH or in `$(go env GOPATH)/bin`, where scripts/setup.sh installs it. */
async function findSyft(): Promise<string | null> {
  const onPath = await new Deno.Command("sh", {
    args: ["-c", "command -v syft"],
    stdout: "piped",
  }).output();
  const p = new TextDecoder().decode(onPath.stdout).trim();
  if (onPath.success && p) return p;
  const gopath = await output("go", ["env", "GOPATH"]);
  return (await exists(`${gopath}/bin/syft`)) ? `${gopath}/bin/syft` : null;
}

if (import.meta.main) {
  const rounds = arg("--rounds", 1);
  const count = arg("--files", 10_000);
  const fileKb = arg("--file-kb", 100);
  await Deno.mkdir(WORK, { recursive: true });
  const stamp = `${WORK}/made-${count}-${fileKb}`;
  if (!(await exists(stamp))) {
    for await (const e of Deno.readDir(WORK)) {
      if (e.name.startsWith("made-")) await Deno.remove(`${WORK}/${e.name}`);
    }
    console.log(`making an image of Go binaries and ${count} files of ${fileKb} KB in ${WORK} …`);
    await makeImage(count, fileKb * 1024);
    await Deno.writeTextFile(stamp, "");
  }
  const gz = (await Deno.stat(`${WORK}/image.tar.gz`)).size;
  const tar = (await Deno.stat(`${WORK}/image.tar`)).size;
  console.log(
    `sbom: one image, ${(tar / 1e9).toFixed(2)} GB uncompressed (${count} data files, half ` +
      `incompressible), archive ${(gz / 1e6).toFixed(0)} MB gzip; ${rounds} round(s), medians`,
  );
  const env = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/",
    SYFT_CHECK_FOR_APP_UPDATE: "false",
  };
  const lower = "zcat image.tar.gz | sha256sum";
  const r10e = `"${REPO}/scripts/r10e" sbom`;
  const contenders: Record<string, () => Promise<Measurement>> = {
    [lower]: () => measure("zcat image.tar.gz | sha256sum", { cwd: WORK, env }),
    "r10e sbom image.tar.gz": () =>
      measure(`${r10e} image.tar.gz > r10e.spdx.json`, { cwd: WORK, env }),
    "r10e sbom image.tar": () =>
      measure(`${r10e} image.tar > r10e-tar.spdx.json`, { cwd: WORK, env }),
  };
  const syft = await findSyft();
  if (syft) {
    contenders["syft scan docker-archive:image.tar"] = () =>
      measure(`"${syft}" scan -q docker-archive:image.tar -o syft-json > syft.json`, {
        cwd: WORK,
        env,
      });
  } else console.log("syft: not installed (bash scripts/setup.sh installs it)");
  const results = await compare(contenders, rounds);
  console.log(formatRows(results, lower));
  const r = results["r10e sbom image.tar.gz"];
  console.log(
    `ratio r10e sbom / lower bound: ${(r.wallSeconds / results[lower].wallSeconds).toFixed(2)}x ` +
      `(target ≤ 1.5x); r10e peak RSS ${r.peakRssMb.toFixed(0)} MB (target < 150 MB)`,
  );
  console.log(
    "CPU seconds (user+sys): " +
      Object.entries(results).map(([n, m]) => `${n} ${(m.cpuSeconds ?? 0).toFixed(1)} s`).join(
        ", ",
      ) + `; load average at the end: ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
  );
  // Both read the same Go binaries: what each found is a check that each did its work.
  // deno-lint-ignore no-explicit-any
  type Json = any;
  const doc = JSON.parse(await Deno.readTextFile(`${WORK}/r10e.spdx.json`));
  const ours = {
    binaries: doc.relationships.filter((r: Json) => r.relationshipType === "GENERATED_FROM").length,
    modules: new Set(
      doc.packages.filter((p: Json) => p.SPDXID.startsWith("SPDXRef-Package-go-module-"))
        .map((p: Json) => `${p.name}@${p.versionInfo}`),
    ),
  };
  console.log(
    `r10e: ${doc.files.length} files, ${ours.binaries} Go binaries, modules ${
      [...ours.modules].sort().join(" ")
    }`,
  );
  if (syft) {
    const s = JSON.parse(await Deno.readTextFile(`${WORK}/syft.json`));
    const go = s.artifacts.filter((a: Json) => a.foundBy === "go-module-binary-cataloger");
    const mains = go.filter((a: Json) => a.metadata?.goBuildSettings !== undefined);
    const modules = new Set(
      go.filter((a: Json) => a.name !== "stdlib" && !mains.includes(a))
        .map((a: Json) => `${a.name}@${a.version}`),
    );
    console.log(
      `syft: ${s.files?.length ?? 0} files, ${mains.length} Go binaries, modules ${
        [...modules].sort().join(" ")
      }`,
    );
  }
}
