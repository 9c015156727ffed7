/**
 * `r10e version`: r10e's version and the image format it writes.
 *
 * @module
 */
import type { Command } from "./cli.ts";

/** `r10e version`. */
export const versionCommand: Command = {
  name: "version",
  summary: "print r10e's version and the image format it writes",
  description: "Print r10e's version and the image format version it writes",
  examples: ["r10e version", "r10e -v"],
  arguments: [],
  options: [],
  run: async (_input, cli) => {
    // Imported here: `--help` lists this command without loading the version and image format.
    const { versionLine } = await import("./version_line.ts");
    cli.io.stdout(`${versionLine()}\n`);
  },
};
