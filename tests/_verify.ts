/**
 * Helpers of the verify CLI tests. verify spawns the real entry point: its messages name the
 * paths as given, relative to the process's working directory. build runs in-process through
 * main's Io: it is only the setup.
 */

// node:assert/strict, as the tests that call these helpers use it (STYLE: dependencies).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { r10eInProcess } from "./_cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = ROOT + "src/main.ts";

/** What a command printed, and its exit code. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `r10e verify … --quiet` from `cwd` (progress lines depend on the machine's speed). */
export async function verify(args: string[], cwd: string): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "verify", "--quiet", ...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * `r10e build --in host -q` in `dir`, with only the Go caches, PATH and HOME of the host;
 * SOURCE_DATE_EPOCH when given, else the commit time (or 0) is the creation time.
 */
export async function build(dir: string, epoch?: string): Promise<void> {
  const env: Record<string, string> = epoch === undefined ? {} : { SOURCE_DATE_EPOCH: epoch };
  const out = await r10eInProcess(["build", "--in", "host", "-q"], { cwd: dir, env });
  assertEquals(out.code, 0, out.stderr + out.stdout);
}
