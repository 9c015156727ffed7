/**
 * Wall time and peak RSS of a shell command, from GNU `/usr/bin/time -v` (its maximum resident
 * set size is the largest of the command's processes, so a pipeline reports its biggest member).
 *
 * @module
 */
import { createHash } from "node:crypto";

/** One measured run. */
export interface Measure {
  wallSeconds: number;
  maxRssMb: number;
}

/**
 * Runs `sh -c script` under `/usr/bin/time -v` in `cwd`.
 * @throws {Error} when the command fails or time's report cannot be read.
 */
export async function measure(script: string, cwd: string): Promise<Measure> {
  const r = await new Deno.Command("/usr/bin/time", {
    args: ["-v", "sh", "-c", script],
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  if (r.code !== 0) throw new Error(`Command failed: ${script}\n${err}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(
    err,
  );
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
  if (!wall || !rss) throw new Error(`Cannot read /usr/bin/time's report:\n${err}`);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  return { wallSeconds: seconds, maxRssMb: Number(rss[1]) / 1024 };
}

/** The median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** sha256 hex of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}
