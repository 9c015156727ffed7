/**
 * The project root (DESIGN: project root): where build_cmd runs, where `src`
 * paths resolve and where r10e-docker/ lives. Config files may live anywhere in
 * the project (r10edocker uses `testdata/*.json` from its root), so the root is
 * found as Go finds the main module: the nearest directory at or above
 * config.json that holds `go.mod`, else the working directory; `--project-dir`
 * overrides both.
 *
 * @module
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { ConfigError, UsageError } from "../errors.ts";

/** The root chosen and why, for the line build and init print. */
export interface ProjectRoot {
  root: string;
  why: string;
}

/** Options of `findProjectRoot`. */
export interface ProjectRootOptions {
  /** The working directory the command runs in (absolute). */
  cwd: string;
  /** `--project-dir`, as typed (relative to `cwd`). */
  projectDir?: string;
}

/**
 * Finds the project root for `configPath` (absolute, or relative to `cwd`).
 * @throws {UsageError} when `--project-dir` is not a directory.
 */
export async function findProjectRoot(
  configPath: string,
  options: ProjectRootOptions,
): Promise<ProjectRoot> {
  if (options.projectDir !== undefined) {
    const root = resolve(options.cwd, options.projectDir);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(root);
    } catch (error) {
      throw new UsageError(
        `Cannot use --project-dir "${options.projectDir}": ${
          error instanceof Deno.errors.NotFound ? "no such directory" : (error as Error).message
        }`,
      );
    }
    if (!info.isDirectory) {
      throw new UsageError(`Cannot use --project-dir "${options.projectDir}": not a directory`);
    }
    return { root, why: "--project-dir" };
  }
  const config = isAbsolute(configPath) ? configPath : join(options.cwd, configPath);
  for (let dir = dirname(resolve(config));; dir = dirname(dir)) {
    if (await isFile(`${dir === "/" ? "" : dir}/go.mod`)) {
      return { root: dir, why: "the nearest go.mod at or above the config file" };
    }
    if (dir === dirname(dir)) break;
  }
  return {
    root: resolve(options.cwd),
    why: "the working directory: no go.mod at or above the config file",
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * The config.json a command run in `cwd` without `-c` means: the one in `cwd`, else the nearest
 * one in a folder above, up to the module root (the nearest go.mod), as `go` finds the module
 * from any of its folders.
 * @throws {ConfigError} naming the folders looked in, when there is none.
 */
export async function findConfig(cwd: string): Promise<string> {
  const looked: string[] = [];
  for (let dir = resolve(cwd);; dir = dirname(dir)) {
    looked.push(dir);
    const path = join(dir, "config.json");
    if (await isFile(path)) return path;
    if (await isFile(join(dir, "go.mod"))) break;
    if (dir === dirname(dir)) {
      throw new ConfigError(
        `No config.json in "${resolve(cwd)}" and no go.mod above it: run r10e init in a Go ` +
          "module to write one, or pass the config with -c PATH",
      );
    }
  }
  const root = looked[looked.length - 1];
  throw new ConfigError(
    `No config.json in "${resolve(cwd)}"${
      looked.length > 1 ? ` or a folder above it up to the module root "${root}"` : ""
    }: run r10e init${looked.length > 1 ? ` in "${root}"` : ""} to write one, or pass -c PATH`,
  );
}
