/**
 * `r10e version`: r10e's version and the image format it writes.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { VERSION } from "../version.ts";
import { type Cli, withHelp } from "./cli.ts";

/** The line `version`, `-v` and `--version` print. */
export async function versionLine(): Promise<string> {
  const { FORMAT_VERSION } = await import("../image/writer.ts");
  return `r10e ${VERSION} (image format ${FORMAT_VERSION})`;
}

/** Adds `version` to the program. */
export function addVersionCommand(program: Command, cli: Cli): void {
  withHelp(program.command("version"), { examples: ["r10e version", "r10e -v"] })
    .summary("print r10e's version and the image format it writes")
    .description("Print r10e's version and the image format version it writes")
    .action(async () => {
      cli.io.stdout(`${await versionLine()}\n`);
    });
}
