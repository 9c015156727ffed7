/**
 * Helpers for CLI tests: spawn the real entry point (STYLE: CLI tests assert exit
 * code, stdout and stderr separately) and make copies of the example project.
 *
 * @module
 */
import { join } from "node:path";

/** The repository root. */
export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** The bundled example project. */
export const EXAMPLE = `${REPO}/examples/hello`;

/** Output of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of `r10e`. */
export interface CliOptions {
  cwd?: string;
  /** Added to a minimal environment (PATH, HOME, Go caches). */
  env?: Record<string, string>;
  /** Runs under this umask (octal string such as "077"). */
  umask?: string;
}

/** The minimal environment both ways of running r10e start from: PATH, HOME, the Go caches, DOCKER_HOST, no colors. */
function baseEnv(): Record<string, string> {
  const base: Record<string, string> = {};
  for (
    const k of ["PATH", "HOME", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "DOCKER_HOST"]
  ) {
    const v = Deno.env.get(k);
    if (v !== undefined) base[k] = v;
  }
  base.NO_COLOR = "1";
  return base;
}

/** Runs `deno run src/main.ts …args` and captures everything. */
export async function r10e(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const deno = Deno.execPath();
  const main = `${REPO}/src/main.ts`;
  const command = `umask ${
    options.umask ?? "022"
  } && d="$0" c="$1" m="$2" && shift 2 && exec "$d" run --quiet --allow-all --v8-flags=--expose-gc --config "$c" "$m" "$@"`;
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", command, deno, `${REPO}/deno.json`, main, ...args],
    cwd: options.cwd ?? REPO,
    env: { ...baseEnv(), ...options.env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Copies the example project (sources, config, r10e-docker/ without out/) into
 * `dest`, creating files in reverse name order when `reverse`, so two copies
 * differ in directory listing order.
 */
export async function copyExample(
  dest: string,
  options: { reverse?: boolean } = {},
): Promise<void> {
  const files: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(join(EXAMPLE, rel))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === "build" || r === "r10e-docker/out") continue;
      if (e.isDirectory) await walk(r);
      else files.push(r);
    }
  };
  await walk("");
  files.sort();
  if (options.reverse) files.reverse();
  for (const f of files) {
    await Deno.mkdir(join(dest, f, ".."), { recursive: true });
    await Deno.copyFile(join(EXAMPLE, f), join(dest, f));
    const mode = (await Deno.stat(join(EXAMPLE, f))).mode! & 0o777;
    await Deno.chmod(join(dest, f), mode);
  }
}

/** Lists every path under `dir` (relative), for "nothing else was written" checks. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(join(dir, rel))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory) await walk(r);
    }
  };
  await walk("");
  return out.sort();
}

/** sha256 of a file, hex. */
export async function fileSha256(path: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256");
  using f = await Deno.open(path);
  for await (const chunk of f.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Runs git in `dir` with a fixed identity; returns stdout. */
export async function git(dir: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false", ...args],
    cwd: dir,
    env: { GIT_COMMITTER_DATE: "1700000000 +0000", GIT_AUTHOR_DATE: "1700000000 +0000" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Runs `main` in this process through its Io seam (no Deno spawned): for tests of what a
 * command prints and writes, where starting a process is not what is tested.
 */
export async function r10eInProcess(
  args: string[],
  options: {
    /** The repository root when not given, as `r10e`. */
    cwd?: string;
    /** Added to the same minimal environment as `r10e`'s. */
    env?: Record<string, string>;
    isTerminal?: boolean;
    stderrIsTerminal?: boolean;
  } = {},
): Promise<CliResult> {
  const { main } = await import("../src/main.ts");
  let stdout = "";
  let stderr = "";
  const dec = new TextDecoder();
  const code = await main(args, {
    stdout: (s) => stdout += s,
    stderr: (s) => stderr += s,
    stderrBytes: (b) => stderr += dec.decode(b),
    stdoutBytes: () => new WritableStream({ write: (b) => void (stdout += dec.decode(b)) }),
    env: { ...baseEnv(), ...options.env },
    cwd: options.cwd ?? REPO,
    signals: false,
    isTerminal: options.isTerminal ?? false,
    stderrIsTerminal: options.stderrIsTerminal ?? false,
  });
  return { code, stdout, stderr };
}
