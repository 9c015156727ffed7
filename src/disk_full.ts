/**
 * A write that failed because its file system (or the user's quota on it) is full. The OS
 * error names no path (a `write` has only a file descriptor), so the code that writes says
 * which file it was and whether it was in the output folder or in TMPDIR: the user frees the
 * one, or points TMPDIR elsewhere.
 *
 * @module
 */
/** Where a file that could not be written was: where the user asked for output, or TMPDIR. */
export type Folder = "output" | "TMPDIR";

/**
 * The folder `path` is in, as node:path's dirname says it; written out because this module is
 * loaded at every start and any node: module costs a start-up ~9 ms of CPU.
 */
function folderOf(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const at = trimmed.lastIndexOf("/");
  return at < 0 ? "." : at === 0 ? "/" : trimmed.slice(0, at);
}

/** A full disk (ENOSPC, EDQUOT) while writing `path`. Exit code 2. */
export class DiskFullError extends Error {
  readonly exitCode = 2;
  /** The file being written (its final name, for a file written under a temporary one). */
  readonly path: string;
  readonly folder: Folder;
  constructor(path: string, folder: Folder) {
    super(
      folder === "TMPDIR"
        ? `Cannot write temporary files: TMPDIR "${folderOf(path)}" is full (no space left on ` +
          `device); set TMPDIR to a folder with more space`
        : `Cannot write "${path}": the output folder "${folderOf(path)}" is full (no space left ` +
          `on device)`,
    );
    this.name = "DiskFullError";
    this.path = path;
    this.folder = folder;
  }
}

/** Whether `error`, or an error of its cause chain, is the OS saying the disk or quota is full. */
export function isDiskFull(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOSPC" || code === "EDQUOT") return true;
    if (/\(os error (28|122)\)/.test(e.message)) return true;
  }
  return false;
}

/** `error` as a {@linkcode DiskFullError} for `path` when it is a full disk, else itself. */
export function diskFullOr(error: unknown, path: string, folder: Folder): unknown {
  return isDiskFull(error) ? new DiskFullError(path, folder) : error;
}
