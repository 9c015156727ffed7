/**
 * `r10e init`: options and help only; the work is in src/init/ (STYLE: one small file per
 * command, like crane's cmd/).
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { printable } from "../printable.ts";
import { type Cli, configOption, projectDirOption, quietOption } from "./cli.ts";

/** Adds `init` to the program. */
export function addInitCommand(program: Command, cli: Cli): void {
  const { io } = cli;
  program.command("init")
    .description(
      "Write r10e-docker/ at the project root: the build recipe and its pinned inputs " +
        "(exact Go version, CA bundle sha256, builder image digest). Commit the folder.",
    )
    .addOption(configOption())
    .addOption(projectDirOption())
    .option("-f, --force", "overwrite files in r10e-docker/ that were changed by hand")
    .addOption(quietOption("print nothing but errors"))
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
      const { init } = await import("../init/init.ts");
      const { pinImage } = await import("../build/docker.ts");
      const { listGoVersions } = await import("../init/go_versions.ts");
      const result = await init({
        configPath: opts.config,
        cwd: io.cwd,
        projectDir: opts.projectDir,
        force: opts.force === true,
        listGoVersions: () => listGoVersions(io.env),
        // The builder image is pinned by digest through the local engine when there is one.
        pinBuilderImage: (image, onFailure) => pinImage({ env: io.env }, image, onFailure),
        onProgress: say,
      });
      for (const w of result.warnings) io.stderr(`r10e: warning: ${printable(w)}\n`);
      if (quiet) return;
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
          (result.pins.platforms ? `  platforms ${result.pins.platforms.join(", ")}\n` : ""),
      );
    });
}
