/**
 * The command line: argv → command. The only place that reads `Deno.env`,
 * prints, and exits (STYLE: shape). Everything below takes values and returns
 * values or throws.
 *
 * @module
 */
// commander with extra-typings: typed options and arguments; @cliffy/command is JSR-only (STYLE: dependencies).
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { isAbsolute, join } from "node:path";
import { exitCodeOf, UsageError } from "./errors.ts";
import { printable } from "./printable.ts";
import { parseToolchainList } from "./build/toolchain.ts";
import { VERSION } from "./version.ts";
import { IGNORABLE } from "./verify/causes.ts";
import { globRegExp } from "./verify/glob.ts";
import { addPushCommand } from "./cli/push.ts";

/** Where a command writes: injectable so that tests can run `main` in-process. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Raw bytes to standard error (build_cmd output). */
  stderrBytes: (bytes: Uint8Array) => void;
  /** Raw bytes to standard output (for `cp … -`). */
  stdoutBytes: WritableStream<Uint8Array>;
  env: Record<string, string>;
  cwd: string;
  /** Install signal handlers (Ctrl-C cleanup); false when run in-process by tests. */
  signals: boolean;
  isTerminal: boolean;
}

/** Mutable result of a command's action: actions set a non-zero exit code here instead of exiting. */
interface State {
  exitCode: number;
}

function buildProgram(io: Io, state: State) {
  const program = new Command()
    .name("r10e")
    .description(
      "Bit-for-bit reproducible, minimal container images for Go applications.\n\n" +
        "The same commit built on two machines gives byte-identical image archives. " +
        "Run `r10e init` once in a Go project that has a config.json, commit r10e-docker/, " +
        "then `r10e build`; anyone can rebuild and compare with `r10e verify`.",
    )
    .version(VERSION, "-V, --version")
    .option("--verbose", "print the cause chain of errors and more progress")
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(printable(s, { multiline: true })),
    })
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");

  program.addHelpText(
    "after",
    `
Exit codes: 0 success (images identical), 1 build failed (images differ), 2 usage, config or input error.

Examples:
  r10e init                      write r10e-docker/ from ./config.json
  r10e build                     build r10e-docker/out/<project_name>-latest.tar.gz
  r10e verify a.tar.gz b.tar.gz  why do two images differ?
  r10e cp image.tar.gz /app/server ./out/`,
  );

  // ── init ─────────────────────────────────────────────────────────────────
  program.command("init")
    .description(
      "Write r10e-docker/ next to config.json: the build recipe and its pinned inputs " +
        "(exact Go version, CA bundle sha256, builder image digest). Commit the folder.",
    )
    .option("-c, --config <path>", "the project's config.json", "config.json")
    .option("-f, --force", "overwrite files in r10e-docker/ that were changed by hand")
    .option("-q, --quiet", "print nothing but errors")
    .addHelpText(
      "after",
      `
go_version "1.26" resolves to the newest 1.26.x the Go module proxy lists (GOPROXY),
or r10e's own table when it is unreachable; the exact version is recorded in
r10e-docker/pins.json and later builds never drift from it. Running init again with
the same config writes the same bytes.`,
    )
    .action(async (opts) => {
      const quiet = opts.quiet === true;
      const say = (s: string) => quiet || io.stderr(printable(s) + "\n");
      // Each command loads its modules when it runs: less to start, less memory (issue 2: RSS).
      const { init } = await import("./init/init.ts");
      const { pinImage } = await import("./build/docker.ts");
      const result = await init({
        configPath: resolvePath(io.cwd, opts.config),
        force: opts.force === true,
        listGoVersions: () => listGoVersions(io.env),
        // issue 3: pin the builder image by digest through the local engine when there is one
        pinBuilderImage: (image) => pinImage({ env: io.env }, image),
        onProgress: say,
      });
      for (const w of result.warnings) io.stderr(`r10e: warning: ${printable(w)}\n`);
      if (!quiet) {
        io.stdout(
          `Wrote ${result.dir}/ (${result.written.length} written, ${result.unchanged.length} unchanged)\n` +
            `  Go ${result.pins.go_version}` +
            (result.pins.go_version_requested
              ? ` (go_version "${result.pins.go_version_requested}")`
              : " (default)") +
            `\n  CA bundle ${
              result.pins.ca_bundle_sha256 ? "sha256:" + result.pins.ca_bundle_sha256 : "none"
            }` +
            `\n  builder ${result.pins.builder_image ?? "NOT PINNED"}\n`,
        );
      }
    });

  // ── build ────────────────────────────────────────────────────────────────
  program.command("build")
    .description(
      "Run build_cmd with the pinned Go toolchain and write the image to " +
        "r10e-docker/out/<project_name>-latest.tar.gz, which `docker load` accepts.",
    )
    .option("-c, --config <path>", "the project's config.json", "config.json")
    .addOption(
      new Option("--in <where>", "where build_cmd runs").choices(
        ["auto", "host", "docker"] as const,
      )
        .default("auto" as const),
    )
    .addOption(
      new Option("--format <format>", "outer archive format").choices(["tar.gz", "tar"] as const)
        .default("tar.gz" as const),
    )
    .option("--allow-unpinned", "let --in docker use a builder image not pinned by digest")
    .option(
      "--network <network>",
      "--in docker: network of the build_cmd container (default: Docker's; none when the engine has no bridge)",
    )
    .option("--no-build-cmd", "skip build_cmd and package the artifacts already on disk")
    .option("--json", "print a machine-readable summary on stdout")
    .option("-q, --quiet", "no progress on stderr (build_cmd output still streams)")
    .addHelpText(
      "after",
      `
Environment of build_cmd: GOTOOLCHAIN=go<pinned>, GOENV=off (your go env -w settings
do not leak in), CGO_ENABLED=0, GOFLAGS="-trimpath -mod=readonly", GOOS/GOARCH from
the platform, GOAMD64=v1, SOURCE_DATE_EPOCH, TZ=UTC, LC_ALL=C, umask 022; of the host
only PATH, HOME, the Go cache and proxy variables pass through.

Creation time: SOURCE_DATE_EPOCH if set, else the commit time of git HEAD, else 0.
Prints the archive path and sha256, the image ID, the manifest digest and the
sha256 of each artifact. Exit 1 when build_cmd fails, 2 for config errors.`,
    )
    .action(async (opts) => {
      const quiet = opts.quiet === true;
      const json = opts.json === true;
      // Ctrl-C: stop build_cmd and remove the partial archive before exiting (exit 1).
      const controller = new AbortController();
      const interrupt = () => controller.abort();
      if (io.signals) Deno.addSignalListener("SIGINT", interrupt);
      const { build } = await import("./build/build.ts");
      let result;
      try {
        result = await build({
          configPath: resolvePath(io.cwd, opts.config),
          hostEnv: io.env,
          mode: opts.in,
          format: opts.format,
          skipBuildCmd: opts.buildCmd === false,
          allowUnpinned: opts.allowUnpinned === true,
          network: opts.network,
          onProgress: (m) => quiet || io.stderr(`r10e: ${printable(m)}\n`),
          onWarning: (m) => io.stderr(`r10e: warning: ${printable(m)}\n`),
          onOutput: (chunk) => io.stderrBytes(chunk),
          signal: controller.signal,
        });
      } finally {
        if (io.signals) Deno.removeSignalListener("SIGINT", interrupt);
      }
      if (json) {
        io.stdout(JSON.stringify(result, null, 2) + "\n");
        return;
      }
      const lines = [
        "======= CONTAINER IMAGE INFO ========",
        `Container image created in ${result.archivePath}`,
        `IMAGE sha256sum: ${result.archiveSha256}`,
        `IMAGE ID: ${result.imageId}`,
        `MANIFEST DIGEST: ${result.manifestDigest}`,
        ...result.artifacts.map((a) => `ARTIFACT ${a.dest}(sha256:${a.sha256})`),
      ];
      io.stdout(lines.map((l) => printable(l)).join("\n") + "\n");
    });

  // ── verify ───────────────────────────────────────────────────────────────
  // (owned by issue 4: verify)
  // No default value: commander would print "(default: [])" in the help.
  const collect = (value: string, previous: string[] | undefined) => [
    ...(previous ?? []),
    ...value.split(","),
  ];
  program
    .command("verify")
    .description(
      "Compare two image archives and say why they differ: archive, index, manifest, " +
        "config field by field, layers by position, files (mode, owner, mtime, content…), " +
        "Go build info of changed binaries; each finding with its likely cause and fix.",
    )
    .argument("<a>", "image: docker-archive or OCI layout (.tar, .tar.gz, .tar.zst or directory)")
    .argument("<b>", "image to compare with")
    .option("--json", "print the findings as JSON (schema: docs/verify-json.md)")
    .option(
      "--ignore <what>",
      "ignore expected differences: timestamps, owner, order, compression, config-encoding (repeatable, or comma-separated)",
      collect,
    )
    .option(
      "--ignore-path <glob>",
      "ignore differences in files matching GLOB (repeatable)",
      collect,
    )
    .option("--platform <os/arch>", "compare the image of this platform (e.g. linux/arm64)")
    .option("--full", "list every finding instead of folding many alike ones")
    .option("-q, --quiet", "no progress on stderr")
    .addHelpText(
      "after",
      `
Exit codes: 0 identical, 1 the images differ, 2 an input cannot be read or bad usage.
Compare the output of two builds:  r10e verify a/out/app-latest.tar.gz b/out/app-latest.tar.gz`,
    )
    .action(async (a, b, opts) => {
      const causes = (opts.ignore ?? []).map((w) => {
        const cause = IGNORABLE[w.trim()];
        if (!cause) {
          throw new UsageError(
            `Unknown --ignore value "${w}": expected ${Object.keys(IGNORABLE).join(", ")}`,
          );
        }
        return cause;
      });
      const ignorePath = opts.ignorePath ?? [];
      for (const g of ignorePath) {
        try {
          globRegExp(g);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      }
      const quiet = opts.quiet === true;
      // Messages name the inputs as typed when they are relative to the process's own directory.
      const where = (p: string) => (io.cwd === Deno.cwd() ? p : resolvePath(io.cwd, p));
      const { verifyImages } = await import("./verify/verify.ts");
      const { formatReport } = await import("./verify/report.ts");
      const report = await verifyImages(where(a), where(b), {
        ignore: { causes, paths: ignorePath },
        platform: opts.platform,
        onProgress: (line) => quiet || io.stderr(`r10e: ${printable(line)}\n`),
      });
      // Inputs are shown as the user typed them.
      report.a.input = a;
      report.b.input = b;
      if (opts.json) io.stdout(JSON.stringify(report, null, 2) + "\n");
      else {
        const color = io.isTerminal && !("NO_COLOR" in io.env);
        io.stdout(formatReport(report, { color, full: opts.full === true }));
      }
      state.exitCode = report.identical ? 0 : 1;
    });

  // ── cp ───────────────────────────────────────────────────────────────────
  // (owned by issue 5: cp)
  program
    .command("cp")
    .description(
      "Copy a file or directory out of an image archive, like `docker create` + `docker cp -L`, " +
        "without a daemon. SRC is an absolute path in the image's merged filesystem; symlinks " +
        "are followed inside the image root. Prints name(sha256:<hex>) for each file copied.",
    )
    .argument(
      "<image>",
      "image: docker-archive or OCI layout (.tar, .tar.gz, .tar.zst or directory)",
    )
    .argument(
      "<src>",
      "path in the image, e.g. /app/server; end a directory with /. to copy its contents",
    )
    .argument(
      "<dest>",
      "host path (docker cp rules: an existing directory receives SRC inside it), or - for a tar stream on stdout",
    )
    .option(
      "--platform <os/arch>",
      "the image of this platform in a multi-platform input (e.g. linux/arm64)",
    )
    .option("--json", "print a JSON list of {path, size, sha256} instead")
    .addHelpText(
      "after",
      `
Exit codes: 0 copied, 2 the image cannot be read, SRC is missing or the destination is refused.
Examples:
  r10e cp out/app-latest.tar.gz /app/server ./bin/        ./bin/server(sha256:…)
  r10e cp image.tar /etc/ssl/certs/. ./certs              contents of the directory into ./certs
  r10e cp image.tar /app - | tar -t                       a tar stream`,
    )
    .action(async (image, src, dest, opts) => {
      // Paths are used as typed when they are relative to the process's own directory.
      const where = (p: string) => (io.cwd === Deno.cwd() || isAbsolute(p) ? p : join(io.cwd, p));
      const toStdout = dest === "-";
      const { cp } = await import("./cp/cp.ts");
      const result = await cp(where(image), { src, dest: toStdout ? dest : where(dest) }, {
        platform: opts.platform,
        stdout: toStdout ? io.stdoutBytes : undefined,
      });
      // With `-`, stdout carries the tar stream: the list goes to stderr.
      const print = toStdout ? io.stderr : io.stdout;
      if (opts.json) {
        const files = result.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }));
        print(JSON.stringify(files, null, 2) + "\n");
      } else {
        // Names come from the image: escaped, so that they cannot drive the terminal (issue 10).
        print(result.files.map((f) => `${printable(f.path)}(sha256:${f.sha256})\n`).join(""));
      }
    });

  // ── push ─────────────────────────────────────────────────────────────────
  // (owned by issue 11: registry; options and help in src/cli/push.ts)
  addPushCommand(program, io, () => program.opts().verbose === true);

  void state;
  return program;
}

/**
 * Runs the CLI with `args` and returns the exit code. Does not call `Deno.exit`,
 * so tests can run it in-process.
 */
export async function main(args: string[], io: Io): Promise<number> {
  const state = { exitCode: 0 };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync(args, { from: "user" });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
      if (error.code === "commander.help") return 0;
      return 2;
    }
    const verbose = program.opts().verbose === true;
    io.stderr(formatError(error, verbose) + "\n");
    return exitCodeOf(error);
  }
}

function resolvePath(cwd: string, path: string): string {
  return isAbsolute(path) ? path : join(cwd, path);
}

/**
 * Exact Go versions listed by the module proxy for golang.org/toolchain, or null
 * when no proxy in GOPROXY answers within a few seconds.
 */
async function listGoVersions(env: Record<string, string>): Promise<string[] | null> {
  const proxies = (env.GOPROXY ?? "https://proxy.golang.org,direct").split(/[,|]/)
    .filter((p) => p.startsWith("http"));
  for (const proxy of proxies) {
    try {
      const res = await fetch(`${proxy.replace(/\/$/, "")}/golang.org/toolchain/@v/list`, {
        signal: AbortSignal.timeout(8000),
      });
      if (res.ok) return parseToolchainList(await res.text());
      await res.body?.cancel();
    } catch {
      // Try the next proxy; none reachable means the shipped table decides.
    }
  }
  return null;
}

/** `r10e: message`, with the cause chain (and stack traces) only when verbose. */
export function formatError(error: unknown, verbose: boolean): string {
  const lines: string[] = [];
  let current: unknown = error;
  let first = true;
  while (current) {
    // Messages quote names from images and configs: escaped, keeping the lines they were made of.
    const message = printable(current instanceof Error ? current.message : String(current), {
      multiline: true,
    });
    lines.push(first ? `r10e: ${message}` : `  caused by: ${message}`);
    if (verbose && current instanceof Error && current.stack && !(current instanceof UsageError)) {
      lines.push(current.stack.split("\n").slice(1).join("\n"));
    }
    first = false;
    current = current instanceof Error ? current.cause : undefined;
    if (!verbose && current) {
      // Without --verbose, show only the innermost cause: it says what went wrong at the bottom.
      while (current instanceof Error && current.cause) current = current.cause;
      const inner = printable(current instanceof Error ? current.message : String(current), {
        multiline: true,
      });
      if (!lines[0].includes(inner)) lines.push(`  caused by: ${inner}`);
      break;
    }
  }
  return lines.join("\n");
}

/** Writes everything; a closed pipe (`r10e … | head`) ends the process quietly, as Unix tools do. */
function writeAll(out: { writeSync(b: Uint8Array): number }, bytes: Uint8Array): void {
  try {
    let off = 0;
    while (off < bytes.length) off += out.writeSync(bytes.subarray(off));
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    throw error;
  }
}

if (import.meta.main) {
  const code = await main(Deno.args, {
    stdout: (s) => writeAll(Deno.stdout, new TextEncoder().encode(s)),
    stderr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)),
    stderrBytes: (b) => {
      let off = 0;
      while (off < b.length) off += Deno.stderr.writeSync(b.subarray(off));
    },
    stdoutBytes: Deno.stdout.writable,
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    isTerminal: Deno.stdout.isTerminal(),
    signals: true,
  });
  Deno.exit(code);
}
