/**
 * Staging: from the files to put in the image to the sorted entries of each
 * layer. Pure: content comes from functions the caller supplies; modes come
 * from the mode class, never from the host (DESIGN: image format).
 *
 * @module
 */
import { compareNames, headerName, type TarEntry } from "../tar/writer.ts";

/** One thing to put in the image. */
export interface StagedItem {
  /** Absolute, normalized path in the image. */
  dest: string;
  kind: "file" | "dir" | "symlink";
  /** For files: whether any execute bit is set; decides 0755 versus 0644. */
  executable?: boolean;
  /** For files: the byte count. */
  size?: number;
  /** For symlinks: the target, as written. */
  linkTarget?: string;
  /** For files: the content. */
  content?: () => AsyncIterable<Uint8Array>;
  /** Where it came from, for messages (e.g. `artifacts[0] "build/app"`). */
  origin: string;
}

/** Mode of a directory in every layer. */
export const DIR_MODE = 0o755;
/** Mode of an executable file. */
export const EXEC_MODE = 0o755;
/** Mode of any other file. */
export const FILE_MODE = 0o644;
/** Mode of a symlink. */
export const LINK_MODE = 0o777;

/**
 * The entries of one layer: every item, every parent directory emitted
 * explicitly, sorted bytewise by tar name so parents precede children.
 * @throws {RangeError} when two items claim the same path, or a file is also a parent directory.
 */
export function layerEntries(items: readonly StagedItem[]): TarEntry[] {
  const byName = new Map<string, { entry: TarEntry; origin: string }>();
  const put = (entry: TarEntry, origin: string) => {
    const existing = byName.get(entry.name);
    if (existing) {
      if (existing.entry.kind === "dir" && entry.kind === "dir") return;
      throw new RangeError(
        `Cannot stage "/${entry.name}" from ${origin}: ${existing.origin} already puts a ${
          existing.entry.kind === "dir" ? "directory" : existing.entry.kind
        } there`,
      );
    }
    byName.set(entry.name, { entry, origin });
  };
  for (const item of items) {
    const name = item.dest.replace(/^\/+/, "");
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      put({ name: parts.slice(0, i).join("/"), kind: "dir", mode: DIR_MODE, size: 0 }, item.origin);
    }
    put(toEntry(name, item), item.origin);
  }
  return [...byName.values()].map((v) => v.entry).sort((a, b) =>
    compareNames(headerName(a), headerName(b))
  );
}

function toEntry(name: string, item: StagedItem): TarEntry {
  switch (item.kind) {
    case "dir":
      return { name, kind: "dir", mode: DIR_MODE, size: 0 };
    case "symlink":
      return { name, kind: "symlink", mode: LINK_MODE, size: 0, linkTarget: item.linkTarget ?? "" };
    case "file":
      return {
        name,
        kind: "file",
        mode: item.executable ? EXEC_MODE : FILE_MODE,
        size: item.size ?? 0,
        content: item.content,
      };
  }
}

/**
 * Checks that a symlink found at `linkPath` (relative to a directory being
 * copied, `/`-separated) with target `target` stays inside that directory.
 * Returns the normalized path inside the directory it points to, or null when it leaves.
 */
export function symlinkInside(linkPath: string, target: string): string | null {
  if (target.startsWith("/")) return null;
  const parts = linkPath.split("/").slice(0, -1);
  for (const p of target.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(p);
  }
  return parts.join("/");
}
