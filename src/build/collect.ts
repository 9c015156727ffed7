/**
 * Collecting what the config names from disk: artifacts, extern_data and the CA
 * bundle, as staged items. The only part of staging that touches the disk.
 * Directory listings are sorted; modes are reduced to a class (executable or not).
 *
 * @module
 */
import { ConfigError, type Problem } from "../errors.ts";
import type { LoadedConfig, Mapping } from "../config/schema.ts";
import { jsonPath } from "../config/schema.ts";
import { CA_BUNDLE_PATH, type CaBundle } from "../pinned/ca_bundle.ts";
import { type Tzdata, TZDATA_DIR } from "../pinned/tzdata.ts";
import { ignoredPaths, type Tracked } from "../project/git.ts";
import { type StagedItem, symlinkInside } from "./stage.ts";

/** Read buffer size for file contents; smaller files are read in one call. */
const READ_SIZE = 1 << 20;

/** Read buffers not in use; a generator takes one and gives it back when done. */
const freeBuffers: Uint8Array[] = [];

/**
 * Streams a file's bytes. `size` is the size staging saw: a file that grew or
 * shrank since is noticed by the tar writer, which checks the byte count.
 *
 * Files are read into reused buffers: each chunk is valid until the consumer
 * asks for the next one (the hash, the gzip and the file writer copy what they
 * keep), so memory grows neither with file size nor with file count, and no
 * garbage piles up for V8 to collect late.
 */
export async function* readFileChunks(path: string, size: number): AsyncGenerator<Uint8Array> {
  const buf = freeBuffers.pop() ?? new Uint8Array(READ_SIZE);
  try {
    using file = await Deno.open(path, { read: true });
    // Read at most one byte past the expected size: enough to notice growth.
    let left = size + 1;
    for (;;) {
      let fill = 0;
      const want = Math.min(buf.length, left);
      while (fill < want) {
        const n = await file.read(buf.subarray(fill, want));
        if (n === null) break;
        fill += n;
      }
      if (fill === 0) return;
      left -= fill;
      yield buf.subarray(0, fill);
      if (fill < want || left <= 0) return;
    }
  } finally {
    freeBuffers.push(buf);
  }
}

/** The three layers' items, base layer first. */
export interface Collected {
  ca: StagedItem[];
  externData: StagedItem[];
  artifacts: StagedItem[];
}

/** Options of `collect`. */
export interface CollectOptions {
  /**
   * In a git project: what git tracks under the project root. extern_data then
   * takes only tracked files: an ignored or untracked file, or an empty directory,
   * is an error (a clone would build another image). Null outside git.
   */
  tracked?: Tracked | null;
  /** The project root git is asked about (differs from `root` in docker mode's staging copy). */
  gitRoot?: string;
}

/**
 * Collects every item the config names, under `root`. Collects all problems before failing.
 * @throws {ConfigError} for a missing artifact, a src that leaves the project, a type mismatch,
 * and in a git project an extern_data path git does not track.
 */
export async function collect(
  loaded: LoadedConfig,
  root: string,
  ca: CaBundle | null,
  options: CollectOptions = {},
): Promise<Collected> {
  const problems: Problem[] = [];
  const fail = (path: (string | number)[], message: string) =>
    problems.push({ file: loaded.file, ...loaded.locate(path), path: jsonPath(path), message });
  const realRoot = await Deno.realPath(root);

  const artifacts: StagedItem[] = [];
  for (const [i, m] of loaded.config.artifacts.entries()) {
    const origin = `artifacts[${i}] "${m.src}"`;
    const where = ["artifacts", i, "src"];
    const real = await resolveInside(realRoot, m.src, (msg) => fail(where, msg));
    if (!real) continue;
    const info = await Deno.stat(real);
    if (!info.isFile) {
      fail(
        where,
        `expected a regular file built by build_cmd, found a ${kindOf(info)} at "${m.src}"`,
      );
      continue;
    }
    artifacts.push(fileItem(m.dest, real, info, origin));
  }

  const externData: StagedItem[] = [];
  const untracked: Untracked[] = [];
  for (const [i, m] of loaded.config.extern_data.entries()) {
    const where = ["extern_data", i, "src"];
    const real = await resolveInside(realRoot, m.src, (msg) => fail(where, msg));
    if (!real) continue;
    const git = options.tracked
      ? { tracked: options.tracked, rel: relativeTo(realRoot, real), found: untracked, index: i }
      : null;
    await collectExtern(m, real, `extern_data[${i}]`, externData, (msg) => fail(where, msg), git);
  }
  if (untracked.length) {
    const ignored = await ignoredPaths(
      options.gitRoot ?? root,
      untracked.filter((u) => u.kind !== "empty").map((u) =>
        u.kind === "dir" ? `${u.rel}/` : u.rel
      ),
    );
    for (const u of untracked) {
      fail(["extern_data", u.index, "src"], untrackedMessage(u, ignored));
    }
  }
  if (problems.length) {
    throw new ConfigError(
      `Cannot stage the files named in "${loaded.file}"`,
      problems,
    );
  }
  const caItems: StagedItem[] = ca
    ? [{
      dest: CA_BUNDLE_PATH,
      kind: "file",
      executable: false,
      size: ca.bytes.length,
      content: async function* () {
        yield ca.bytes;
      },
      origin: "the CA bundle",
    }]
    : [];
  return { ca: caItems, externData, artifacts };
}

/** An extern_data path git does not track. */
interface Untracked {
  /** Relative to the project root. */
  rel: string;
  kind: "file" | "dir" | "empty";
  /** Index in extern_data. */
  index: number;
}

/** extern_data in a git project: what git tracks, where `real` is relative to the root, and where offenders go. */
interface GitFilter {
  tracked: Tracked;
  rel: string;
  found: Untracked[];
  index: number;
}

function untrackedMessage(u: Untracked, ignored: Set<string>): string {
  const q = JSON.stringify(u.rel);
  const clone =
    "so a clone of the commit builds another image (extern_data takes only what git tracks)";
  if (u.kind === "empty") {
    return `${q} is an empty directory, which git cannot record, ${clone}: remove it, or commit a file in it (e.g. ${
      JSON.stringify(u.rel + "/.gitkeep")
    })`;
  }
  const what = u.kind === "dir" ? "directory" : "file";
  if (ignored.has(u.kind === "dir" ? `${u.rel}/` : u.rel)) {
    return `${q} is a git-ignored ${what}, ${clone}: move it out of the extern_data source, or commit it (git add -f ${q}) if it belongs in the image`;
  }
  return `${q} is an untracked ${what}, ${clone}: commit it (git add ${q}) or remove it`;
}

function relativeTo(realRoot: string, real: string): string {
  return real === realRoot ? "" : real.slice(realRoot.length + 1);
}

async function collectExtern(
  m: Mapping,
  real: string,
  origin: string,
  out: StagedItem[],
  fail: (message: string) => void,
  git: GitFilter | null,
): Promise<void> {
  const info = await Deno.stat(real);
  const wantsDir = m.dest.length > 1 && m.dest.endsWith("/");
  const dest = wantsDir ? m.dest.slice(0, -1) : m.dest;
  if (info.isFile) {
    if (wantsDir) {
      fail(
        `expected a directory because dest "${m.dest}" ends with "/", found a file at "${m.src}"`,
      );
      return;
    }
    if (git && !git.tracked.files.has(git.rel)) {
      git.found.push({ rel: git.rel, kind: "file", index: git.index });
      return;
    }
    out.push(fileItem(dest, real, info, `${origin} "${m.src}"`));
    return;
  }
  if (!info.isDirectory) {
    fail(`expected a file or directory, found a ${kindOf(info)} at "${m.src}"`);
    return;
  }
  // In git: a directory that holds no tracked file is not in the commit.
  const untrackedDir = async (path: string, rel: string): Promise<boolean> => {
    if (!git) return false;
    const gitRel = git.rel === "" ? rel : rel === "" ? git.rel : `${git.rel}/${rel}`;
    if (git.tracked.dirs.has(gitRel)) return false;
    let empty = true;
    for await (const _ of Deno.readDir(path)) {
      empty = false;
      break;
    }
    git.found.push({ rel: gitRel, kind: empty ? "empty" : "dir", index: git.index });
    return true;
  };
  if (await untrackedDir(real, "")) return;
  out.push({ dest, kind: "dir", origin: `${origin} "${m.src}"` });
  await walk(real, "", async (rel, entry) => {
    const path = `${real}/${rel}`;
    const itemDest = `${dest}/${rel}`;
    const itemOrigin = `${origin} "${m.src}/${rel}"`;
    if (git && !entry.isDirectory) {
      const gitRel = git.rel === "" ? rel : `${git.rel}/${rel}`;
      if (!git.tracked.files.has(gitRel)) {
        git.found.push({ rel: gitRel, kind: "file", index: git.index });
        return false;
      }
    }
    if (entry.isSymlink) {
      const target = await Deno.readLink(path);
      const inside = symlinkInside(rel, target);
      if (inside === null) {
        fail(`symlink "${m.src}/${rel}" points to "${target}", outside "${m.src}"`);
        return false;
      }
      out.push({ dest: itemDest, kind: "symlink", linkTarget: target, origin: itemOrigin });
      return false;
    }
    const st = await Deno.lstat(path);
    if (st.isDirectory) {
      if (await untrackedDir(path, rel)) return false;
      out.push({ dest: itemDest, kind: "dir", origin: itemOrigin });
      return true;
    }
    if (st.isFile) {
      out.push(fileItem(itemDest, path, st, itemOrigin));
      return false;
    }
    fail(`expected files, directories and symlinks, found a ${kindOf(st)} at "${m.src}/${rel}"`);
    return false;
  });
}

/** Walks a directory in bytewise name order; `visit` returns true to descend. */
async function walk(
  dir: string,
  rel: string,
  visit: (rel: string, entry: Deno.DirEntry) => Promise<boolean>,
): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const childRel = rel ? `${rel}/${e.name}` : e.name;
    if (await visit(childRel, e)) await walk(dir, childRel, visit);
  }
}

function fileItem(dest: string, path: string, info: Deno.FileInfo, origin: string): StagedItem {
  return {
    dest,
    kind: "file",
    // Only the owner's execute bit counts: group and other bits follow the umask.
    executable: ((info.mode ?? 0) & 0o100) !== 0,
    size: info.size,
    content: () => readFileChunks(path, info.size),
    origin,
  };
}

/** Resolves `src` under `realRoot`, following symlinks; null (after `fail`) when missing or outside. */
async function resolveInside(
  realRoot: string,
  src: string,
  fail: (message: string) => void,
): Promise<string | null> {
  let real: string;
  try {
    real = await Deno.realPath(`${realRoot}/${src}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      fail(
        `expected a file at "${src}" (relative to "${realRoot}"), found nothing: did build_cmd produce it?`,
      );
      return null;
    }
    throw error;
  }
  if (real !== realRoot && !real.startsWith(realRoot + "/")) {
    fail(
      `expected a path inside the project, found "${src}", which resolves to "${real}" through a symlink`,
    );
    return null;
  }
  return real;
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "directory";
  if (info.isSymlink) return "symlink";
  if (info.isFile) return "file";
  if (info.isFifo) return "FIFO";
  if (info.isSocket) return "socket";
  if (info.isCharDevice || info.isBlockDevice) return "device";
  return "special file";
}

/** The staged items of the tzdata layer: one 0644 file per zone under /usr/share/zoneinfo. */
export function tzdataItems(tz: Tzdata): StagedItem[] {
  return tz.files.map((f) => ({
    dest: `${TZDATA_DIR}/${f.name}`,
    kind: "file",
    executable: false,
    size: f.bytes.length,
    content: async function* () {
      yield f.bytes;
    },
    origin: `include_tzdata (${f.name})`,
  }));
}
