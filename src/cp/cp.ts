/**
 * `r10e cp IMAGE SRC DEST`: copy a file or directory out of an image archive, like
 * `docker create` + `docker cp -L`, without a daemon (DESIGN: reading images).
 *
 * - SRC is resolved in the merged filesystem, symlinks followed inside the image root
 *   (the last component too, like `-L`); inside a copied directory symlinks stay symlinks.
 * - DEST follows docker cp's rules (see `destination.ts`); `-` writes a tar stream instead.
 * - Safety: every host path is DEST's target joined with names from the merged tree (never
 *   `..`, never a `/`); an existing non-directory where a directory goes is refused, so no
 *   write passes through a symlink; a relative symlink in a copied directory that would lead
 *   out of the directory the copy lands in is refused, as docker cp's untar refuses it; files and symlinks are written to a temporary name in
 *   their final directory and renamed; a new directory tree is built under a temporary name
 *   and renamed at the end; everything is checked (devices, FIFOs, conflicts) before the first
 *   write, and temporary files are removed on failure.
 *
 * Returns what it copied; `main.ts` prints it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname, resolve as resolvePath } from "node:path";
import { isDiskFull } from "../disk_full.ts";
import { InputError, UsageError } from "../errors.ts";
import { buildMergedFs, type FsKind, type FsNode, readContents } from "../image/merged_fs.ts";
import type { ImageInfo, ImageInput } from "../image/reader.ts";
import { openInput, type ResolveOptions } from "../registry/resolve.ts";
import { encodeHeader, type TarEntry } from "../tar/writer.ts";
import { hasRawBytes } from "../tar/raw_names.ts";
import { LinkChecker, lstatHost } from "./containment.ts";
import { Captured } from "./captured.ts";
import { copiesContents, placeCopy, sourceBaseName } from "./destination.ts";
import { ownerOfTemporary, replaceAtomically, temporaryPath } from "../atomic_write.ts";
import { releaseTemporary, removeStaleTemporaries, removeTemporary } from "../signals.ts";
import { specialKind } from "../file_kind.ts";
import { Digests } from "../digests.ts";

/** A fresh sha256 to copy per file: a copy costs a third less than createHash (many small files). */
const SHA256 = createHash("sha256");

/** One regular file copied. */
export interface CopiedFile {
  /** Host path as written (DEST-based), or the tar entry name for `-`. */
  path: string;
  size: number;
  /** sha256 hex of the content. */
  sha256: string;
}

/**
 * A copied file whose sha256 stays 32 bytes in a store shared by the copy until it is asked
 * for as hex (a hex string is 80 bytes of heap: 16 MB for 200,000 files).
 */
class Copied implements CopiedFile {
  readonly path: string;
  readonly size: number;
  readonly #digests: Digests;
  /** Index of the sha256 in `#digests`. */
  readonly index: number;

  constructor(path: string, size: number, digests: Digests, index: number) {
    this.path = path;
    this.size = size;
    this.#digests = digests;
    this.index = index;
  }

  /** sha256 hex of the content. */
  get sha256(): string {
    return this.#digests.hex(this.index);
  }
}

/** What `cp` did. */
export interface CpResult {
  /** SRC resolved in the image, e.g. `/usr/bin/app` for `/bin/app`. */
  source: string;
  /** Host path of the copy's top, or `-`. */
  target: string;
  /** Regular files copied, in path order. */
  files: CopiedFile[];
}

/** Options of `cp`. */
export interface CpOptions {
  /** How to reach registries, when IMAGE is a registry reference. */
  registry?: Omit<ResolveOptions, "platform" | "tempDir">;
  /** `os/arch[/variant]` for multi-platform inputs. */
  platform?: string;
  /** Parent directory for the image reader's spool (default: the system one). */
  tempDir?: string;
  /** Where the tar stream goes when DEST is `-` (required then). */
  stdout?: WritableStream<Uint8Array>;
}

const BLOCK = 512;
/** Linux's limits: a path (PATH_MAX less the NUL), one name (NAME_MAX), a symlink's target. */
export const PATH_MAX = 4095;
export const NAME_MAX = 255;
const encoder = new TextEncoder();

/**
 * Copies SRC out of IMAGE to DEST.
 * @throws {InputError} for an unreadable image, a missing SRC (naming the missing component), or devices/FIFOs.
 * @throws {UsageError} when docker cp's rules refuse the destination.
 */
export async function cp(
  image: string,
  paths: { src: string; dest: string },
  options: CpOptions = {},
): Promise<CpResult> {
  if (!paths.src) throw new UsageError("SRC must not be empty");
  if (!paths.dest) throw new UsageError("DEST must not be empty");
  // A registry reference is read from its registry, its layers streamed and kept while the
  // command reads them (the contents of files outside what the first pass keeps are read again).
  await using input = await openInput(image, {
    env: {},
    ...options.registry,
    platform: options.platform,
    tempDir: options.tempDir,
    spool: true,
    // Only the blobs cp reads are hashed (blobsRead): one file out of a plain tar does not cost
    // a hash of every layer.
    deferBlobHashes: true,
  });
  const info = input.image();
  const src = paths.src.startsWith("/") ? paths.src : "/" + paths.src;
  // The files under SRC are kept as the merged filesystem's pass inflates their layers: a
  // compressed layer is inflated once, and its diff_id checked before anything is written.
  await using captured = await Captured.open(src, { tempDir: options.tempDir });
  const fs = await buildMergedFs(input, info, {
    onEntry: (layer, entry) => captured.take(layer, entry),
  });
  captured.flush();
  const resolved = fs.resolve(src, { followLast: true });
  const top = resolved.node;
  const isDir = top.kind === "dir";
  if (!isDir && top.kind !== "file") throw refuse(image, [[src, top.kind]]);
  const tree: [string, FsNode][] = isDir ? [...fs.walk(top)] : [];
  const bad = tree.filter(([, n]) => !["file", "dir", "symlink"].includes(n.kind));
  const base = resolved.path === "/" ? "" : resolved.path;
  if (bad.length) {
    throw refuse(image, bad.map(([rel, n]) => [`${base}/${rel}`, n.kind]));
  }
  if (hasRawBytes(resolved.path)) throw notUtf8(image, resolved.path, "");
  // One file is written to a temporary name while its layer is hashed, and renamed once the
  // hash matched; everything else waits for the check.
  const checked = input.checkBlobs(blobsRead(info, top, tree));
  checked.catch(() => {}); // awaited below: not an unhandled rejection meanwhile
  if (paths.dest === "-") {
    if (!options.stdout) throw new TypeError("cp: DEST is - but no stdout stream was given");
    await checked;
    checkTree(image, { top, base, prefix: copiesContents(src) ? "" : sourceBaseName(src) });
    const files = await streamTar(input, info, top, tree, src, {
      stdout: options.stdout,
      tempDir: options.tempDir,
      captured,
    });
    return { source: resolved.path, target: "-", files };
  }
  const dest = await destInfo(paths.dest);
  const placement = placeCopy({ arg: src, isDir }, dest);
  checkTree(image, { top, base, prefix: placement.target });
  if (placement.mode !== "file") await checked;
  try {
    const files = placement.mode === "file"
      ? [await writeOneFile(input, info, top, { target: placement.target, checked, captured })]
      : await writeTree(input, info, {
        top,
        tree,
        target: placement.target,
        contents: copiesContents(src),
        captured,
      });
    return { source: resolved.path, target: placement.target, files };
  } catch (e) {
    throw hostError(e, placement.target);
  }
}

/**
 * The layer blobs whose bytes cp reads, checked against their digests before anything is
 * written: every compressed layer (inflated whole for the merged filesystem) and the
 * uncompressed layers holding a copied file's content. The headers of the other uncompressed
 * layers are read where they stand (offsets checked by the tar reader), their content never.
 */
function blobsRead(image: ImageInfo, top: FsNode, tree: [string, FsNode][]): Set<string> {
  const layers = new Set<number>();
  if (top.content) layers.add(top.content.layer);
  for (const [, n] of tree) if (n.content) layers.add(n.content.layer);
  return new Set(
    image.layers.filter((l) => l.compression !== "none" || layers.has(l.index)).map((l) => l.path),
  );
}

/**
 * Refuses, before any write, what the host cannot hold, naming the first such entry: names that
 * are not UTF-8 (Deno names host paths with strings and writes them as UTF-8, so two names that
 * differ only in invalid bytes would become one file `\uFFFD…`), and paths or link
 * targets longer than Linux allows (a chain of 100,000 directories). Walks the nodes with a
 * stack, never building the long paths it refuses.
 * @throws {InputError} for a name that is not UTF-8
 * @throws {UsageError} for a path, name or link target too long
 */
function checkTree(
  image: string,
  what: { top: FsNode; base: string; prefix: string },
): void {
  const { top, base, prefix } = what;
  const prefixBytes = encoder.encode(prefix).length;
  const long = (n: number, detail: string, limit: number, parts: string[]) =>
    new UsageError(
      `Cannot copy to "${short(joinPath(prefix, parts))}": ${detail} is ${n} bytes long, ` +
        `more than the ${limit} the system allows`,
    );
  for (const name of prefix.split("/")) {
    const n = encoder.encode(name).length;
    if (n > NAME_MAX) throw long(n, `the name "${short(name)}"`, NAME_MAX, []);
  }
  if (prefixBytes > PATH_MAX) throw long(prefixBytes, "the path", PATH_MAX, []);
  if (top.kind !== "dir") return;
  const path: string[] = [];
  const bytes: number[] = [prefixBytes];
  const pending: [FsNode, string, number][] = [];
  for (const [name, child] of top.children!) pending.push([child, name, 0]);
  while (pending.length) {
    const [node, name, level] = pending.pop()!;
    path.length = level;
    bytes.length = level + 1;
    path.push(name);
    if (hasRawBytes(name) || (node.kind === "symlink" && hasRawBytes(node.linkname))) {
      throw notUtf8(image, base, path.join("/"), hasRawBytes(name) ? "" : "the target of ");
    }
    const n = encoder.encode(name).length;
    if (n > NAME_MAX) throw long(n, `the name "${short(name)}"`, NAME_MAX, path);
    const total = bytes[level] + (bytes[level] ? 1 : 0) + n;
    if (total > PATH_MAX) throw long(total, "the path", PATH_MAX, path);
    bytes.push(total);
    if (node.kind === "symlink") {
      const t = encoder.encode(node.linkname).length;
      if (t > PATH_MAX) throw long(t, "the target of this symlink", PATH_MAX, path);
    }
    if (node.kind === "dir") {
      for (const [childName, child] of node.children!) pending.push([child, childName, level + 1]);
    }
  }
}

function joinPath(prefix: string, parts: string[]): string {
  const rel = parts.join("/");
  return prefix && rel ? `${prefix}/${rel}` : prefix || rel;
}

function notUtf8(image: string, base: string, rel: string, what = ""): InputError {
  const shown = rel ? `${base}/${rel}` : base;
  return new InputError(
    `Cannot copy from image "${image}": ${what}"${
      short(shown)
    }" is not valid UTF-8 (each byte that is not is shown as \\udcXX), which r10e cp cannot write: Deno names files with strings`,
  );
}

/** A long name cut for messages: its first and last 60 characters. */
function short(name: string): string {
  return name.length <= 160
    ? name
    : `${name.slice(0, 60)}…(${name.length} characters)…${name.slice(-60)}`;
}

/** Current host path being written, for messages (never a temporary name). */
let writing = "";

/**
 * An error of the host (permissions, a full disk, a read-only filesystem) as a UsageError that
 * names the user's path, not r10e's temporary name, which the user never gave; r10e's own errors
 * pass through.
 */
function hostError(e: unknown, target: string): unknown {
  if (e instanceof InputError || e instanceof UsageError) return e;
  const where = writing || target;
  writing = "";
  if (e instanceof RangeError) return new UsageError(`Cannot copy to "${target}": ${e.message}`);
  if (isDiskFull(e)) {
    return new UsageError(
      `Cannot copy to "${short(where)}": the output folder "${
        short(dirname(where))
      }" is full (no space left on device)`,
    );
  }
  if (e instanceof Error && "code" in e && typeof e.code === "string") {
    // Deno's messages end with the syscall and the (temporary) path: "…: open '/d/.r10e-cp-…'".
    const reason = e.message.replace(/:\s+\w+\s+'.*'$/s, "").replace(/ \(os error \d+\)$/, "");
    // No cause: main.ts would wrap an OS error found in the chain once more.
    return new UsageError(`Cannot copy to "${short(where)}": ${reason}`);
  }
  return e;
}

function refuse(image: string, items: [string, FsKind][]): InputError {
  const what: Record<string, string> = {
    char: "a character device",
    block: "a block device",
    fifo: "a FIFO",
    other: "a special file",
  };
  const list = items.map(([p, k]) => `"${p}" is ${what[k] ?? k}`).join(", ");
  return new InputError(
    `Cannot copy from image "${image}": ${list}; r10e cp copies only files, directories and symlinks`,
  );
}

async function destInfo(arg: string) {
  const stat = await Deno.stat(arg).catch((e) => {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw new UsageError(`Cannot copy to "${arg}": ${(e as Error).message}`);
  });
  // A device or FIFO would be replaced by a regular file (`/dev/null`, as root): refused.
  if (stat && !stat.isFile && !stat.isDirectory) {
    throw new UsageError(
      `Cannot copy to "${arg}": it is ${specialKind(stat)}; DEST must be a directory, ` +
        `a regular file or a path that does not exist`,
    );
  }
  const parent = dirname(arg.replace(/\/+\.?$/, "") || "/");
  const parentStat = stat ? null : await Deno.stat(parent).catch(() => null);
  return {
    arg,
    exists: stat !== null,
    isDir: stat?.isDirectory ?? false,
    parentExists: stat !== null || (parentStat?.isDirectory ?? false),
  };
}

/** Refuses an existing entry that is not a file, directory or symlink where the copy writes. */
function checkReplaceable(path: string, st: Deno.FileInfo | null): void {
  if (st && !st.isFile && !st.isDirectory && !st.isSymlink) {
    throw new UsageError(
      `Cannot copy to "${path}": it is ${specialKind(st)}, which r10e cp does not replace`,
    );
  }
}

function lstatSync(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

async function lstat(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/**
 * A temporary name in `dir`, `.r10e-cp-<pid>-<12 hex>`, registered so that an interrupt removes
 * it (signals.ts); after a SIGKILL, the next cp into `dir` removes it ({@linkcode sweep}).
 */
function tempName(dir: string): string {
  return temporaryPath(dir, "cp");
}

/** Directories swept in this process already. */
const swept = new Set<string>();

/**
 * Removes the temporaries an earlier r10e, killed too hard to clean up (SIGKILL), left in `dir`:
 * only r10e's own names, only those whose process is gone.
 */
async function sweep(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  await removeStaleTemporaries(dir, ownerOfTemporary, {
    prepare: async (path) => {
      // A tree whose directories were already given their (read-only) modes.
      await Deno.chmod(path, 0o700).catch(() => {});
      await makeWritable(path);
    },
  });
}

/**
 * Writes a body to a new file (never an existing one), hashing it. The file calls are
 * synchronous: each asynchronous one is a round trip to Deno's blocking thread pool (futex and
 * epoll calls, some ten system calls more per file under strace -c), which bounds a copy of many
 * small files; the body's own reads stay asynchronous.
 */
async function writeBody(
  path: string,
  body: Body,
  mode = 0o600,
): Promise<{ size: number; sha256: string }> {
  const hash = SHA256.copy();
  let size = 0;
  using file = Deno.openSync(path, { write: true, createNew: true, mode });
  const put = (chunk: Uint8Array) => {
    hash.update(chunk);
    size += chunk.length;
    let done = 0;
    while (done < chunk.length) done += file.writeSync(chunk.subarray(done));
  };
  // A body from cp's spool is read synchronously: no promise per chunk.
  if (Symbol.iterator in body) { for (const chunk of body) put(chunk); }
  else for await (const chunk of body) put(chunk);
  return { size, sha256: hash.digest("hex") };
}

/** A file's content: from cp's spool (synchronous) or from a layer. */
type Body = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * The content of file nodes, like `readContents` (nodes sharing one tar entry get one body,
 * which `onContent` consumes), those the merged filesystem's pass kept taken from the spool in
 * the order they lie there, the others read from their layers.
 */
async function readFiles(
  input: ImageInput,
  image: ImageInfo,
  what: {
    captured: Captured;
    nodes: Iterable<FsNode>;
    onContent: (nodes: FsNode[], body: Body) => Promise<void>;
  },
): Promise<void> {
  const { captured, onContent } = what;
  const kept: FsNode[] = [];
  const others: FsNode[] = [];
  for (const node of what.nodes) {
    if (node.kind !== "file" || !node.content) continue;
    (captured.offsetOf(node) === undefined ? others : kept).push(node);
  }
  const at = new Float64Array(kept.length);
  kept.forEach((n, i) => (at[i] = captured.offsetOf(n)!));
  let order = Uint32Array.from(kept.keys());
  if (!at.every((x, i) => i === 0 || at[i - 1] <= x)) order = order.sort((a, b) => at[a] - at[b]);
  for (const i of order) await onContent([kept[i]], captured.read(at[i], kept[i].size));
  await readContents(input, image, { nodes: others, onContent });
}

function finish(path: string, node: FsNode, chmod = true): void {
  if (chmod) Deno.chmodSync(path, node.mode & 0o7777);
  Deno.utimeSync(path, node.mtime, node.mtime);
}

async function writeOneFile(
  input: ImageInput,
  image: ImageInfo,
  node: FsNode,
  to: { target: string; checked: Promise<void>; captured: Captured },
): Promise<CopiedFile> {
  const target = to.target;
  const existing = await lstat(target);
  if (existing?.isDirectory) {
    throw new UsageError(`Cannot copy to "${target}": cannot overwrite a directory with a file`);
  }
  checkReplaceable(target, existing);
  writing = target;
  await sweep(dirname(target));
  const written = await replaceAtomically(target, "cp", async (temp) => {
    let written: { size: number; sha256: string } | undefined;
    await readFiles(input, image, {
      captured: to.captured,
      nodes: [node],
      onContent: async (_nodes, body) => {
        written = await writeBody(temp, body);
      },
    });
    if (!written) written = await writeBody(temp, empty());
    finish(temp, node);
    await to.checked;
    return written;
  });
  const digests = new Digests();
  return new Copied(target, written.size, digests, digests.addHex(written.sha256));
}

async function* empty(): AsyncGenerator<Uint8Array> {}

/**
 * Writes a directory tree at `target`: built under a temporary name and renamed when target
 * does not exist, merged into it (file by file, temp + rename) when it is a directory.
 * Everything that can refuse the copy is checked before the first write.
 */
async function writeTree(
  input: ImageInput,
  image: ImageInfo,
  what: {
    top: FsNode;
    tree: [string, FsNode][];
    target: string;
    contents: boolean;
    captured: Captured;
  },
): Promise<CopiedFile[]> {
  const { top, tree, target, contents } = what;
  const fresh = await treeTarget(target, contents);
  await refuseEscapingLinks(tree, { top, target, merged: contents && !fresh });
  if (!fresh) refuseConflicts(tree, target);
  // Where an earlier cp may have been killed while writing: the directories that exist already.
  await sweep(dirname(target));
  if (!fresh) {
    await sweep(target);
    for (const [rel, node] of tree) if (node.kind === "dir") await sweep(`${target}/${rel}`);
  }
  const root = fresh ? tempName(dirname(target)) : target;
  const temps = new Set<string>();
  try {
    writing = target;
    if (fresh) Deno.mkdirSync(root, { mode: 0o700 });
    makeDirs(tree, { root, target });
    const files = await writeEntries(input, image, {
      tree,
      captured: what.captured,
      at: { root, target, fresh, temps },
    });
    // Directory modes and times last, deepest first, so a read-only directory can be filled.
    for (let i = tree.length - 1; i >= 0; i--) {
      const [rel, node] = tree[i];
      if (node.kind === "dir") finish(`${root}/${rel}`, node);
    }
    // docker cp skips the "." entry of `SRC/.` over an existing directory: its mode stays.
    if (fresh || !contents) finish(root, top);
    if (fresh) Deno.renameSync(root, target);
    if (fresh) releaseTemporary(root);
    return files;
  } catch (e) {
    for (const t of temps) await removeTemporary(t);
    if (fresh) {
      await Deno.chmod(root, 0o700).catch(() => {});
      await makeWritable(root);
      await removeTemporary(root);
    }
    throw e;
  }
}

/**
 * Whether the tree's target is new (true) or an existing directory it merges into (false).
 * @throws {UsageError} when it is another kind of file.
 */
async function treeTarget(target: string, contents: boolean): Promise<boolean> {
  let existing = await lstat(target);
  if (existing?.isSymlink && contents) {
    // `SRC/.` into a symlink to a directory merges into that directory, as `SRC` into it puts
    // the copy inside it (destInfo follows it): docker cp follows DEST in both cases.
    const st = await Deno.stat(target).catch(() => null);
    if (st?.isDirectory) existing = st;
  }
  if (existing && !existing.isDirectory) {
    // lstat: a symlink here is not followed, it is refused like any non-directory.
    throw new UsageError(
      `Cannot copy to "${target}": cannot overwrite a non-directory with a directory`,
    );
  }
  return existing === null;
}

/**
 * Like docker cp's untar: a relative symlink that leads out of the directory the copy is
 * extracted into (DEST's parent, or DEST itself when its contents are merged) is refused;
 * judged by resolving it against the copy as it will stand, links followed (containment.ts).
 * @throws {UsageError} naming the first such link.
 */
async function refuseEscapingLinks(
  tree: [string, FsNode][],
  at: { top: FsNode; target: string; merged: boolean },
): Promise<void> {
  const { top, target, merged } = at;
  // The real directory: links in the copy resolve from where they are written (DEST followed).
  const extractDir = await Deno.realPath(merged ? target : dirname(target)).catch(() =>
    resolvePath(merged ? target : dirname(target))
  );
  const checker = new LinkChecker(extractDir, {
    node: top,
    name: merged ? "" : basename(resolvePath(target)),
  }, { host: lstatHost });
  const topParts = merged ? [] : [basename(resolvePath(target))];
  const escaping: [string, FsNode][] = [];
  for (const [rel, n] of tree) {
    if (n.kind !== "symlink") continue;
    const dir = rel.split("/").slice(0, -1);
    if (await checker.leadsOut(topParts.concat(dir), n.linkname)) escaping.push([rel, n]);
  }
  if (escaping.length) {
    const [rel, n] = escaping[0];
    throw new UsageError(
      `Cannot copy to "${target}": symlink "${rel}" -> "${n.linkname}" would point outside "${
        merged ? target : dirname(target)
      }"${escaping.length > 1 ? ` (and ${escaping.length - 1} more)` : ""}`,
    );
  }
}

/**
 * Refuses what the copy would overwrite in an existing directory: a directory over a
 * non-directory or the reverse (docker cp: NoOverwriteDirNonDir), or a special file.
 * @throws {UsageError} for the first such path.
 */
function refuseConflicts(tree: [string, FsNode][], target: string): void {
  for (const [rel, node] of tree) {
    const at = lstatSync(`${target}/${rel}`);
    if (!at) continue;
    checkReplaceable(`${target}/${rel}`, at);
    if (node.kind === "dir" && !at.isDirectory) {
      throw new UsageError(
        `Cannot copy to "${target}/${rel}": cannot overwrite a non-directory with a directory`,
      );
    }
    if (node.kind !== "dir" && at.isDirectory) {
      throw new UsageError(
        `Cannot copy to "${target}/${rel}": cannot overwrite a directory with a non-directory`,
      );
    }
  }
}

/** Makes the tree's directories under `root` (0700 until their modes are set, last). */
function makeDirs(tree: [string, FsNode][], at: { root: string; target: string }): void {
  for (const [rel, node] of tree) {
    if (node.kind !== "dir") continue;
    writing = `${at.target}/${rel}`;
    try {
      Deno.mkdirSync(`${at.root}/${rel}`, { mode: 0o700 });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
}

/**
 * Writes the tree's files and symlinks under `root`; returns the files copied, in tree order.
 * A new tree is one temporary as a whole (renamed last, removed on failure), so its files are
 * written at their final names; into an existing directory each one is written to a temporary
 * name (listed in `temps` meanwhile) and renamed, so that a failure leaves no half-written
 * file there.
 */
async function writeEntries(
  input: ImageInput,
  image: ImageInfo,
  what: {
    tree: [string, FsNode][];
    captured: Captured;
    at: { root: string; target: string; fresh: boolean; temps: Set<string> };
  },
): Promise<CopiedFile[]> {
  const { tree } = what;
  const { root, target, fresh, temps } = what.at;
  // One node may sit at several paths (hardlinks): written once, linked at the others. By
  // index in the tree, not by path: one number a file (200,000 files).
  const first = new Map<FsNode, number>();
  const more = new Map<FsNode, number[]>();
  for (let i = 0; i < tree.length; i++) {
    const node = tree[i][1];
    if (node.kind !== "file") continue;
    if (!first.has(node)) first.set(node, i);
    else if (more.has(node)) more.get(node)!.push(i);
    else more.set(node, [i]);
  }
  // Printed as typed but without "//" or "/./" (DEST "out/" or "out/."): "out/x".
  const shown = target.replace(/(?:\/\.?)+$/, "");
  const copied: (CopiedFile | undefined)[] = new Array(tree.length);
  const digests = new Digests();
  const record = (i: number, r: { size: number; digest: number }) =>
    copied[i] = new Copied(`${shown}/${tree[i][0]}`, r.size, digests, r.digest);
  const kept = (r: { size: number; sha256: string }) => ({
    size: r.size,
    digest: digests.addHex(r.sha256),
  });
  // In a new tree (0700 until its end), a file whose mode has no special bits, lets its owner
  // read and write, and passes the umask is created with that mode: no chmod after it.
  const umask = fresh ? probeUmask(root) : 0o777;
  const exact = (node: FsNode) => (node.mode & 0o7600) === 0o600 && (node.mode & umask) === 0;
  const place = async (
    rel: string,
    node: FsNode,
    write: (path: string) => void | Promise<void>,
    created = 0o600,
  ) => {
    const final = `${root}/${rel}`;
    writing = `${target}/${rel}`;
    const path = fresh ? final : tempName(dirname(final));
    if (!fresh) temps.add(path);
    await write(path);
    if (node.kind !== "symlink") finish(path, node, created !== (node.mode & 0o7777));
    if (fresh) return;
    Deno.renameSync(path, final);
    temps.delete(path);
    releaseTemporary(path);
  };
  await readFiles(input, image, {
    captured: what.captured,
    nodes: first.keys(),
    onContent: async (nodes, body) => {
      const [head, ...others] = nodes.flatMap((n) =>
        [first.get(n)!, ...(more.get(n) ?? [])].map((i) => [i, n] as const)
      );
      const mode = exact(head[1]) ? head[1].mode : 0o600;
      await place(tree[head[0]][0], head[1], async (path) => {
        const r = record(head[0], kept(await writeBody(path, body, mode)));
        // Other paths of the same node are hard links in the image and become hard links
        // here, as docker cp -L keeps them; other nodes with the same content get copies.
        for (const [i, node] of others) {
          const link = node === head[1];
          await place(
            tree[i][0],
            node,
            (t) => link ? Deno.linkSync(path, t) : Deno.copyFileSync(path, t),
          );
          record(i, { size: r.size, digest: r.index });
        }
      }, mode);
    },
  });
  for (let i = 0; i < tree.length; i++) {
    const [rel, node] = tree[i];
    if (node.kind === "file" && !copied[i]) {
      const mode = exact(node) ? node.mode : 0o600;
      await place(rel, node, async (path) => {
        record(i, kept(await writeBody(path, empty(), mode)));
      }, mode);
    } else if (node.kind === "symlink") {
      await place(rel, node, (path) => Deno.symlinkSync(node.linkname, path));
    }
  }
  const files: CopiedFile[] = [];
  for (const c of copied) if (c) files.push(c);
  return files;
}

/** The process's umask, read by creating a file in `dir` (Deno reads it only as unstable). */
function probeUmask(dir: string): number {
  const probe = `${dir}/.umask`;
  Deno.openSync(probe, { write: true, createNew: true, mode: 0o777 }).close();
  try {
    return 0o777 & ~Deno.statSync(probe).mode!;
  } finally {
    Deno.removeSync(probe);
  }
}

async function makeWritable(top: string): Promise<void> {
  // A stack, not recursion: the tree may be as deep as the image's.
  const pending = [top];
  while (pending.length) {
    const dir = pending.pop()!;
    try {
      for await (const d of Deno.readDir(dir)) {
        if (d.isDirectory) {
          await Deno.chmod(`${dir}/${d.name}`, 0o700).catch(() => {});
          pending.push(`${dir}/${d.name}`);
        }
      }
    } catch {
      // best effort: the directory is being removed
    }
  }
}

/** Files of an uncompressed layer up to this size are spooled too when many are copied. */
const SPOOL_SMALL = 1 << 20;
/** Bytes the tar stream gathers before one write: few writes for many small entries. */
const OUT_BATCH = 1 << 20;

/**
 * Writes the copy as a tar stream, names rebased on SRC's base name as docker cp does. The stream
 * follows path order, which need not be a layer's order: files of compressed layers (and the
 * small files of uncompressed ones, when there are many) are first read in layer order into one
 * spool file and taken from it by offset; large files of uncompressed layers are read in place.
 */
async function streamTar(
  input: ImageInput,
  image: ImageInfo,
  top: FsNode,
  tree: [string, FsNode][],
  src: string,
  out: { stdout: WritableStream<Uint8Array>; tempDir?: string; captured: Captured },
): Promise<CopiedFile[]> {
  const { captured } = out;
  const base = copiesContents(src) ? "" : sourceBaseName(src);
  const all: [string, FsNode][] = top.kind === "dir"
    ? [
      ...(base ? [[base, top] as [string, FsNode]] : []),
      ...tree.map(([rel, n]) => [base ? `${base}/${rel}` : rel, n] as [string, FsNode]),
    ]
    : [[base, top]];
  const spooled = new Map<FsNode, number>();
  const dir = await Deno.makeTempDir({ dir: out.tempDir, prefix: "r10e-cp-" });
  const writer = out.stdout.getWriter();
  const batch = new OutBatch(writer);
  const files: CopiedFile[] = [];
  const digests = new Digests();
  try {
    using spool = Deno.openSync(`${dir}/spool`, { read: true, write: true, createNew: true });
    const many = all.length > 64;
    const toSpool = all.map(([, n]) => n).filter((n) =>
      n.kind === "file" && n.content && captured.offsetOf(n) === undefined &&
      (!input.readsInPlace(image, n.content.layer) || (many && n.size <= SPOOL_SMALL))
    );
    let end = 0;
    await readContents(input, image, {
      nodes: toSpool,
      onContent: async (nodes, body) => {
        for (const n of nodes) spooled.set(n, end);
        for await (const chunk of body) {
          let done = 0;
          while (done < chunk.length) done += spool.writeSync(chunk.subarray(done));
          end += chunk.length;
        }
      },
    });
    for (const [name, node] of all) {
      const entry: TarEntry = {
        name,
        kind: node.kind === "dir" ? "dir" : node.kind === "symlink" ? "symlink" : "file",
        mode: node.mode & 0o7777,
        size: node.kind === "file" ? node.size : 0,
        linkTarget: node.kind === "symlink" ? node.linkname : undefined,
      };
      await batch.push(encodeHeader(entry, { mtime: Math.max(0, Math.floor(node.mtime)) }));
      if (node.kind !== "file") continue;
      const hash = SHA256.copy();
      let size = 0;
      const at = spooled.get(node);
      const kept = at === undefined ? captured.offsetOf(node) : undefined;
      if (kept !== undefined) {
        for (const chunk of captured.read(kept, node.size)) {
          hash.update(chunk);
          size += chunk.length;
          await batch.push(chunk);
        }
      } else if (at !== undefined) {
        spool.seekSync(at, Deno.SeekMode.Start);
        while (size < node.size) {
          const room = await batch.room(node.size - size);
          const n = spool.readSync(room);
          if (n === null || n === 0) break;
          hash.update(room.subarray(0, n));
          batch.advance(n);
          size += n;
        }
      } else if (node.content) {
        const source = input.layerRange(
          image,
          node.content.layer,
          node.content.dataOffset,
          node.size,
          {
            reuse: true,
          },
        )!;
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          await batch.push(chunk);
        }
      }
      if (size !== node.size) {
        throw new InputError(
          `Cannot read image "${input.path}": "${name}" changed while it was read`,
        );
      }
      await batch.pad((BLOCK - (size % BLOCK)) % BLOCK);
      files.push(new Copied(name, size, digests, digests.addHex(hash.digest("hex"))));
    }
    await batch.pad(2 * BLOCK);
    await batch.flush();
  } finally {
    writer.releaseLock();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return files;
}

/** Output gathered into 1 MiB buffers, each written at once (a fresh buffer per write). */
class OutBatch {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #buf = new Uint8Array(OUT_BATCH);
  #fill = 0;

  constructor(writer: WritableStreamDefaultWriter<Uint8Array>) {
    this.#writer = writer;
  }

  /** Appends a copy of `bytes`. */
  async push(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      const room = await this.room(bytes.length - at);
      room.set(bytes.subarray(at, at + room.length));
      this.advance(room.length);
      at += room.length;
    }
  }

  /** Appends `n` zero bytes. */
  async pad(n: number): Promise<void> {
    while (n > 0) {
      const room = await this.room(n);
      room.fill(0);
      this.advance(room.length);
      n -= room.length;
    }
  }

  /** Free space for up to `max` bytes, flushing first when the buffer is full. */
  async room(max: number): Promise<Uint8Array> {
    if (this.#fill === this.#buf.length) await this.flush();
    return this.#buf.subarray(
      this.#fill,
      this.#fill + Math.min(max, this.#buf.length - this.#fill),
    );
  }

  /** Counts `n` bytes written into the last `room`. */
  advance(n: number): void {
    this.#fill += n;
  }

  /** Writes what was gathered. */
  async flush(): Promise<void> {
    if (this.#fill === 0) return;
    const full = this.#buf.subarray(0, this.#fill);
    this.#buf = new Uint8Array(OUT_BATCH);
    this.#fill = 0;
    await this.#writer.write(full);
  }
}
