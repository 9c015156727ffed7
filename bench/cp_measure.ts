/**
 * Wall time and peak RSS of a shell command for the cp benchmark (GNU time through `_measure.ts`;
 * its maximum resident set size is the largest of the command's processes).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { measure as measureCommand, median } from "./_measure.ts";

/** One measured run. */
export interface Measure {
  wallSeconds: number;
  maxRssMb: number;
}

/**
 * Runs `sh -c script` in `cwd` under GNU time (`_measure.ts`).
 * @throws {Error} when the command fails or time's report cannot be read.
 */
export async function measure(script: string, cwd: string): Promise<Measure> {
  const m = await measureCommand(script, { cwd });
  return { wallSeconds: m.wallSeconds, maxRssMb: m.peakRssMb };
}

export { median };

/** sha256 hex of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}
