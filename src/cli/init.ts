/**
 * `r10e init`: options and help only; the work is in src/init/ (STYLE: one small file per
 * command, like crane's cmd/).
 *
 * @module
 */
import type { InitResult } from "../init/init.ts";
import { printable } from "../printable.ts";
import { type Command, CONFIG_OPTION, PROJECT_DIR_OPTION, quietOption } from "./cli.ts";

/** `r10e init`. */
export const initCommand: Command = {
  name: "init",
  summary: "write r10e-docker/ (and a config.json if there is none)",
  description: "Write r10e-docker/ at the project root: the build recipe and its pinned inputs " +
    "(exact Go version, CA bundle sha256, builder image digest). Commit the folder.",
  examples: [
    "r10e init                         in a Go module without config.json: write one, then r10e-docker/",
    "r10e init -c deploy/config.json   use this config (the project root is the go.mod above it)",
    "r10e init --force                 rewrite r10e-docker/ even where it was edited by hand",
  ],
  details: `
Without config.json (and without -c), init writes one at the module root from the main packages go list ./... finds: one artifact each, built by one go build into r10e-docker/out/bin/ (which git ignores), the CA bundle, and an entrypoint when there is one binary. Where no go.mod is found it says so and writes nothing.

go_version "1.26" resolves to the newest 1.26.x the Go module proxy lists (GOPROXY), or r10e's own table when it is unreachable; the exact version is recorded in r10e-docker/pins.json and later builds never drift from it. Running init again with the same config writes the same bytes.

Project root: the nearest directory at or above config.json that holds go.mod (as Go finds the main module), else the working directory; --project-dir overrides. build_cmd runs there, src paths resolve there, r10e-docker/ lives there. Config files may live anywhere in the project.`,
  arguments: [],
  options: [
    CONFIG_OPTION,
    PROJECT_DIR_OPTION,
    { flags: "-f, --force", help: "overwrite files in r10e-docker/ that were changed by hand" },
    quietOption("print nothing but errors"),
  ],
  run: async ({ options }, { io }) => {
    const quiet = options.flag("quiet");
    const say = (s: string) => quiet || io.stderr(printable(s) + "\n");
    const { init } = await import("../init/init.ts");
    const { pinImage } = await import("../build/docker.ts");
    const { listGoVersions } = await import("../init/go_versions.ts");
    const { listPackages } = await import("../init/go_list.ts");
    const result = await init({
      configPath: options.string("config")!,
      configGiven: options.given("config"),
      listPackages: (root) => listPackages(root, io.env),
      cwd: io.cwd,
      projectDir: options.string("projectDir"),
      force: options.flag("force"),
      listGoVersions: () => listGoVersions(io.env),
      // The builder image is pinned by digest through the local engine when there is one.
      pinBuilderImage: (image, onFailure) => pinImage({ env: io.env }, image, onFailure),
      pinBaseImage: async (image) => {
        const { pinBaseImage } = await import("../build/base_image.ts");
        return await pinBaseImage(image, { env: io.env });
      },
      fetchBaseImage: async (image, platforms) => {
        const { loadBaseImage } = await import("../build/base_image.ts");
        const { cacheDir } = await import("../build/build.ts");
        const { parsePlatform } = await import("../image/platform.ts");
        await loadBaseImage(image, platforms.map(parsePlatform), {
          env: io.env,
          cacheDir: cacheDir(io.env),
          onProgress: say,
        });
      },
      onProgress: say,
    });
    for (const w of result.warnings) io.stderr(`r10e: warning: ${printable(w)}\n`);
    if (quiet) return;
    io.stdout(initSummary(result));
  },
};

/** What init prints: the config it wrote (when there was none), r10e-docker/ and the pins. */
function initSummary(result: InitResult): string {
  const starter = result.starter;
  return (
    (starter
      ? `Wrote ${starter.path} (there was none), from what go list ./... found:\n` +
        `  ${starter.packages.length} main ${
          starter.packages.length === 1 ? "package" : "packages"
        } (${starter.packages.join(", ")}), built by one go build into r10e-docker/out/bin/\n` +
        `  image "${starter.projectName}": ${starter.binaries.join(", ")}` +
        (starter.entrypoint
          ? `, entrypoint ${starter.entrypoint[0]}`
          : ", no entrypoint (several binaries: set one)") +
        `, the CA bundle, Go ${starter.goVersion}\n` +
        `  To change it: edit config.json (docs/config.md) and run r10e init again. Next: r10e build\n`
      : "") +
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
    (result.pins.platforms ? `  platforms ${result.pins.platforms.join(", ")}\n` : "")
  );
}
