/**
 * What r10e asks git about the project: the commit time of HEAD (the creation
 * time when SOURCE_DATE_EPOCH is unset) and whether the tree is dirty.
 *
 * @module
 */

/** Runs git in `dir`; null when git is missing or `dir` is not in a repository. */
async function git(
  dir: string,
  args: string[],
  options: { stdin?: string; okCodes?: number[] } = {},
): Promise<string | null> {
  try {
    const child = new Deno.Command("git", {
      args: ["-C", dir, ...args],
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "null",
      env: { LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0" },
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const out = await child.output();
    const ok = out.success || (options.okCodes ?? []).includes(out.code);
    return ok ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

/** What git tracks under a directory: files (and symlinks) and their parent directories. */
export interface Tracked {
  /** Paths relative to the directory asked about, `/`-separated. */
  files: Set<string>;
  /** Every parent directory of a tracked file, relative, without a trailing slash. */
  dirs: Set<string>;
}

/** The paths git tracks (in the index) under `dir`, relative to it; null outside a repository. */
export async function trackedPaths(dir: string): Promise<Tracked | null> {
  const out = await git(dir, ["ls-files", "-z", "--cached", "--full-name", "--", "."]);
  if (out === null) return null;
  const prefix = (await git(dir, ["rev-parse", "--show-prefix"]))?.trim() ?? "";
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const full of out.split("\0")) {
    if (full === "" || !full.startsWith(prefix)) continue;
    const rel = full.slice(prefix.length);
    files.add(rel);
    for (let i = rel.indexOf("/"); i !== -1; i = rel.indexOf("/", i + 1)) dirs.add(rel.slice(0, i));
  }
  return { files, dirs };
}

/** Which of `paths` (relative to `dir`; directories end with "/") git ignores. */
export async function ignoredPaths(dir: string, paths: string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  // Exit 1 means "none of them is ignored".
  const out = await git(dir, ["check-ignore", "-z", "--stdin"], {
    stdin: paths.map((p) => p + "\0").join(""),
    okCodes: [1],
  });
  return new Set((out ?? "").split("\0").filter((p) => p !== ""));
}

/** Commit time of HEAD in seconds, or null outside a repository or before the first commit. */
export async function headCommitTime(dir: string): Promise<number | null> {
  const out = await git(dir, ["log", "-1", "--format=%ct", "HEAD"]);
  const n = out === null ? NaN : Number(out.trim());
  return Number.isSafeInteger(n) && out!.trim() !== "" ? n : null;
}

/** One path `git status` reports. */
export interface DirtyPath {
  /** Relative to the directory asked about; an untracked directory ends with "/". */
  path: string;
  /** Untracked (`??`) rather than modified, added or deleted. */
  untracked: boolean;
}

/**
 * Paths of the whole repository that git reports as modified or untracked (not
 * ignored), relative to `dir` (`../notes.txt` when outside it), or null outside a
 * repository. The whole repository, not `dir`'s subtree: Go stamps vcs.modified from
 * `git status` at the repository's top (cmd/go/internal/vcs), so a stray file
 * beside a project in a monorepo also makes its binaries differ from the commit's.
 */
export async function dirtyPaths(dir: string): Promise<DirtyPath[] | null> {
  const out = await git(dir, ["status", "--porcelain=v1", "-z", "--untracked-files=normal", ":/"]);
  if (out === null) return null;
  // Porcelain paths are relative to the top of the repository.
  const prefix = (await git(dir, ["rev-parse", "--show-prefix"]))?.trim() ?? "";
  const result: DirtyPath[] = [];
  const records = out.split("\0");
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r.length < 4) continue;
    const code = r.slice(0, 2);
    // A rename or copy is followed by its source path in the next record.
    if (code[0] === "R" || code[0] === "C") i++;
    const full = r.slice(3);
    result.push({
      path: full.startsWith(prefix) ? full.slice(prefix.length) : relativeUp(prefix, full),
      untracked: code === "??",
    });
  }
  return result;
}

/** `full` (from the repository's top) relative to the directory at `prefix` (`a/b/` → `../../full`, shortened where they share a parent). */
function relativeUp(prefix: string, full: string): string {
  const from = prefix.split("/").filter((p) => p !== "");
  const to = full.split("/");
  let same = 0;
  while (same < from.length && same < to.length - 1 && from[same] === to[same]) same++;
  return "../".repeat(from.length - same) + to.slice(same).join("/");
}

/** The full commit hash of HEAD, or null outside a repository or before the first commit. */
export async function headRevision(dir: string): Promise<string | null> {
  const out = await git(dir, ["rev-parse", "--verify", "-q", "HEAD^{commit}"]);
  const rev = out?.trim() ?? "";
  return /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(rev) ? rev : null;
}

/** The .gitignore rule that ignores a path. */
export interface IgnoreRule {
  /** The file the pattern is in, absolute. */
  source: string;
  line: number;
  pattern: string;
}

/** The rule that makes git ignore `path` (relative to `dir`), or null when it is not ignored or outside git. */
export async function ignoreRule(dir: string, path: string): Promise<IgnoreRule | null> {
  const out = await git(dir, ["check-ignore", "-v", "--no-index", "--", path], { okCodes: [1] });
  const m = /^(.*):(\d+):(.*)\t/.exec(out ?? "");
  if (!m || m[3].startsWith("!")) return null;
  const top = (await git(dir, ["rev-parse", "--show-toplevel"]))?.trim() ?? dir;
  return {
    source: m[1].startsWith("/") ? m[1] : `${top}/${m[1]}`,
    line: Number(m[2]),
    pattern: m[3],
  };
}
