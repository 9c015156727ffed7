/**
 * Benchmark of several platforms: `r10e build --in host` of tests/fixtures/multiarch for two
 * platforms (linux/amd64 and linux/arm64, one archive with an image index) against the same
 * app for one platform (linux/amd64), in the same run. Target: two platforms ≤ 2.1x one
 * (Go's build is most of a build, and it runs once per platform; the CA and extern_data
 * layers are hashed and stored once).
 *
 * Every run first changes one Go constant of the app, so that Go compiles and links the main
 * package for each platform as after a commit; the standard library comes from a Go build
 * cache warmed for both platforms in setup (its own, under the bench folder). `--cold` gives
 * every run an empty Go build cache instead (the standard library compiled each time, as in a
 * fresh CI job; slow).
 *
 *   deno run -A bench/build_platforms.ts [--rounds N] [--cold]
 *
 * @module
 */
import { compare, formatRows, measure } from "./_measure.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
// Outside any git repository (one folder per checkout: helpers share /tmp).
const WORK = `${Deno.env.get("TMPDIR") ?? "/tmp"}/r10e-bench-platforms-${
  REPO.replaceAll("/", "_")
}`;
const FIXTURE = `${REPO}/tests/fixtures/multiarch`;
const ONE = "one platform (linux/amd64)";
const TWO = "two platforms (linux/amd64, linux/arm64)";

/** The fixture twice: `one/` with `platform`, `two/` with `platforms`; both initialized. */
async function setup(): Promise<void> {
  await Deno.remove(WORK, { recursive: true }).catch(() => {});
  const config = await Deno.readTextFile(`${FIXTURE}/config.json`);
  for (
    const [dir, field] of [
      ["one", '"platform": "linux/amd64"'],
      ["two", '"platforms": ["linux/amd64", "linux/arm64"]'],
    ]
  ) {
    await Deno.mkdir(`${WORK}/${dir}`, { recursive: true });
    for (const f of ["main.go", "go.mod", "greeting.txt"]) {
      await Deno.copyFile(`${FIXTURE}/${f}`, `${WORK}/${dir}/${f}`);
    }
    await Deno.writeTextFile(
      `${WORK}/${dir}/config.json`,
      config.replace('"platforms": ["linux/amd64", "linux/arm64"]', field),
    );
    await stamp(dir, 0);
    const init = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO}/src/main.ts`, "init", "-q"],
      cwd: `${WORK}/${dir}`,
      env: { ...env(), GOPROXY: "off" },
    }).output();
    if (!init.success) throw new Error(new TextDecoder().decode(init.stderr));
  }
  // Warm the bench's Go build cache for both platforms (the first build of each).
  for (const dir of ["one", "two"]) await build(dir, 0, false);
}

/** A Go file whose constant changes every run: the main package is compiled and linked again. */
async function stamp(dir: string, n: number): Promise<void> {
  await Deno.writeTextFile(
    `${WORK}/${dir}/stamp.go`,
    `package main\n\n// Written by bench/build_platforms.ts for run ${n}.\nconst benchRun = ${n}\n\nvar _ = benchRun\n`,
  );
}

function env(cache = `${WORK}/go-build`): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/",
    GOCACHE: cache,
    GOPROXY: "off",
    SOURCE_DATE_EPOCH: "1700000000",
  };
}

let runs = 0;
async function build(dir: string, n: number, cold: boolean) {
  await stamp(dir, n);
  const cache = cold ? `${WORK}/go-build-cold-${n}` : `${WORK}/go-build`;
  try {
    return await measure(
      `"${Deno.execPath()}" run -A --v8-flags=--expose-gc "${REPO}/src/main.ts" build --in host -q`,
      { cwd: `${WORK}/${dir}`, env: env(cache) },
    );
  } finally {
    if (cold) await Deno.remove(cache, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const roundsAt = Deno.args.indexOf("--rounds");
  const rounds = roundsAt >= 0 ? Number(Deno.args[roundsAt + 1]) : 3;
  const cold = Deno.args.includes("--cold");
  await setup();
  console.log(
    `build_platforms: tests/fixtures/multiarch, r10e build --in host, ${
      cold ? "empty Go build cache each run" : "main package changed each run, warm std cache"
    }; ${rounds} rounds, medians`,
  );
  const results = await compare({
    [ONE]: () => build("one", ++runs, cold),
    [TWO]: () => build("two", ++runs, cold),
  }, rounds);
  console.log(formatRows(results, ONE));
  const ratio = results[TWO].wallSeconds / results[ONE].wallSeconds;
  const cpu = results[TWO].cpuSeconds! / results[ONE].cpuSeconds!;
  console.log(
    `ratio two platforms / one: ${ratio.toFixed(2)}x wall, ${cpu.toFixed(2)}x CPU (target ≤ 2.1x)`,
  );
  if (ratio > 2.1) Deno.exitCode = 1;
}
