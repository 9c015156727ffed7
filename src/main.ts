/**
 * The command line: argv → command. The only place that reads `Deno.env`,
 * prints, and exits (STYLE: shape). Everything below takes values and returns
 * values or throws.
 *
 * @module
 */
// commander with extra-typings: typed options and arguments; @cliffy/command is JSR-only (STYLE: dependencies).
import { Argument, Command, CommanderError, Option } from "@commander-js/extra-typings";
import { basename, dirname, isAbsolute, join } from "node:path";
import { exitCodeOf, UsageError } from "./errors.ts";
import { printable } from "./printable.ts";
import {
  cleanUp,
  DEFAULT_GRACE_MS,
  HANDLED_SIGNALS,
  hurry,
  registerTemporary,
  removeStaleTemporaries,
  removeTemporary,
} from "./signals.ts";
import { parseToolchainList } from "./build/toolchain.ts";
import { VERSION } from "./version.ts";
import { IGNORABLE } from "./verify/causes.ts";
import { globRegExp } from "./verify/glob.ts";
import { addPushCommand } from "./cli/push.ts";
import { addCheckCommand } from "./cli/check.ts";
import { addSbomCommand } from "./cli/sbom.ts";
import { addRegistryOptions, registryOptions } from "./cli/registry_options.ts";

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
  /** Aborted on SIGINT, SIGTERM or SIGHUP: commands that take it stop and clean up. */
  signal: AbortSignal;
  /** Set by a command that stops by itself on `signal` (build): the interrupt waits for it. */
  unwinds: boolean;
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
Exit codes: 0 success (images identical), 1 build failed (images differ), 2 usage, config or
input error, and any other error; 130, 143, 129 when stopped by SIGINT, SIGTERM, SIGHUP (children
stopped, temporary files removed).

Examples:
  r10e init                      write r10e-docker/ from ./config.json
  r10e build                     build r10e-docker/out/<project_name>-latest.tar.gz
  r10e verify a.tar.gz b.tar.gz  why do two images differ?
  r10e check                     rebuild HEAD twice under different conditions and compare
  r10e cp image.tar.gz /app/server ./out/`,
  );

  // ── init ─────────────────────────────────────────────────────────────────
  program.command("init")
    .description(
      "Write r10e-docker/ at the project root: the build recipe and its pinned inputs " +
        "(exact Go version, CA bundle sha256, builder image digest). Commit the folder.",
    )
    .option("-c, --config <path>", "the project's config.json", "config.json")
    .option(
      "--project-dir <dir>",
      "the project root (default: the nearest directory at or above config.json with a go.mod, else the working directory)",
    )
    .option("-f, --force", "overwrite files in r10e-docker/ that were changed by hand")
    .option("-q, --quiet", "print nothing but errors")
    .addHelpText(
      "after",
      `
go_version "1.26" resolves to the newest 1.26.x the Go module proxy lists (GOPROXY),
or r10e's own table when it is unreachable; the exact version is recorded in
r10e-docker/pins.json and later builds never drift from it. Running init again with
the same config writes the same bytes.

Project root: the nearest directory at or above config.json that holds go.mod (as Go
finds the main module), else the working directory; --project-dir overrides. build_cmd
runs there, src paths resolve there, r10e-docker/ lives there. Config files may live
anywhere in the project: r10e init -c testdata/other.json`,
    )
    .action(async (opts) => {
      const quiet = opts.quiet === true;
      const say = (s: string) => quiet || io.stderr(printable(s) + "\n");
      // Each command loads its modules when it runs: less to start, less memory (issue 2: RSS).
      const { init } = await import("./init/init.ts");
      const { pinImage } = await import("./build/docker.ts");
      const result = await init({
        configPath: opts.config,
        cwd: io.cwd,
        projectDir: opts.projectDir,
        force: opts.force === true,
        listGoVersions: () => listGoVersions(io.env),
        // issue 3: pin the builder image by digest through the local engine when there is one
        pinBuilderImage: (image, onFailure) => pinImage({ env: io.env }, image, onFailure),
        onProgress: say,
      });
      for (const w of result.warnings) io.stderr(`r10e: warning: ${printable(w)}\n`);
      if (!quiet) {
        io.stdout(
          (result.removed.length
            ? `Removed r10edocker's Nix files: ${result.removed.join(", ")}\n`
            : "") +
            `Wrote ${result.dir}/ (${result.written.length} written, ${result.unchanged.length} unchanged)\n` +
            `  Go ${result.pins.go_version}` +
            (result.pins.go_version_requested
              ? ` (go_version "${result.pins.go_version_requested}")`
              : " (default)") +
            `\n  CA bundle ${
              result.pins.ca_bundle_sha256 ? "sha256:" + result.pins.ca_bundle_sha256 : "none"
            }` +
            `\n  builder ${result.pins.builder_image ?? "NOT PINNED"}\n` +
            // Several platforms (issue 11): the list pinned.
            (result.pins.platforms ? `  platforms ${result.pins.platforms.join(", ")}\n` : ""),
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
    .option(
      "--project-dir <dir>",
      "the project root (default: the nearest directory at or above config.json with a go.mod, else the working directory)",
    )
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
      "--in docker: network of the build_cmd container (default: none; modules come from the host's cache)",
    )
    .option("--no-build-cmd", "skip build_cmd and package the artifacts already on disk")
    .option("--json", "print a machine-readable summary on stdout")
    .option(
      "--record",
      "write the digests to r10e-docker/digests.json, the expectation `r10e check` compares with",
    )
    .option("-q, --quiet", "no progress on stderr (build_cmd output still streams)")
    .addHelpText(
      "after",
      `
Environment of build_cmd: GOTOOLCHAIN=go<pinned>, GOENV=off (your go env -w settings
do not leak in), CGO_ENABLED=0, GOFLAGS="-trimpath -mod=readonly", GOOS/GOARCH from
the platform, GOAMD64=v1, SOURCE_DATE_EPOCH, TZ=UTC, LC_ALL=C, umask 022; of the host
only PATH, HOME, the Go cache and proxy variables pass through.

Project root (where build_cmd runs and src paths resolve): the nearest directory at or
above config.json with a go.mod, else the working directory; --project-dir overrides.

Creation time: SOURCE_DATE_EPOCH if set, else the commit time of git HEAD, else 0.
Prints the archive path and sha256, the image ID, the manifest digest and the
sha256 of each artifact, and where the SBOMs (SPDX 2.3, CycloneDX 1.6; one per platform)
and the provenance (in-toto, SLSA v1) went: beside the archive (<name>-latest.spdx.json,
.cdx.json, .provenance.json) and attached inside it as OCI artifacts whose subject is the
image manifest (the image's own digests do not change; \`r10e push\` carries them).
Before writing, checks each Go artifact's build info (Go version,
GOOS/GOARCH, CGO_ENABLED=0, -trimpath, vcs.revision = HEAD, vcs.modified). Exit 1 when
build_cmd fails or an artifact fails that check, 2 for config errors.

Several platforms ("platforms": ["linux/amd64", "linux/arm64"] in config.json): build_cmd
runs once per platform with GOOS/GOARCH (GOARM for linux/arm/vN) and R10E_OS, R10E_ARCH,
R10E_VARIANT set (--in docker: all in one container run); artifact src names each
platform's file with {os}, {arch}, {variant} (e.g. "build/{os}-{arch}/server"). Prints each
platform's digests and the INDEX DIGEST, the one to deploy; docker load gets linux/amd64
when built, else the first platform.`,
    )
    .action(async (opts) => {
      const quiet = opts.quiet === true;
      const json = opts.json === true;
      // SIGINT, SIGTERM, SIGHUP: build stops build_cmd (its whole process group) and the
      // docker containers, removes the partial archive, and the interrupt waits for that.
      state.unwinds = true;
      const { build } = await import("./build/build.ts");
      const result = await build({
        configPath: opts.config,
        cwd: io.cwd,
        projectDir: opts.projectDir,
        hostEnv: io.env,
        mode: opts.in,
        format: opts.format,
        skipBuildCmd: opts.buildCmd === false,
        allowUnpinned: opts.allowUnpinned === true,
        network: opts.network,
        onProgress: (m) => quiet || io.stderr(`r10e: ${printable(m)}\n`),
        onWarning: (m) => io.stderr(`r10e: warning: ${printable(m)}\n`),
        onOutput: (chunk) => io.stderrBytes(chunk),
        signal: state.signal,
        record: opts.record === true,
      });
      // r10e-docker/out (or a folder above it) may be a symlink (issue 10: output paths): the
      // path printed is where the archive really is, and a warning says so.
      const real = realFilePath(result.archivePath);
      if (real !== result.archivePath) {
        io.stderr(
          `r10e: warning: ${
            printable(dirname(result.archivePath))
          } leads through a symbolic link: the image is in ${printable(dirname(real))}\n`,
        );
        result.archivePath = real;
        for (const d of result.documents) d.path = realFilePath(d.path);
      }
      if (json) {
        io.stdout(JSON.stringify(result, null, 2) + "\n");
        return;
      }
      const lines = [
        "======= CONTAINER IMAGE INFO ========",
        `Container image created in ${result.archivePath}`,
        `IMAGE sha256sum: ${result.archiveSha256}`,
        ...(result.indexDigest
          // Several platforms (issue 11): each platform's digests, then the index to deploy.
          ? result.images.flatMap((i) => [
            `PLATFORM ${i.platform}`,
            `  IMAGE ID: ${i.imageId}`,
            `  MANIFEST DIGEST: ${i.manifestDigest}`,
            ...i.artifacts.map((a) => `  ARTIFACT ${a.dest}(sha256:${a.sha256})`),
          ]).concat([
            `DOCKER LOAD: ${result.images.find((i) => i.imageId === result.imageId)?.platform}`,
            `INDEX DIGEST: ${result.indexDigest}`,
          ])
          : [
            `IMAGE ID: ${result.imageId}`,
            `MANIFEST DIGEST: ${result.manifestDigest}`,
            ...result.artifacts.map((a) => `ARTIFACT ${a.dest}(sha256:${a.sha256})`),
          ]),
        ...result.documents.map((d) =>
          `${DOCUMENT_LABEL[d.kind]}${d.platform ? ` ${d.platform}` : ""}: ${d.path}`
        ),
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
Compare the output of two builds:  r10e verify a/out/app-latest.tar.gz b/out/app-latest.tar.gz
Several platforms (an image index): every platform is compared with the same platform of the
other input, and a platform only one input has is a difference (exit 1); --platform linux/arm64
compares that platform's images only.`,
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
        registry: registryOptions(io, opts, program.opts().verbose === true),
      });
      // Inputs are shown as the user typed them.
      report.a.input = a;
      report.b.input = b;
      // The answer first: `r10e verify a b | head -1` still exits 1 when they differ.
      state.exitCode = report.identical ? 0 : 1;
      if (opts.json) io.stdout(JSON.stringify(report, null, 2) + "\n");
      else {
        const color = io.isTerminal && !("NO_COLOR" in io.env);
        io.stdout(formatReport(report, { color, full: opts.full === true }));
      }
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
  r10e cp image.tar /app - | tar -t                       a tar stream
  r10e cp --platform linux/arm64 app.tar.gz /app/server ./arm64/
                                                          from a multi-platform image (without
                                                          --platform: exit 2, naming its platforms)`,
    )
    .action(async (image, src, dest, opts) => {
      // Paths are used as typed when they are relative to the process's own directory.
      const where = (p: string) => (io.cwd === Deno.cwd() || isAbsolute(p) ? p : join(io.cwd, p));
      const toStdout = dest === "-";
      const { cp } = await import("./cp/cp.ts");
      const result = await cp(where(image), { src, dest: toStdout ? dest : where(dest) }, {
        platform: opts.platform,
        stdout: toStdout ? io.stdoutBytes : undefined,
        registry: registryOptions(io, opts, program.opts().verbose === true),
      }).catch((error) => {
        // A bare OS error (read-only DEST, full disk, name too long) says what cp was doing.
        if (osErrorCode(error) === null) throw error;
        throw new Error(`Cannot copy "${src}" from "${image}" to "${dest}"`, { cause: error });
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
  addRegistryOptions(program, ["verify", "cp"]);
  addCheckCommand(program, io, state, () => program.opts().verbose === true); // issue 13: src/cli/check.ts
  addSbomCommand(program, io, () => program.opts().verbose === true); // issue 12: src/cli/sbom.ts

  // ── version, completions (issue 9 item 10) ─────────────────────────────
  program.command("version")
    .description("Print r10e's version and the image format version it writes")
    .action(async () => {
      const { FORMAT_VERSION } = await import("./image/writer.ts");
      io.stdout(`r10e ${VERSION} (image format ${FORMAT_VERSION})\n`);
    });

  program.command("completions")
    .description("Print a shell completion script for commands and options")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh", "fish"] as const))
    .addHelpText(
      "after",
      `
Install:
  bash  r10e completions bash > /etc/bash_completion.d/r10e   (or: source <(r10e completions bash))
  zsh   r10e completions zsh > "\${fpath[1]}/_r10e"           (or, after compinit: source <(r10e completions zsh))
  fish  r10e completions fish > ~/.config/fish/completions/r10e.fish`,
    )
    .action(async (shell) => {
      const { completionScript } = await import("./completions.ts");
      io.stdout(completionScript(programSpec(program), shell));
    });

  return program;
}

/** `path` with every symlink of its directory resolved (the file itself may be replaced later). */
/** How `build` names the documents it writes beside the archive. */
const DOCUMENT_LABEL = {
  spdx: "SBOM (SPDX 2.3)",
  cyclonedx: "SBOM (CycloneDX 1.6)",
  provenance: "PROVENANCE (in-toto, SLSA v1)",
} as const;

function realFilePath(path: string): string {
  try {
    return join(Deno.realPathSync(dirname(path)), basename(path));
  } catch {
    return path;
  }
}

/** The command line as completion scripts need it, read from the parser itself. */
function programSpec(program: Command<unknown[], Record<string, unknown>>) {
  interface Opt {
    flags: string;
    short?: string;
    long?: string;
    description: string;
    required: boolean;
    optional: boolean;
    hidden: boolean;
    argChoices?: string[];
  }
  interface Arg {
    argChoices?: string[];
  }
  const option = (o: Opt) => ({
    ...(o.short ? { short: o.short } : {}),
    long: o.long!,
    description: o.description,
    takesValue: o.required || o.optional,
    valueIsPath: /<(?:path|dir|file)>/.test(o.flags),
    ...(o.argChoices ? { choices: o.argChoices } : {}),
  });
  const options = (c: { options: readonly unknown[] }) =>
    (c.options as Opt[]).filter((o) => o.long && !o.hidden).map(option);
  return {
    name: program.name(),
    globalOptions: [
      ...options(program),
      { long: "--help", short: "-h", description: "show help", takesValue: false },
    ],
    commands: program.commands.map((c) => {
      const args = (c as unknown as { registeredArguments: Arg[] }).registeredArguments;
      const choices = args[0]?.argChoices;
      return {
        name: c.name(),
        description: c.description(),
        options: options(c),
        takesFiles: args.length > 0 && !choices,
        ...(choices ? { argumentChoices: choices } : {}),
      };
    }),
  };
}

/**
 * Runs the CLI with `args` and returns the exit code. Does not call `Deno.exit`,
 * so tests can run it in-process. With `io.signals`, SIGINT, SIGTERM and SIGHUP
 * stop the command: its children's process groups are stopped and waited for,
 * its temporaries removed (signals.ts), and the code is 128 + the signal number.
 */
export async function main(args: string[], io: Io): Promise<number> {
  const controller = new AbortController();
  const state: State = { exitCode: 0, signal: controller.signal, unwinds: false };
  const program = buildProgram(io, state);
  let processTemp: string | undefined;
  const start = async () => {
    try {
      await program.parseAsync(args, { from: "user" });
      return state.exitCode;
    } catch (error) {
      if (error instanceof CommanderError) {
        if (error.code === "commander.helpDisplayed" || error.code === "commander.version") {
          return 0;
        }
        if (error.code === "commander.help") return 0;
        return 2;
      }
      // `r10e … | head`: the reader has what it wanted; end quietly, as Unix tools do, with
      // the answer when there is one (verify's 1 for "differ").
      if (isClosedStdout(error)) return state.exitCode;
      const verbose = program.opts().verbose === true;
      namePathsOfUser(error, { systemTemp: io.env.TMPDIR || "/tmp", processTemp });
      io.stderr(formatError(error, verbose) + "\n");
      return exitCodeOf(error);
    }
  };
  if (!io.signals) return await start();

  // Spools and staging folders of this process go into one folder of its own, removed at the
  // end or on an interrupt; the folders of processes killed too hard to clean up (SIGKILL) are
  // removed by the next run (issue 10: leftovers).
  const systemTemp = io.env.TMPDIR || "/tmp";
  await removeStaleTemporaries(systemTemp, ownerOfProcessTemp);
  try {
    processTemp = await Deno.makeTempDir({ dir: systemTemp, prefix: `r10e-${Deno.pid}-` });
    registerTemporary(processTemp);
    // Read by Deno.makeTempDir everywhere below; children get `io.env`, taken before this.
    Deno.env.set("TMPDIR", processTemp);
  } catch {
    // An unwritable TMPDIR: the commands say so with their own paths when they need it.
  }
  const interrupted = Promise.withResolvers<number>();
  let caught: Deno.Signal | null = null;
  // Assigned below, after the listeners: a signal from the first moment on is handled.
  let run: Promise<number> = Promise.resolve(0);
  const listeners = (Object.keys(HANDLED_SIGNALS) as (keyof typeof HANDLED_SIGNALS)[]).map(
    (sig) => {
      const listener = () => {
        if (caught) return hurry();
        caught = sig;
        io.stderr(`r10e: interrupted by ${sig}: stopping\n`);
        controller.abort(new Error(`Interrupted by ${sig}`));
        (async () => {
          // build stops its children, removes its containers and partial archive; bounded.
          if (state.unwinds) {
            await Promise.race([run, new Promise((r) => setTimeout(r, DEFAULT_GRACE_MS + 15_000))]);
          }
          await cleanUp();
          interrupted.resolve(HANDLED_SIGNALS[sig]);
        })();
      };
      Deno.addSignalListener(sig, listener);
      return [sig, listener] as const;
    },
  );
  try {
    run = start();
    const code = await Promise.race([run, interrupted.promise]);
    return caught ? await interrupted.promise : code;
  } finally {
    for (const [sig, listener] of listeners) Deno.removeSignalListener(sig, listener);
    if (processTemp) await removeTemporary(processTemp);
  }
}

/** `r10e-<pid>-<hex>`, the folder of a process (see `main`): its pid. */
function ownerOfProcessTemp(name: string): number | null {
  // Deno.makeTempDir appends up to 16 hex digits to the prefix.
  const m = /^r10e-(\d+)-[0-9a-f]{1,16}$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** The code (`EROFS`, `ENOSPC`…) of the OS error at the bottom of `error`'s cause chain, or null. */
function osErrorCode(error: unknown): string | null {
  let code: string | null = null;
  for (let e = error; e instanceof Error; e = e.cause) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === "string" && /^E[A-Z0-9]+$/.test(c)) code = c;
  }
  return code;
}

/** Names of r10e's own temporaries beside a destination (cp's, build's archive). */
const INTERNAL_NAME = /^\.r10e-cp-|^\..+\.tmp-\d+-[0-9a-f]{8}$/;

/**
 * Rewrites the messages of OS errors in `error`'s chain ("Read-only file system (os error 30):
 * open 'dest/.r10e-cp-1f3a'") so that they name the user's paths: the folder a temporary name
 * sits in, or TMPDIR for the process's spool (issue 10: OS errors name the user's path).
 */
function namePathsOfUser(
  error: unknown,
  temp: { systemTemp: string; processTemp?: string },
): void {
  for (let e = error; e instanceof Error; e = e.cause) {
    const m = /^(.*\(os error \d+\)): (\w+) '(.*)'$/s.exec(e.message);
    if (!m) continue;
    const [, reason, op, path] = m;
    if (temp.processTemp && path.startsWith(temp.processTemp + "/")) {
      const hint = (e as { code?: string }).code === "ENOSPC"
        ? " (set TMPDIR to a folder with more space)"
        : "";
      e.message = `${reason}, writing temporary files in "${temp.systemTemp}"${hint}`;
    } else if (INTERNAL_NAME.test(basename(path))) {
      e.message = `${reason}, writing in "${dirname(path)}"`;
    } else {
      e.message = `${reason}: ${op} "${path}"`;
    }
  }
}

/** Thrown by the writers of standard output when its reader is gone (EPIPE). */
class StdoutClosed extends Error {
  constructor(options?: ErrorOptions) {
    super("Standard output was closed", options);
    this.name = "StdoutClosed";
  }
}

function isClosedStdout(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof StdoutClosed) return true;
  }
  return false;
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

/**
 * Writes everything. A closed pipe (`r10e … | head`) throws {@linkcode StdoutClosed}
 * for standard output, which `main` ends quietly on after the command cleaned up;
 * on standard error it is ignored (there is no one left to tell).
 */
function writeAll(
  out: { writeSync(b: Uint8Array): number },
  bytes: Uint8Array,
  closed: "throw" | "ignore",
): void {
  try {
    let off = 0;
    while (off < bytes.length) off += out.writeSync(bytes.subarray(off));
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) {
      if (closed === "ignore") return;
      throw new StdoutClosed({ cause: error });
    }
    throw error;
  }
}

/** Standard output as a stream (`cp … -`) whose closed pipe is a {@linkcode StdoutClosed}. */
function stdoutStream(): WritableStream<Uint8Array> {
  return new WritableStream({
    write(chunk) {
      writeAll(Deno.stdout, chunk, "throw");
    },
  });
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const stderr = (s: string) => writeAll(Deno.stderr, encoder.encode(s), "ignore");
  // An error nothing awaited is still an error, not an answer (issue 10: exit codes): exit 2
  // with its message, after removing what the command left, instead of Deno's stack trace.
  const fail = (reason: unknown) => {
    if (isClosedStdout(reason)) return cleanUp({ graceMs: 0 }).then(() => Deno.exit(0));
    stderr(formatError(reason, Deno.args.includes("--verbose")) + "\n");
    return cleanUp({ graceMs: 0 }).then(() => Deno.exit(2));
  };
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fail(e.reason);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    fail(e.error);
  });
  const code = await main(Deno.args, {
    stdout: (s) => writeAll(Deno.stdout, encoder.encode(s), "throw"),
    stderr,
    stderrBytes: (b) => writeAll(Deno.stderr, b, "ignore"),
    stdoutBytes: stdoutStream(),
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    isTerminal: Deno.stdout.isTerminal(),
    signals: true,
  });
  Deno.exit(code);
}
