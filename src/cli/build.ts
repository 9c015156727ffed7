/**
 * `r10e build`: options and help only; the work is in src/build/ (STYLE: one small file per
 * command, like crane's cmd/).
 *
 * @module
 */
import type { BuildResult } from "../build/build.ts";
import { UsageError } from "../errors.ts";
import { printable } from "../printable.ts";
import {
  type Command,
  CONFIG_OPTION,
  type Io,
  jsonOption,
  PROJECT_DIR_OPTION,
  projectConfig,
  quietOption,
} from "./cli.ts";

/** How `build` names the documents it writes beside the archive. */
const DOCUMENT_LABEL = {
  spdx: "SBOM (SPDX 2.3)",
  cyclonedx: "SBOM (CycloneDX 1.6)",
  provenance: "PROVENANCE (in-toto, SLSA v1)",
} as const;

/** `r10e build`. */
export const buildCommand: Command = {
  name: "build",
  summary: "run build_cmd; write the image archive, SBOMs and provenance",
  description: "Run build_cmd with the pinned Go toolchain and write the image to " +
    "r10e-docker/out/<project_name>-latest.tar.gz, which `docker load` accepts.",
  examples: [
    "r10e build                      run build_cmd, write r10e-docker/out/<name>-latest.tar.gz",
    "r10e build --in docker          build_cmd in the pinned Go container (same image bytes)",
    "r10e build --json > build.json  the digests as data",
    "r10e build --record             also write r10e-docker/digests.json for r10e check",
    "r10e build --no-build-cmd       package the artifacts already built",
  ],
  details: `
Environment of build_cmd: GOTOOLCHAIN=go<pinned>, GOENV=off (your go env -w settings do not leak in), CGO_ENABLED=0 (1 with "cgo": true), GOFLAGS="-trimpath -mod=readonly" (-mod=vendor when go.mod and vendor/modules.txt make vendor/ go build's default), GOOS/GOARCH from the platform, GOAMD64=v1, SOURCE_DATE_EPOCH, TZ=UTC, LC_ALL=C, umask 022; of the host only PATH, HOME, the Go cache and proxy variables pass through.

Before building: unknown config.json fields (with the field meant), go.mod's go and toolchain lines against the pinned Go, and build_cmd and the scripts it names read for clock and host leaks (date, whoami, $USER, hostname, uname, $RANDOM, uuidgen, GOTOOLCHAIN) are warned about; after build_cmd, output it left untracked in the git tree is named.

Project root (where build_cmd runs and src paths resolve): the nearest directory at or above config.json with a go.mod, else the working directory; --project-dir overrides. Without -c, the config.json of the working directory, else the nearest one above it in the module.

Creation time: SOURCE_DATE_EPOCH if set, else the commit time of git HEAD, else 0.

Prints the archive path and sha256, the image ID, the manifest digest and the sha256 of each artifact, and where the SBOMs (SPDX 2.3, CycloneDX 1.6; one per platform) and the provenance (in-toto, SLSA v1) went: beside the archive (<name>-latest.spdx.json, .cdx.json, .provenance.json), never inside it: the archive is the image alone, the same bytes in every mode (\`r10e push\` attaches the documents in the registry as referrers). Before writing, checks each Go artifact's build info (Go version, GOOS/GOARCH, CGO_ENABLED, -trimpath, vcs.revision = HEAD, vcs.modified). Exit 1 when build_cmd fails or an artifact fails that check, 2 for config errors.

Several platforms ("platforms": ["linux/amd64", "linux/arm64"] in config.json): build_cmd runs once per platform with GOOS/GOARCH (GOARM for linux/arm/vN) and R10E_OS, R10E_ARCH, R10E_VARIANT set (--in docker: all in one container run); artifact src names each platform's file with {os}, {arch}, {variant} (e.g. "build/{os}-{arch}/server"). Prints each platform's digests and the INDEX DIGEST, the one to deploy; docker load gets linux/amd64 when built, else the first platform.`,
  arguments: [],
  options: [
    CONFIG_OPTION,
    PROJECT_DIR_OPTION,
    {
      flags: "--in <where>",
      help: "where build_cmd runs",
      choices: ["auto", "host", "docker"],
      default: "auto",
    },
    {
      flags: "--format <format>",
      help: "outer archive format",
      choices: ["tar.gz", "tar"],
      default: "tar.gz",
    },
    {
      flags: "--allow-unpinned",
      help: "let --in docker use a builder image not pinned by digest",
    },
    {
      flags: "--network <network>",
      help:
        "--in docker: network of the build_cmd container (default: none; modules come from the host's cache)",
    },
    {
      flags: "--no-build-cmd",
      help: "skip build_cmd and package the artifacts already on disk",
    },
    jsonOption("print a machine-readable summary on stdout"),
    {
      flags: "--record",
      help:
        "write the digests to r10e-docker/digests.json, the expectation `r10e check` compares with",
    },
    quietOption("no progress on stderr (build_cmd output still streams)"),
    // For `r10e check`, which runs build B as a child process: not for users, so not in the help.
    {
      flags: "--clock-shift <offset>",
      help: "run build_cmd under faketime <offset>",
      hidden: true,
    },
    { flags: "--start-after <file>", help: "start build_cmd once <file> exists", hidden: true },
  ],
  run: async (input, cli) => {
    const { io, state } = cli;
    const { options } = input;
    // SIGINT, SIGTERM, SIGHUP: build stops build_cmd (its whole process group) and the
    // docker containers, removes the partial archive, and the interrupt waits for that.
    state.unwinds = true;
    const { build } = await import("../build/build.ts");
    const { Progress } = await import("./progress.ts");
    const progress = new Progress({
      write: io.stderr,
      terminal: io.stderrIsTerminal === true,
      quiet: options.flag("quiet"),
    });
    const result = await build({
      configPath: await projectConfig(cli, input),
      cwd: io.cwd,
      projectDir: options.string("projectDir"),
      hostEnv: io.env,
      mode: options.string("in") as "auto" | "host" | "docker",
      format: options.string("format") as "tar.gz" | "tar",
      skipBuildCmd: !options.flag("buildCmd"),
      checkHostTools: async () => {
        const { findGo, GO_MISSING } = await import("../init/go_list.ts");
        if (!(await findGo(io.env))) throw new UsageError(GO_MISSING);
      },
      allowUnpinned: options.flag("allowUnpinned"),
      network: options.string("network"),
      onProgress: (m) => progress.step(printable(m)),
      onBytes: (done, total) => progress.bytes(done, total),
      onWarning: (m) => {
        progress.clear();
        io.stderr(`r10e: warning: ${printable(m)}\n`);
      },
      onOutput: (chunk) => {
        progress.clear();
        io.stderrBytes(chunk);
      },
      signal: state.signal,
      record: options.flag("record"),
      clockShift: options.string("clockShift"),
      startAfter: options.string("startAfter"),
      // bench/build.ts and bench/sbom.ts measure what the audit and the documents cost.
      skipAudit: io.env.R10E_BENCH_SKIP_AUDIT === "1",
      skipDocuments: io.env.R10E_BENCH_SKIP_SBOM === "1",
    }).finally(() => progress.clear());
    await followLinks(result, io);
    if (options.flag("json")) io.stdout(JSON.stringify(result, null, 2) + "\n");
    else io.stdout(summaryLines(result).map((l) => printable(l)).join("\n") + "\n");
  },
};

/** What build prints: the archive, its digests and artifacts, and where the documents went. */
function summaryLines(result: BuildResult): string[] {
  return [
    "======= CONTAINER IMAGE INFO ========",
    `Container image created in ${result.archivePath}`,
    `IMAGE sha256sum: ${result.archiveSha256}`,
    ...(result.indexDigest
      // Several platforms: each platform's digests, then the index to deploy.
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
}

/**
 * The archive's and documents' paths with the symlinks of their folders resolved: r10e-docker/out
 * (or a folder above it) may be a symlink, and the path printed is where the archive really is,
 * with a warning that says so.
 */
async function followLinks(result: BuildResult, io: Io): Promise<void> {
  const { basename, dirname, join } = await import("node:path");
  // Only the folder: the file itself may be replaced later.
  const real = (path: string) => {
    try {
      return join(Deno.realPathSync(dirname(path)), basename(path));
    } catch {
      return path;
    }
  };
  const archive = real(result.archivePath);
  if (archive === result.archivePath) return;
  io.stderr(
    `r10e: warning: ${printable(dirname(result.archivePath))} leads through a symbolic link: ` +
      `the image is in ${printable(dirname(archive))}\n`,
  );
  result.archivePath = archive;
  for (const d of result.documents) d.path = real(d.path);
}
