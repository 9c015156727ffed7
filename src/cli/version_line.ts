/**
 * The line `r10e version`, `-v` and `--version` print. Apart from the command file so that main
 * prints it without loading the command line parser.
 *
 * @module
 */
import { FORMAT_VERSION, VERSION } from "../version.ts";

/** `r10e <version> (image format <n>)`. */
export function versionLine(): string {
  return `r10e ${VERSION} (image format ${FORMAT_VERSION})`;
}
