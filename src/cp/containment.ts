/**
 * Whether a symlink that `cp` is about to write would lead out of the directory the copy lands
 * in, judged by resolving it as the kernel will: with `app/a -> .` and `app/b -> a/../..`, the
 * link's text looks inside, yet `DEST/b` resolves two levels above DEST.
 *
 * The link is resolved against the copy as it will stand once written: the copied tree, and
 * below it what is already on the host (when the copy is merged into an existing directory).
 * Every symlink met on the way is followed, `..` goes to the parent of where the walk really
 * is, and climbing above the extraction directory is an escape. Absolute links are kept as they
 * are, as `docker cp` keeps them: they name the host's paths by design, so a relative link whose
 * resolution reaches an absolute one is judged like it. r10e itself never writes through a
 * symlink (files go to a temporary name and are renamed, and a link where a directory goes is
 * refused), so these links matter for what reads DEST later.
 *
 * @module
 */
import { type FsNode, newDir } from "../image/merged_fs.ts";

/** What is at a host path, for the part of the walk outside the copied tree. */
export type HostEntry =
  | { kind: "dir" }
  | { kind: "symlink"; linkname: string }
  | { kind: "missing" }
  | { kind: "other" };

/** How to look at the host (injected by tests); paths are absolute. */
export type HostLookup = (path: string) => Promise<HostEntry>;

/** Symlinks followed for one link before it counts as a loop (which leads nowhere). */
const MAX_HOPS = 255;

/** One place of the walk: a directory of the copied tree, of the host, or below a missing one. */
interface Frame {
  node: FsNode | null;
  host: string;
  missing: boolean;
}

/** Checks the links of one copy; keeps a step budget across all of them. */
export class LinkChecker {
  #root: Frame;
  #host: HostLookup;
  #steps = 0;
  #maxSteps: number;

  /**
   * @param extractDir the host directory the copy lands in (absolute), the boundary
   * @param top where the copied tree's top directory is: its node, and its name in extractDir
   *   (`""` when the tree's contents are merged into extractDir itself)
   */
  constructor(
    extractDir: string,
    top: { node: FsNode; name: string },
    options: { host: HostLookup; maxSteps?: number },
  ) {
    this.#host = options.host;
    this.#maxSteps = options.maxSteps ?? 10_000_000;
    if (top.name === "") {
      this.#root = { node: top.node, host: extractDir, missing: false };
    } else {
      // extractDir itself is the host's; the tree hangs below it under top.name.
      const shell: FsNode = newDir(0o755, -1);
      shell.children!.set(top.name, top.node);
      this.#root = { node: shell, host: extractDir, missing: false };
    }
  }

  /**
   * Whether the symlink at `rel` (components from extractDir's copied top, see the constructor)
   * leads out of extractDir.
   * @throws {RangeError} when the links of this copy take more steps to check than allowed.
   */
  async leadsOut(linkDir: string[], linkname: string): Promise<boolean> {
    if (linkname.startsWith("/")) return false;
    const stack: Frame[] = [this.#root];
    for (const c of linkDir) {
      const next = await this.#child(stack[stack.length - 1], c);
      if (next.kind !== "dir") return false; // the link's own directory is not one: never written
      stack.push(next.frame);
    }
    const texts: string[] = [linkname];
    const pos: number[] = [0];
    let hops = 0;
    while (texts.length) {
      const t = texts.length - 1;
      if (pos[t] >= texts[t].length) {
        texts.pop();
        pos.pop();
        continue;
      }
      let end = texts[t].indexOf("/", pos[t]);
      if (end < 0) end = texts[t].length;
      const c = texts[t].slice(pos[t], end);
      pos[t] = end + 1;
      if (c === "" || c === ".") continue;
      if (++this.#steps > this.#maxSteps) {
        throw new RangeError(`more than ${this.#maxSteps} steps to check its symlinks`);
      }
      if (c === "..") {
        if (stack.length === 1) return true;
        stack.pop();
        continue;
      }
      const next = await this.#child(stack[stack.length - 1], c);
      if (next.kind === "symlink") {
        if (next.linkname.startsWith("/")) return false; // as absolute links are: kept
        if (++hops > MAX_HOPS) return false; // a loop resolves to nothing
        texts.push(next.linkname);
        pos.push(0);
        continue;
      }
      if (next.kind === "other") return false; // a file in the middle: ENOTDIR, or the end
      stack.push(next.frame);
    }
    return false;
  }

  async #child(
    at: Frame,
    name: string,
  ): Promise<
    { kind: "dir"; frame: Frame } | { kind: "symlink"; linkname: string } | {
      kind: "other";
    }
  > {
    const host = at.host + "/" + name;
    const node = at.node?.children?.get(name);
    if (node) {
      if (node.kind === "dir") return { kind: "dir", frame: { node, host, missing: false } };
      if (node.kind === "symlink") return { kind: "symlink", linkname: node.linkname };
      return { kind: "other" };
    }
    if (at.missing) return { kind: "dir", frame: { node: null, host, missing: true } };
    const e = await this.#host(host);
    if (e.kind === "symlink") return { kind: "symlink", linkname: e.linkname };
    if (e.kind === "other") return { kind: "other" };
    // A missing name is walked as if it were a directory (lexically): if it comes into
    // existence later, `..` below it still returns here.
    return { kind: "dir", frame: { node: null, host, missing: e.kind === "missing" } };
  }
}

/** A {@linkcode HostLookup} on the real filesystem. */
export async function lstatHost(path: string): Promise<HostEntry> {
  try {
    const st = await Deno.lstat(path);
    if (st.isDirectory) return { kind: "dir" };
    if (st.isSymlink) return { kind: "symlink", linkname: await Deno.readLink(path) };
    return { kind: "other" };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return { kind: "missing" };
    }
    throw e;
  }
}
