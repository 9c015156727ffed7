/**
 * `r10e version`: r10e's version and the image format it writes.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { versionLine } from "./version_line.ts";
import { type Cli, withHelp } from "./cli.ts";

/** Adds `version` to the program. */
export function addVersionCommand(program: Command, cli: Cli): void {
  withHelp(program.command("version"), { examples: ["r10e version", "r10e -v"] })
    .summary("print r10e's version and the image format it writes")
    .description("Print r10e's version and the image format version it writes")
    .action(() => {
      cli.io.stdout(`${versionLine()}\n`);
    });
}
