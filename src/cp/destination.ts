/**
 * docker cp's rules for where a copy goes (docs.docker.com, `docker container cp`), as a pure
 * function of what SRC is and what is at DEST:
 *
 * | SRC | DEST | result |
 * | --- | --- | --- |
 * | file | does not exist | written as DEST (its parent must exist) |
 * | file | does not exist, ends with `/` | error: the directory must exist |
 * | file | an existing file | DEST is replaced |
 * | file | an existing directory | written as DEST/basename(SRC) |
 * | directory | does not exist | created as DEST with SRC's contents |
 * | directory | an existing file | error: cannot copy a directory to a file |
 * | directory | an existing directory | copied into DEST/basename(SRC), or with SRC ending in `/.`, its contents into DEST |
 *
 * A directory copy over an existing directory merges into it; over an existing non-directory
 * it is refused, as docker cp does (`NoOverwriteDirNonDir`); the writer checks that part.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** What SRC is. */
export interface SourceInfo {
  /** SRC as given, e.g. `/app/bin` or `/app/.`. */
  arg: string;
  isDir: boolean;
}

/** What is at DEST on the host (symlinks followed, like docker cp's `os.Stat`). */
export interface DestInfo {
  /** DEST as given. */
  arg: string;
  exists: boolean;
  isDir: boolean;
  /** Whether DEST's parent directory exists (only asked when DEST does not exist). */
  parentExists: boolean;
}

/** Where to write. */
export interface Placement {
  /** The host path of the copy's top: a file, or a directory. */
  target: string;
  /** `file`: one file at target; `dir`: a directory at target (created, or merged into). */
  mode: "file" | "dir";
}

/** The base name docker cp gives the copy: the last component of SRC as given (a symlink's own name). */
export function sourceBaseName(src: string): string {
  const parts = src.split("/").filter((p) => p !== "" && p !== ".");
  return parts[parts.length - 1] ?? "";
}

/** True when SRC asks for a directory's contents (`/.` at the end, or the root). */
export function copiesContents(src: string): boolean {
  return src.endsWith("/.") || sourceBaseName(src) === "" || sourceBaseName(src) === "..";
}

/**
 * Applies docker cp's rules.
 * @throws {UsageError} when docker cp would refuse the copy.
 */
export function placeCopy(src: SourceInfo, dest: DestInfo): Placement {
  const slash = dest.arg.endsWith("/") || dest.arg.endsWith("/.");
  const base = sourceBaseName(src.arg);
  const join = (name: string) => (dest.arg.endsWith("/") ? dest.arg + name : `${dest.arg}/${name}`);
  if (!src.isDir) {
    if (src.arg.endsWith("/") || src.arg.endsWith("/.")) {
      throw new UsageError(`Cannot copy "${src.arg}": it is not a directory`);
    }
    if (!dest.exists) {
      if (slash) {
        throw new UsageError(`Cannot copy to "${dest.arg}": the directory does not exist`);
      }
      if (!dest.parentExists) {
        throw new UsageError(`Cannot copy to "${dest.arg}": its parent directory does not exist`);
      }
      return { target: dest.arg, mode: "file" };
    }
    return dest.isDir ? { target: join(base), mode: "file" } : { target: dest.arg, mode: "file" };
  }
  if (!dest.exists) {
    if (!dest.parentExists) {
      throw new UsageError(`Cannot copy to "${dest.arg}": its parent directory does not exist`);
    }
    return { target: dest.arg.replace(/\/+\.?$/, "") || dest.arg, mode: "dir" };
  }
  if (!dest.isDir) {
    throw new UsageError(`Cannot copy a directory to "${dest.arg}": it is a file`);
  }
  if (copiesContents(src.arg)) return { target: dest.arg, mode: "dir" };
  return { target: join(base), mode: "dir" };
}
