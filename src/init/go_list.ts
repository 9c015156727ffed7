/**
 * Finding Go and asking it for the module's packages: the I/O half of the starter config.
 *
 * @module
 */
import { join, relative } from "node:path";
import { UsageError } from "../errors.ts";
import type { GoPackage } from "./starter.ts";

/** The message for a missing `go`, with how to get one. */
export const GO_MISSING =
  'Cannot find "go" on PATH: install Go from https://go.dev/doc/install (any Go 1.21 or newer ' +
  "fetches the exact toolchain r10e pins by itself), or build in a container with --in docker";

/** The `go` that `PATH` of `env` leads to, or null when there is none. */
export async function findGo(env: Record<string, string>): Promise<string | null> {
  for (const dir of (env.PATH ?? "").split(":")) {
    if (!dir) continue;
    const path = join(dir, "go");
    try {
      const info = await Deno.stat(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

/**
 * The packages of the module at `root`, as `go list ./...` finds them.
 * @throws {UsageError} when Go is missing; {Error} with Go's message when it fails.
 */
export async function listPackages(
  root: string,
  env: Record<string, string>,
): Promise<GoPackage[]> {
  const go = await findGo(env);
  if (!go) throw new UsageError(GO_MISSING);
  const out = await new Deno.Command(go, {
    args: ["list", "-f", "{{.Name}}\t{{.ImportPath}}\t{{.Dir}}", "./..."],
    cwd: root,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const reason = new TextDecoder().decode(out.stderr).trim() || `exit code ${out.code}`;
    throw new Error(`Cannot list the packages of "${root}" (go list ./...): ${reason}`);
  }
  return text.split("\n").filter((l) => l).map((line) => {
    const [name, importPath, dir] = line.split("\t");
    return { name, importPath, dir: relative(root, dir) || "." };
  });
}
