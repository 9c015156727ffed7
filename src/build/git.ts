/**
 * What r10e asks git about the project: the commit time of HEAD (the creation
 * time when SOURCE_DATE_EPOCH is unset) and whether the tree is dirty.
 *
 * @module
 */

/** Runs git in `dir`; null when git is missing or `dir` is not in a repository. */
async function git(dir: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", dir, ...args],
      stdout: "piped",
      stderr: "null",
      env: { LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0" },
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

/** Commit time of HEAD in seconds, or null outside a repository or before the first commit. */
export async function headCommitTime(dir: string): Promise<number | null> {
  const out = await git(dir, ["log", "-1", "--format=%ct", "HEAD"]);
  const n = out === null ? NaN : Number(out.trim());
  return Number.isSafeInteger(n) && out!.trim() !== "" ? n : null;
}

/** Paths git reports as modified or untracked (not ignored), or null outside a repository. */
export async function dirtyPaths(dir: string): Promise<string[] | null> {
  const out = await git(dir, ["status", "--porcelain", "--untracked-files=normal", "."]);
  if (out === null) return null;
  return out.split("\n").filter((l) => l.trim() !== "").map((l) => l.slice(3));
}

/** The full commit hash of HEAD, or null outside a repository or before the first commit. */
export async function headRevision(dir: string): Promise<string | null> {
  const out = await git(dir, ["rev-parse", "--verify", "-q", "HEAD^{commit}"]);
  const rev = out?.trim() ?? "";
  return /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(rev) ? rev : null;
}
