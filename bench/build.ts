/**
 * Benchmark of issue 2: assemble a ~200 MB staged tree (a few large binaries and
 * 5,000 small files) with `r10e build --no-build-cmd`, against GNU
 * `tar --sort=name … | gzip -6` over the same tree, in the same run.
 * Target: r10e ≤ 1.5x the tar|gzip pipeline; peak RSS < 150 MB.
 *
 *   deno run -A bench/build.ts [--rounds N]
 *
 * @module
 */
import { compare, formatRows, median } from "./_measure.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
// Outside any git repository (one folder per checkout: helpers share /tmp): Go stamps no VCS information into the bench's "binaries"
// (Go's own tools), so the build's artifact audit checks only what they carry.
const WORK = `${Deno.env.get("TMPDIR") ?? "/tmp"}/r10e-bench-build-${REPO.replaceAll("/", "_")}`;
const GOROOT = "/usr/local/go";

/** Makes the project: build/ holds four large binaries made of Go's tool binaries, data/ 5,000 Go source files. */
export async function setup(): Promise<{ bytes: number; files: number }> {
  await Deno.remove(WORK, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${WORK}/project/build`, { recursive: true });
  await Deno.mkdir(`${WORK}/project/data`, { recursive: true });
  const tools = ["compile", "link", "vet", "fix", "cover", "asm", "cgo"].map((t) =>
    `${GOROOT}/pkg/tool/linux_amd64/${t}`
  );
  tools.push(`${GOROOT}/bin/go`, `${GOROOT}/bin/gofmt`);
  let bytes = 0;
  for (let i = 0; i < 4; i++) {
    const out = await Deno.open(`${WORK}/project/build/app${i}`, {
      write: true,
      create: true,
      mode: 0o755,
    });
    let size = 0;
    for (let j = 0; size < 36_000_000; j++) {
      const data = await Deno.readFile(tools[(i + j) % tools.length]);
      await out.write(data);
      size += data.length;
    }
    out.close();
    bytes += size;
  }
  const sources: string[] = [];
  const walk = async (dir: string) => {
    const entries = [...Deno.readDirSync(dir)].sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (sources.length >= 5000) return;
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      else if (e.isFile && e.name.endsWith(".go")) sources.push(`${dir}/${e.name}`);
    }
  };
  await walk(`${GOROOT}/src`);
  for (const [i, src] of sources.entries()) {
    const dest = `${WORK}/project/data/d${i % 50}/f${i}.go`;
    await Deno.mkdir(`${WORK}/project/data/d${i % 50}`, { recursive: true });
    await Deno.copyFile(src, dest);
    bytes += (await Deno.stat(dest)).size;
  }
  await Deno.writeTextFile(
    `${WORK}/project/config.json`,
    JSON.stringify({
      project_name: "bench",
      build_cmd: "true",
      go_version: "1.26.8",
      artifacts: [0, 1, 2, 3].map((i) => ({ src: `build/app${i}`, dest: `/app/app${i}` })),
      extern_data: [{ src: "data", dest: "/data" }],
      include_ca_bundle: true,
    }),
  );
  const init = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/src/main.ts`, "init", "-q"],
    cwd: `${WORK}/project`,
    env: { GOPROXY: "off" },
  }).output();
  if (!init.success) throw new Error(new TextDecoder().decode(init.stderr));
  return { bytes, files: sources.length + 4 };
}

function r10eBuild(extraEnv: Record<string, string>) {
  const deno = Deno.execPath();
  return import("./_measure.ts").then(({ measure }) =>
    measure(
      `"${deno}" run -A --v8-flags=--expose-gc "${REPO}/src/main.ts" build --no-build-cmd -q`,
      {
        cwd: `${WORK}/project`,
        env: {
          SOURCE_DATE_EPOCH: "0",
          PATH: Deno.env.get("PATH") ?? "",
          HOME: Deno.env.get("HOME") ?? "/",
          ...extraEnv,
        },
      },
    )
  );
}

if (import.meta.main) {
  const roundsAt = Deno.args.indexOf("--rounds");
  const rounds = roundsAt >= 0 ? Number(Deno.args[roundsAt + 1]) : 3;
  const { bytes, files } = await setup();
  console.log(
    `build: staged tree of ${files} files, ${
      (bytes / 1e6).toFixed(0)
    } MB; ${rounds} rounds, medians`,
  );
  const results = await compare({
    "tar --sort=name … | gzip -6": () =>
      // The same inputs r10e reads: the project's build/ and data/ trees.
      import("./_measure.ts").then(({ measure }) =>
        measure(
          "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - build data | gzip -6 > ../tar.tar.gz",
          { cwd: `${WORK}/project` },
        )
      ),
    "r10e build --no-build-cmd": () => r10eBuild({}),
    // The same without the artifact audit (issue 9: it must add under 5%).
    "r10e build --no-build-cmd, no audit": () => r10eBuild({ R10E_BENCH_SKIP_AUDIT: "1" }),
  }, rounds);
  console.log(formatRows(results, "tar --sort=name … | gzip -6"));
  const ratio = results["r10e build --no-build-cmd"].wallSeconds /
    results["tar --sort=name … | gzip -6"].wallSeconds;
  console.log(
    `ratio r10e / tar|gzip: ${ratio.toFixed(2)}x (target ≤ 1.5x); r10e peak RSS ${
      results["r10e build --no-build-cmd"].peakRssMb.toFixed(0)
    } MB (target < 150 MB)`,
  );
  const [withAudit, without] = [
    results["r10e build --no-build-cmd"],
    results["r10e build --no-build-cmd, no audit"],
  ];
  // The audit alone, in this process: reading the four artifacts' build info as build does.
  const { auditArtifacts } = await import("../src/build/audit.ts");
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await auditArtifacts(
      [0, 1, 2, 3].map((n) => ({
        src: `build/app${n}`,
        dest: `/app/app${n}`,
        path: `${WORK}/project/build/app${n}`,
      })),
      { goVersion: "1.26.8", revision: null, modified: null, mode: "host" },
    );
    times.push((performance.now() - t0) / 1000);
  }
  const alone = median(times);
  console.log(
    `artifact audit: ${
      ((withAudit.wallSeconds / without.wallSeconds - 1) * 100).toFixed(1)
    }% wall, ${
      ((withAudit.cpuSeconds! / without.cpuSeconds! - 1) * 100).toFixed(1)
    }% CPU between the two r10e rows (noise on a shared machine); the audit alone ${
      (alone * 1000).toFixed(0)
    } ms = ${(alone / without.wallSeconds * 100).toFixed(2)}% of the build (target < 5%)`,
  );
}
