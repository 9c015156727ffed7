/**
 * Benchmark of a whole build: a whole `r10e build --in host` of examples/hello (go
 * build, audit, staging with the CA bundle and extern_data, gzip) against `ko
 * build` of the same app, in the same run, with warm Go caches; and the same for a miniflux-sized
 * project made here (about 20 MB of assets under go:embed: makeEmbedProject). Targets: r10e ≤ 0.9x
 * ko on hello, ≤ 0.6x on the go:embed project; exits 1 when one is missed.
 * Also the same with each `layer_compression` ("gzip", the default,
 * and "none", a copy of the example with that one field added), and the layer
 * bytes a registry stores and a node pulls, r10e's against ko's.
 *
 * ko gets a base image from the loopback registry (`$R10E_TEST_REGISTRY`,
 * default 127.0.0.1:5555): a one-file image made with `docker import` and
 * pushed there, named by digest in KO_DEFAULTBASEIMAGE. ko writes a local
 * tarball (`--push=false --tarball`) as r10e writes a local archive, without
 * an SBOM (r10e writes none yet), for linux/amd64.
 *
 * Then, from r10e's own progress lines (timestamped as they arrive on stderr),
 * where r10e's time goes: Deno start-up and loading (until the first line),
 * build_cmd (`go build`), the artifact audit, staging and layer hashing, and
 * gzip plus writing the archive.
 *
 *   deno run -A bench/ko.ts [--rounds N] [--other CHECKOUT]
 *
 * `--other CHECKOUT` adds the r10e of another checkout (e.g. /work/main, or a copy
 * with another pinned level) as one more contender, on the same example.
 *
 * Needs: go, ko (scripts/setup.sh installs it), docker and the loopback registry
 * (scripts/dockerd.sh start).
 *
 * @module
 */
import { formatRows, measure, type Measurement, median } from "./_measure.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
// Outside any git repository (one folder per checkout: helpers share /tmp): neither tool stamps VCS information, the same for both.
const WORK = `${Deno.env.get("TMPDIR") ?? "/tmp"}/r10e-bench-ko-${REPO.replaceAll("/", "_")}`;
const REGISTRY = Deno.env.get("R10E_TEST_REGISTRY") ?? "127.0.0.1:5555";

async function sh(script: string, cwd?: string): Promise<string> {
  const out = await new Deno.Command("sh", { args: ["-c", script], cwd, stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`bench/ko: ${script} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/** Copies the example, runs r10e init, and pushes the base image ko builds on; returns ko's env. */
async function setup(): Promise<Record<string, string>> {
  await Deno.remove(WORK, { recursive: true }).catch(() => {});
  await Deno.mkdir(WORK, { recursive: true });
  await sh(
    `cp -r "${REPO}/examples/hello" "${WORK}/hello" && rm -rf "${WORK}/hello/build" "${WORK}/hello/r10e-docker/out"`,
  );
  // The same example with uncompressed layers (layer_compression is not pinned: init's pins stay valid).
  await sh(`cp -r "${WORK}/hello" "${WORK}/hello-none"`);
  const config = await Deno.readTextFile(`${WORK}/hello-none/config.json`);
  await Deno.writeTextFile(
    `${WORK}/hello-none/config.json`,
    config.replace(/\}\s*$/, ',\n  "layer_compression": "none"\n}\n'),
  );
  await makeEmbedProject(`${WORK}/embed`);
  const tag = `${REGISTRY}/r10e-bench-ko-base:${crypto.randomUUID().slice(0, 8)}`;
  // One small file: ko needs a base image, and a scratch-like one keeps the comparison fair.
  await sh(
    `d=$(mktemp -d) && mkdir -p "$d/etc" && echo 'root:x:0:0:root:/root:/sbin/nologin' > "$d/etc/passwd" && ` +
      `tar -C "$d" --numeric-owner --owner=0 --group=0 -cf - . | docker import - "${tag}" >/dev/null && ` +
      `rm -rf "$d" && docker push "${tag}" >/dev/null`,
  );
  const digest = await sh(
    `docker image inspect --format '{{index .RepoDigests 0}}' "${tag}"`,
  );
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/",
    ...(Deno.env.get("GOCACHE") ? { GOCACHE: Deno.env.get("GOCACHE")! } : {}),
    ...(Deno.env.get("GOMODCACHE") ? { GOMODCACHE: Deno.env.get("GOMODCACHE")! } : {}),
    GOFLAGS: "",
    GOTOOLCHAIN: "local",
    KO_DEFAULTBASEIMAGE: digest,
    KO_DOCKER_REPO: `${REGISTRY}/r10e-bench-ko`,
  };
}

/**
 * A miniflux-sized project (its image holds a 22 MB binary, mostly assets under go:embed): a Go
 * module of the standard library alone (no network; the same go for both tools) serving about
 * 20 MB of embedded assets, text that compresses like web assets (Go sources) and 6 MB of
 * binary data (a Go tool binary's bytes), with r10e's config and pins (`r10e init`).
 */
async function makeEmbedProject(dir: string): Promise<void> {
  const goroot = (await sh("go env GOROOT")).trim();
  await Deno.mkdir(`${dir}/assets/text`, { recursive: true });
  const sources: string[] = [];
  const walk = (d: string) => {
    for (const e of [...Deno.readDirSync(d)].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory && e.name !== "testdata") walk(`${d}/${e.name}`);
      else if (e.isFile && e.name.endsWith(".go")) sources.push(`${d}/${e.name}`);
    }
  };
  walk(`${goroot}/src/net`);
  walk(`${goroot}/src/crypto`);
  let text = 0;
  for (const [i, src] of sources.entries()) {
    if (text >= 14_000_000) break;
    const bytes = await Deno.readFile(src);
    await Deno.writeFile(`${dir}/assets/text/f${String(i).padStart(4, "0")}.go.txt`, bytes);
    text += bytes.length;
  }
  const tool = await Deno.readFile(`${goroot}/pkg/tool/linux_amd64/compile`);
  await Deno.writeFile(`${dir}/assets/blob.bin`, tool.subarray(0, 6_000_000));
  await Deno.writeTextFile(`${dir}/go.mod`, "module example.com/embed\n\ngo 1.24\n");
  await Deno.writeTextFile(
    `${dir}/main.go`,
    `package main

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"os"
)

//go:embed assets
var assets embed.FS

func main() {
	n := 0
	_ = fs.WalkDir(assets, ".", func(string, fs.DirEntry, error) error { n++; return nil })
	fmt.Println(n, "assets")
	if len(os.Args) > 1 {
		_ = http.ListenAndServe(os.Args[1], http.FileServer(http.FS(assets)))
	}
}
`,
  );
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      project_name: "r10e-embed",
      build_cmd: "go build -o build/embed .",
      go_version: "1.26.8",
      artifacts: [{ src: "build/embed", dest: "/app/embed" }],
      include_ca_bundle: true,
      entrypoint: ["/app/embed"],
    }),
  );
  await sh(`GOPROXY=off ${R10E} init -q`, dir);
}

const r10eEnv = () => ({
  PATH: Deno.env.get("PATH") ?? "",
  HOME: Deno.env.get("HOME") ?? "/",
  ...(Deno.env.get("GOCACHE") ? { GOCACHE: Deno.env.get("GOCACHE")! } : {}),
  ...(Deno.env.get("GOMODCACHE") ? { GOMODCACHE: Deno.env.get("GOMODCACHE")! } : {}),
  SOURCE_DATE_EPOCH: "1700000000",
});

const r10eOf = (checkout: string) =>
  `"${Deno.execPath()}" run -A --v8-flags=--expose-gc "${checkout}/src/main.ts"`;
const R10E = r10eOf(REPO);
const R10E_BUILD = `${R10E} build --in host -q`;
/** The whole build's wall time against ko's, at most: examples/hello, and the go:embed project. */
const HELLO_TARGET = 0.9;
const EMBED_TARGET = 0.6;
const KO_BUILD = `ko build --push=false --tarball="${WORK}/ko.tar" --sbom=none ` +
  "--platform=linux/amd64 . >/dev/null";

/** One r10e build with each progress line's arrival time; returns the phases in seconds. */
async function phases(): Promise<Record<string, number>> {
  const t0 = performance.now();
  const child = new Deno.Command("sh", {
    args: ["-c", R10E_BUILD.replace(" -q", "")],
    cwd: `${WORK}/hello`,
    env: r10eEnv(),
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const marks: { at: number; line: string }[] = [];
  let rest = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stderr) {
    const now = performance.now();
    rest += dec.decode(chunk, { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop()!;
    for (const line of lines) marks.push({ at: now, line });
  }
  const status = await child.status;
  const end = performance.now();
  if (!status.success) {
    throw new Error(`bench/ko: r10e build failed:\n${marks.map((m) => m.line).join("\n")}`);
  }
  const at = (re: RegExp) => {
    const m = marks.find((x) => re.test(x.line));
    if (!m) throw new Error(`bench/ko: no progress line matching ${re}`);
    return m.at;
  };
  const first = marks[0].at;
  const run = at(/Running build_cmd/);
  const staging = at(/Staging artifacts/);
  const checked = at(/Checked the build info|Not checked/);
  const writing = at(/Writing archive/);
  return {
    "Deno start-up, module loading, config, pins, git": (first - t0) / 1000,
    "until build_cmd starts (creation time, git state)": (run - first) / 1000,
    "build_cmd (go build, warm cache)": (staging - run) / 1000,
    "collect + artifact audit": (checked - staging) / 1000,
    "stage + hash layers (+ gzip layers)": (writing - checked) / 1000,
    "write archive (outer gzip) + exit": (end - writing) / 1000,
    total: (end - t0) / 1000,
  };
}

/** Sum of the layer blobs' sizes of a docker-archive (`manifest.json`'s `Layers`): what a registry stores. */
async function layerBytes(archive: string): Promise<{ bytes: number; layers: number }> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-bench-ko-" });
  try {
    await sh(`tar -xf "${archive}" -C "${dir}"`);
    const [manifest] = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    let bytes = 0;
    for (const layer of manifest.Layers as string[]) {
      bytes += (await Deno.stat(`${dir}/${layer}`)).size;
    }
    return { bytes, layers: manifest.Layers.length };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const roundsAt = Deno.args.indexOf("--rounds");
  const rounds = roundsAt >= 0 ? Number(Deno.args[roundsAt + 1]) : 5;
  const otherAt = Deno.args.indexOf("--other");
  const other = otherAt >= 0 ? Deno.args[otherAt + 1] : null;
  const koEnv = await setup();
  const inHello = { cwd: `${WORK}/hello`, env: r10eEnv() };
  const inNone = { cwd: `${WORK}/hello-none`, env: r10eEnv() };
  // Warm both: the Go build cache holds the example's packages for both sets of flags.
  await measure(R10E_BUILD, inHello);
  await measure(R10E_BUILD, inNone);
  await measure(KO_BUILD, { cwd: `${WORK}/hello`, env: koEnv });
  console.log(`ko: examples/hello, warm Go caches; ${rounds} rounds interleaved, medians`);
  // Interleaved rounds as in _measure.ts's compare, keeping CPU time too: on a shared
  // machine the CPU seconds show the work done, the wall time the cores it got.
  const KO = "ko build (--push=false --tarball)";
  const GZ = 'r10e build --in host (layer_compression "gzip")';
  const NONE = 'r10e build --in host (layer_compression "none")';
  const KO_EMBED = "ko build, 20 MB go:embed project";
  const EMBED = "r10e build --in host, 20 MB go:embed project";
  const inEmbed = { cwd: `${WORK}/embed`, env: r10eEnv() };
  await measure(R10E_BUILD, inEmbed);
  await measure(KO_BUILD, { cwd: `${WORK}/embed`, env: koEnv });
  const contenders: Record<string, () => Promise<Measurement>> = {
    [KO]: () => measure(KO_BUILD, { cwd: `${WORK}/hello`, env: koEnv }),
    [KO_EMBED]: () => measure(KO_BUILD, { cwd: `${WORK}/embed`, env: koEnv }),
    [EMBED]: () => measure(R10E_BUILD, inEmbed),
    [GZ]: () => measure(R10E_BUILD, inHello),
    [NONE]: () => measure(R10E_BUILD, inNone),
    // Without the outer gzip: how much of the difference is the pinned pure-JS compressor.
    'r10e ... "none" --format tar (no gzip at all)': () =>
      measure(`${R10E_BUILD} --format tar`, inNone),
  };
  if (other) {
    const outside = `${WORK}/hello-other`;
    // That checkout's own example: its pins name its own image format.
    await sh(
      `rm -rf "${outside}" && cp -r "${other}/examples/hello" "${outside}" && rm -rf "${outside}/build" "${outside}/r10e-docker/out"`,
    );
    const cmd = `${r10eOf(other)} build --in host -q`;
    await measure(cmd, { cwd: outside, env: r10eEnv() });
    contenders[`r10e of ${other}`] = () => measure(cmd, { cwd: outside, env: r10eEnv() });
  }
  const all: Record<string, Measurement[]> = {};
  for (let i = 0; i < rounds; i++) {
    for (const [name, fn] of Object.entries(contenders)) (all[name] ??= []).push(await fn());
  }
  const results = Object.fromEntries(
    Object.entries(all).map(([name, ms]) => [name, {
      wallSeconds: median(ms.map((m) => m.wallSeconds)),
      peakRssMb: Math.max(...ms.map((m) => m.peakRssMb)),
      cpuSeconds: median(ms.map((m) => m.cpuSeconds ?? 0)),
    }]),
  );
  console.log(formatRows(results, KO));
  const ratios: [string, string, number | null][] = [
    [GZ, KO, HELLO_TARGET],
    [EMBED, KO_EMBED, EMBED_TARGET],
    ...Object.keys(results).filter((n) => ![KO, KO_EMBED, GZ, EMBED].includes(n))
      .map((n): [string, string, null] => [n, KO, null]),
  ];
  for (const [name, peer, target] of ratios) {
    const [r, ko] = [results[name], results[peer]];
    const ratio = r.wallSeconds / ko.wallSeconds;
    console.log(
      `ratio ${name} / ${peer}: ${ratio.toFixed(2)}x wall${
        target === null ? "" : ` (target ≤ ${target}x)`
      }, ` +
        `${(r.cpuSeconds! / ko.cpuSeconds!).toFixed(2)}x CPU (${r.cpuSeconds!.toFixed(2)} s / ${
          ko.cpuSeconds!.toFixed(2)
        } s)`,
    );
    if (target !== null && ratio > target) Deno.exitCode = 1;
  }
  console.log(`load average ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  // What a registry stores and a node pulls: the layer blobs (ko's include its one-file base layer).
  const out = (dir: string) => `${dir}/r10e-docker/out/r10e-hello-latest.tar.gz`;
  const sizes = {
    ko: await layerBytes(`${WORK}/ko.tar`),
    gzip: await layerBytes(out(`${WORK}/hello`)),
    none: await layerBytes(out(`${WORK}/hello-none`)),
  };
  const archives = {
    gzip: (await Deno.stat(out(`${WORK}/hello`))).size,
    none: (await Deno.stat(out(`${WORK}/hello-none`))).size,
  };
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  console.log("layer bytes (registry storage and pull size):");
  console.log(
    `  ko (gzip, Go's BestSpeed)        ${mb(sizes.ko.bytes)} in ${sizes.ko.layers} layers`,
  );
  for (const kind of ["gzip", "none"] as const) {
    console.log(
      `  r10e layer_compression "${kind}"${" ".repeat(6 - kind.length)} ${
        mb(sizes[kind].bytes)
      } in ${sizes[kind].layers} layers, ${
        (sizes[kind].bytes / sizes.ko.bytes).toFixed(2)
      }x ko; archive on disk ${mb(archives[kind])}`,
    );
  }
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < rounds; i++) runs.push(await phases());
  console.log('where r10e\'s time goes, layer_compression "gzip" (medians, seconds):');
  for (const key of Object.keys(runs[0])) {
    console.log(`  ${key.padEnd(52)} ${median(runs.map((r) => r[key])).toFixed(3)}`);
  }
  const version = await measure(`${R10E} version >/dev/null 2>&1 || ${R10E} --version`, {
    env: r10eEnv(),
  });
  console.log(`  (for scale: \`r10e --version\` alone ${version.wallSeconds.toFixed(2)} s)`);
}
