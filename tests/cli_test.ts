/**
 * The command line as people read it, run in-process through main's Io: help (one line per
 * command, examples first, nothing of another command, wrapped at words), one error style,
 * the version, the cause chain under --verbose.
 *
 * @module
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, r10eInProcess } from "./_cli.ts";

// A progress line redrawn on a terminal: carriage return, erase to the end of the line (ESC [ K),
// then "NN% done of total". Built with RegExp so the escape is not a control character in a literal.
const REDRAW = "\r" + String.fromCharCode(0x1b) + "\\[K";
const PROGRESS_LINE = new RegExp(`${REDRAW} +\\d+% [\\d.]+ (B|KiB|MiB) of [\\d.]+ (B|KiB|MiB)`);
const PROGRESS_LINE_MIB = new RegExp(`${REDRAW} +\\d+% [\\d.]+ (B|KiB|MiB) of [\\d.]+ MiB`);

const COMMANDS = [
  "init",
  "build",
  "verify",
  "cp",
  "push",
  "check",
  "sbom",
  "version",
  "completions",
];

const run = (args: string[]) => r10eInProcess(args, { cwd: Deno.cwd() });

Deno.test("--help: each command in one line, commands before options", async () => {
  const r = await run(["--help"]);
  assertEquals(r.code, 0, r.stderr);
  const list = /\nCommands:\n((?: {2}.*\n)+)/.exec(r.stdout)?.[1] ?? "";
  const names = list.split("\n").filter((l) => l).map((l) => l.trim().split(/\s+/)[0]);
  assertEquals(names, [...COMMANDS, "help"]);
  for (const line of list.split("\n").filter((l) => l)) {
    assertEquals(/^ {2}\S+ +\S/.test(line), true, `not one line per command: ${line}`);
  }
  assertEquals(r.stdout.indexOf("Commands:") < r.stdout.indexOf("Options:"), true);
});

Deno.test("COMMAND --help: examples before options; no other line past 80 columns", async (t) => {
  for (const command of COMMANDS) {
    await t.step(command, async () => {
      const r = await run([command, "--help"]);
      assertEquals(r.code, 0, r.stderr);
      const examples = r.stdout.indexOf("\nExamples:\n");
      assertEquals(examples > 0 && examples < r.stdout.indexOf("\nOptions:\n"), true, r.stdout);
      // Example commands are kept whole; everything else wraps at words.
      const block = /\nExamples:\n(?: {2}.*\n)+/.exec(r.stdout)?.[0] ?? "";
      for (const line of r.stdout.replace(block, "\n").split("\n")) {
        assertEquals(line.length <= 80, true, `${command} --help: ${JSON.stringify(line)}`);
      }
    });
  }
});

Deno.test("cp --help holds no help of verify", async () => {
  const r = await run(["cp", "--help"]);
  assertEquals(r.stdout.includes("r10e verify"), false, r.stdout);
  assertEquals(r.stdout.includes("verify fetches"), false, r.stdout);
});

Deno.test("errors of the parser read as r10e's own, exit 2", async (t) => {
  const cases: [string[], string][] = [
    [["build", "--hepl"], "r10e: Unknown option '--hepl' (did you mean --help?)\n"],
    [["verify", "a"], "r10e: Missing required argument 'b'\n"],
    [["nope"], "r10e: Unknown command 'nope'\n"],
  ];
  for (const [args, first] of cases) {
    await t.step(args.join(" "), async () => {
      const r = await run(args);
      assertEquals(r.code, 2);
      assertEquals(r.stderr.startsWith(first), true, r.stderr);
      assertEquals(r.stderr.includes("error:"), false, r.stderr);
      assertEquals(r.stderr.includes(".."), false, r.stderr);
    });
  }
});

Deno.test("version, -v, -V and --version print the same line", async () => {
  const lines = await Promise.all(["version", "-v", "-V", "--version"].map((a) => run([a])));
  for (const l of lines) assertEquals(l.stdout, lines[0].stdout);
  assertEquals(/^r10e \S+ \(image format \d+\)\n$/.test(lines[0].stdout), true, lines[0].stdout);
});

Deno.test("--verbose prints the cause chain, never a stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-cli-verbose-" });
  try {
    await Deno.writeTextFile(`${dir}/bad.tar`, "not a tar");
    const quiet = await r10eInProcess(["cp", "bad.tar", "/x", "out"], { cwd: dir });
    const verbose = await r10eInProcess(["--verbose", "cp", "bad.tar", "/x", "out"], { cwd: dir });
    assertEquals([quiet.code, verbose.code], [2, 2]);
    assertStringIncludes(verbose.stderr, "r10e: ");
    assertEquals(/^\s+at /m.test(verbose.stderr), false, verbose.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify of a local engine image name says to docker save it first", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-cli-engine-" });
  try {
    const r = await r10eInProcess(["verify", "myapp:latest", "other.tar"], { cwd: dir });
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      'myapp:latest": file not found; an image of the local Docker engine is read once saved: docker save -o myapp-latest.tar myapp:latest, then give myapp-latest.tar',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sbom: a table on a terminal, the SPDX document when piped or with --format", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-cli-sbom-" });
  try {
    await copyExample(dir);
    const b = await r10eInProcess(["build", "--in", "host", "-q"], {
      cwd: dir,
      env: { GOPROXY: "off", SOURCE_DATE_EPOCH: "0" },
    });
    assertEquals(b.code, 0, b.stderr);
    const archive = "r10e-docker/out/r10e-hello-latest.tar.gz";
    const table = await r10eInProcess(["sbom", archive], { cwd: dir, isTerminal: true });
    assertEquals(table.code, 0, table.stderr);
    assertEquals(/^NAME +VERSION +TYPE +FOUND IN$/m.test(table.stdout), true, table.stdout);
    assertEquals(
      /^stdlib +go1\.\d+\.\d+ +library +\/app\/hello$/m.test(table.stdout),
      true,
      table.stdout,
    );
    const piped = await r10eInProcess(["sbom", archive], { cwd: dir });
    assertEquals(JSON.parse(piped.stdout).spdxVersion, "SPDX-2.3");
    const asked = await r10eInProcess(["sbom", "--format", "spdx", archive], {
      cwd: dir,
      isTerminal: true,
    });
    assertEquals(asked.stdout, piped.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build progress: bytes redrawn on a terminal, a line per step when piped, nothing with -q", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-cli-progress-" });
  try {
    await copyExample(dir);
    const env = { GOPROXY: "off", SOURCE_DATE_EPOCH: "0" };
    const build = (args: string[], stderrIsTerminal: boolean) =>
      r10eInProcess(["build", "--in", "host", ...args], { cwd: dir, env, stderrIsTerminal });
    const terminal = await build([], true);
    assertEquals(terminal.code, 0, terminal.stderr);
    assertEquals(
      PROGRESS_LINE.test(terminal.stderr),
      true,
    );
    const piped = await build([], false);
    assertStringIncludes(piped.stderr, "r10e: Writing archive");
    assertEquals(piped.stderr.includes("\r"), false, piped.stderr);
    const quiet = await build(["-q"], true);
    assertEquals(quiet.stderr.includes("r10e: Writing archive"), false, quiet.stderr);
    assertEquals(quiet.stderr.includes("%"), false, quiet.stderr);
    assertEquals(terminal.stdout, piped.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("push progress: bytes redrawn on a terminal, plain lines when piped", async (t) => {
  const { startRegistry, writeTestArchive } = await import("./_registry.ts");
  const { requireTool } = await import("./_docker.ts");
  if (!requireTool(t, "docker-registry")) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-cli-push-" });
  const registry = await startRegistry(`${dir}/registry`);
  try {
    await writeTestArchive(`${dir}/app.tar`, { size: 3_000_000, seed: 5 });
    const env = { DOCKER_CONFIG: `${dir}/docker`, XDG_CACHE_HOME: `${dir}/cache` };
    const terminal = await r10eInProcess(["push", "app.tar", `${registry.host}/p/app:v1`], {
      cwd: dir,
      env,
      stderrIsTerminal: true,
    });
    assertEquals(terminal.code, 0, terminal.stderr);
    assertEquals(PROGRESS_LINE_MIB.test(terminal.stderr), true);
    const piped = await r10eInProcess(["push", "app.tar", `${registry.host}/p/app:v2`], {
      cwd: dir,
      env,
    });
    assertEquals(piped.code, 0, piped.stderr);
    assertEquals(piped.stderr.includes("\r"), false, piped.stderr);
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registry reads: verify, cp and sbom show the layers' bytes on a terminal, a line per layer when piped, nothing with -q", async (t) => {
  const { startRegistry, writeTestArchive } = await import("./_registry.ts");
  const { requireTool } = await import("./_docker.ts");
  if (!requireTool(t, "docker-registry")) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-cli-pull-" });
  const registry = await startRegistry(`${dir}/registry`);
  try {
    await writeTestArchive(`${dir}/app.tar`, { size: 3_000_000, seed: 5 });
    await writeTestArchive(`${dir}/other.tar`, { size: 3_000_000, seed: 6 });
    const env = { DOCKER_CONFIG: `${dir}/docker`, XDG_CACHE_HOME: `${dir}/cache` };
    const ref = `${registry.host}/p/app:v1`;
    const pushed = await r10eInProcess(["push", "-q", "app.tar", ref], { cwd: dir, env });
    assertEquals(pushed.code, 0, pushed.stderr);
    const run = (args: string[], stderrIsTerminal: boolean) =>
      r10eInProcess(args, { cwd: dir, env, stderrIsTerminal });
    const commands: [string, string[]][] = [
      ["verify", ["verify", ref, "other.tar"]],
      ["cp", ["cp", ref, "/data/blob", "out-NAME"]],
      ["sbom", ["sbom", ref]],
    ];
    for (const [name, args] of commands) {
      const at = (n: string) => args.map((a) => a.replace("NAME", `${name}-${n}`));
      const want = name === "verify" ? 1 : 0; // the data layers differ
      const terminal = await run(at("terminal"), true);
      assertEquals(terminal.code, want, `${name}: ${terminal.stderr}`);
      assertEquals(PROGRESS_LINE_MIB.test(terminal.stderr), true, `${name}: ${terminal.stderr}`);
      const piped = await run(at("piped"), false);
      assertEquals(piped.code, want, `${name}: ${piped.stderr}`);
      assertStringIncludes(piped.stderr, `r10e: fetching layer 1 of 2 of ${registry.host}/p/app (`);
      assertEquals(piped.stderr.includes("\r"), false, `${name}: ${piped.stderr}`);
      const quiet = await run([...at("quiet"), "-q"], true);
      assertEquals(quiet.code, want, `${name}: ${quiet.stderr}`);
      assertEquals(quiet.stderr, "", `${name} -q`);
      assertEquals(terminal.stdout.length > 0, true, name);
    }
    // Of an index, each platform's layers are named with their platform.
    await writeTestArchive(`${dir}/multi.tar`, {
      seed: 7,
      platforms: ["linux/amd64", "linux/arm64"],
    });
    await writeTestArchive(`${dir}/multi2.tar`, {
      seed: 9,
      platforms: ["linux/amd64", "linux/arm64"],
    });
    const multi = `${registry.host}/p/multi:v1`;
    const pushedMulti = await r10eInProcess(["push", "-q", "multi.tar", multi], { cwd: dir, env });
    assertEquals(pushedMulti.code, 0, pushedMulti.stderr);
    const both = await run(["verify", multi, "multi2.tar"], false);
    assertEquals(both.code, 1, both.stderr);
    for (const platform of ["linux/amd64", "linux/arm64"]) {
      assertStringIncludes(
        both.stderr,
        `r10e: fetching ${platform} layer 1 of 2 of ${registry.host}/p/multi (`,
      );
    }
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify: two multi-platform archives whose every platform differs: exit 1, each platform's findings", async () => {
  const { writeTestArchive } = await import("./_registry.ts");
  const dir = await Deno.makeTempDir({ prefix: "r10e-cli-multi-" });
  try {
    const platforms = ["linux/amd64", "linux/arm64"];
    await writeTestArchive(`${dir}/a.tar`, { seed: 7, platforms });
    await writeTestArchive(`${dir}/b.tar`, { seed: 9, platforms });
    const r = await r10eInProcess(["verify", "--json", "a.tar", "b.tar"], { cwd: dir });
    assertEquals(r.code, 1, r.stderr);
    const found = new Set(
      JSON.parse(r.stdout).findings.map((f: { platform?: string }) => f.platform),
    );
    assertEquals([...found].sort(), platforms);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
