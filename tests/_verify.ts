/** Helpers of the verify CLI tests: spawn the real entry point. */

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
