/**
 * Atomic writes: a file is written under a temporary name in its own folder and renamed over
 * its final name only when whole, so that a reader never sees half a file and a failure leaves
 * what was there. Every temporary has one name, `.r10e-<tag>-<pid>-<12 hex>`: short (a final
 * name of 255 bytes still has a temporary), hidden, saying which command left it, and carrying
 * the pid that lets a later run tell a leftover of a killed process from one in use
 * ({@linkcode ownerOfTemporary}, swept by `removeStaleTemporaries`).
 *
 * Only signals.ts and disk_full.ts are imported: main.ts loads this module at every start.
 *
 * @module
 */
import { diskFullOr } from "./disk_full.ts";
import { registerTemporary, releaseTemporary, removeTemporary } from "./signals.ts";

const TEMPORARY_NAME = /^\.r10e-([a-z]+)-(\d+)-[0-9a-f]{12}$/;

/**
 * A new temporary name in `dir`, `.r10e-<tag>-<pid>-<12 hex>` (`tag`: lowercase letters, the
 * command), registered so that an interrupt removes it; the caller releases or removes it.
 */
export function temporaryPath(dir: string, tag: string): string {
  if (!/^[a-z]+$/.test(tag)) throw new Error(`Invalid temporary tag "${tag}"`);
  const rand = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const path = `${dir}/.r10e-${tag}-${Deno.pid}-${rand}`;
  registerTemporary(path);
  return path;
}

/** The pid in one of r10e's temporary names, or null for any other name. */
export function ownerOfTemporary(name: string): number | null {
  const m = TEMPORARY_NAME.exec(name);
  return m ? Number(m[2]) : null;
}

/** Whether a file name (no folder) is one of r10e's temporary names. */
export function isTemporaryName(name: string): boolean {
  return TEMPORARY_NAME.test(name);
}

/** The folder of a path, by hand: node:path costs every start-up some milliseconds. */
function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/**
 * Calls `write` with a temporary path beside `path`, then renames it over `path`. On any
 * failure the temporary is removed and the error passes through as it was.
 */
export async function replaceAtomically<T>(
  path: string,
  tag: string,
  write: (temporary: string) => Promise<T>,
): Promise<T> {
  const temporary = temporaryPath(folderOf(path), tag);
  try {
    const result = await write(temporary);
    await Deno.rename(temporary, path);
    releaseTemporary(temporary);
    return result;
  } catch (error) {
    await removeTemporary(temporary);
    throw error;
  }
}

/** One file for {@linkcode writeFilesAtomically}. */
export interface AtomicFile {
  path: string;
  data: string | Uint8Array;
  /** Permission bits (0o644 when absent), as given to the OS: the umask applies. */
  mode?: number;
}

/**
 * Writes every file under a temporary name, then renames them all: none takes its final name
 * before all are whole. On failure every temporary is removed; a full disk is a DiskFullError
 * naming the file being written (in the output folder), any other error passes through.
 */
export async function writeFilesAtomically(
  files: readonly AtomicFile[],
  tag: string,
  options: { exactMode?: boolean } = {},
): Promise<void> {
  const temps: string[] = [];
  let at = files[0]?.path ?? "";
  try {
    for (const f of files) {
      at = f.path;
      const temp = temporaryPath(folderOf(f.path), tag);
      temps.push(temp);
      const mode = f.mode ?? 0o644;
      const bytes = typeof f.data === "string" ? new TextEncoder().encode(f.data) : f.data;
      await Deno.writeFile(temp, bytes, { createNew: true, mode });
      // Without the umask: a script must stay executable whatever the umask.
      if (options.exactMode) await Deno.chmod(temp, mode);
    }
    for (const [i, f] of files.entries()) {
      at = f.path;
      await Deno.rename(temps[i], f.path);
      releaseTemporary(temps[i]);
    }
  } catch (error) {
    for (const t of temps) await removeTemporary(t);
    throw diskFullOr(error, at, "output");
  }
}
