/**
 * The line `r10e version`, `-v` and `--version` print. Apart from the command file so that main
 * prints it without loading the command line parser.
 *
 * @module
 */
import { VERSION } from "../version.ts";

/** `r10e <version> (image format <n>)`. */
export async function versionLine(): Promise<string> {
  const { FORMAT_VERSION } = await import("../image/writer.ts");
  return `r10e ${VERSION} (image format ${FORMAT_VERSION})`;
}
