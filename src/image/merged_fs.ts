/**
 * The merged filesystem of an image, base layer first (DESIGN: reading images), as a tree of
 * metadata: each file knows which layer and which tar entry hold its content, and the content
 * is read again from the layer only when it is extracted. Memory grows with the number of
 * files, never with their size.
 *
 * ```ts
 * const fs = await buildMergedFs(input, image);       // reads every layer's headers once
 * const { node, path } = fs.resolve("/usr/bin/app"); // follows symlinks inside the root, like docker cp -L
 * for (const [rel, child] of fs.walk(node)) {}        // a directory's subtree, sorted, pre-order
 * await readContents(input, image, { nodes: [node], onContent: async (nodes, body) => {} });
 * ```
 *
 * Rules, as containerd and Docker apply layers:
 * - `D/.wh.X` deletes X (and its subtree) from the lower layers; `D/.wh..wh..opq` hides every
 *   lower child of D; other `.wh..wh.*` names (aufs metadata) are ignored; markers never show.
 *   Whiteouts of a layer apply to the layers below it, before the layer's own entries.
 * - A non-directory replaces whatever was at its path (a directory with its subtree); a
 *   directory over a directory only updates the metadata. Missing parents are created (0755);
 *   a parent that is not a directory is replaced by one (overlay semantics).
 * - A hardlink takes the content of its target as it stands at that point and shares its node
 *   (one inode, two paths): the link header's mode, owner and mtime apply to both, as Docker's
 *   and containerd's layer appliers do. A later entry at either path replaces only that path.
 * - Names are cleaned: a leading `/` or `./` is dropped (absolute names are contained), while a
 *   name or hardlink target whose `..` climbs above the root is refused.
 * - `resolve` follows symlinks inside the root: absolute targets restart at the root, `..`
 *   stops at the root, more than 255 hops is a loop.
 *
 * Pure apart from `buildMergedFs` and `readContents`, which read layers through the image reader.
 *
 * @module
 */
import { compareCodePoints } from "../code_point_order.ts";
import { InputError } from "../errors.ts";
import type { TarHeader, TarReaderEntry } from "../tar/reader.ts";
import type { ImageInfo, ImageInput } from "./reader.ts";

/** Layer bytes one file read by offset is worth: more files than one per this many, one pass. */
const ONE_PASS_BYTES = 64 << 10;

/** Symlink hops allowed while resolving one path (Linux allows 40; docker cp uses 255). */
export const MAX_SYMLINK_HOPS = 255;

/** The kinds of file in the merged filesystem. */
export type FsKind = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "other";

/** Where a file's content is: a tar entry of a layer. */
export interface ContentRef {
  layer: number;
  /** Offset of the entry's ustar header in the (uncompressed) layer. */
  headerOffset: number;
  /** Offset of its first content byte. */
  dataOffset: number;
  size: number;
}

/** One file, directory or link of the merged filesystem. */
export interface FsNode {
  kind: FsKind;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Content size of a regular file, else 0. */
  size: number;
  /** Target of a symlink, as stored. */
  linkname: string;
  xattrs: Record<string, string>;
  /** The layer that last wrote this node. A node reached by several paths is one hardlinked file. */
  layer: number;
  /** Content of a regular file. */
  content?: ContentRef;
  /** Children of a directory, by name. */
  children?: Map<string, FsNode>;
}

/** The result of resolving a path. */
export interface Resolved {
  node: FsNode;
  /** The canonical absolute path, symlinks resolved, e.g. `/usr/bin/app`. */
  path: string;
}

/** A merged filesystem. Build it with `buildMergedFs` or feed headers to `applyLayer`. */
export class MergedFs {
  /** Names the image in messages, e.g. its file name. */
  readonly label: string;
  /** The root directory. */
  readonly root: FsNode = newDir(0o755, -1);

  /** An empty filesystem for image `label`. */
  constructor(label: string) {
    this.label = label;
  }

  /**
   * Applies one layer's headers, in archive order.
   * @throws {InputError} for a name or hardlink that leads outside the root, or a hardlink to nothing.
   */
  applyLayer(
    layer: number,
    headers: Iterable<TarHeader>,
    layerName = `${layer}`,
    options: {
      /** The layer index content refs name: the first index of the same blob, read only once. */
      contentLayer?: number;
    } = {},
  ): void {
    const apply = this.layer(layer, layerName, options);
    for (const h of headers) apply.add(h);
    apply.end();
  }

  /**
   * Applies one layer entry by entry, so that no list of its headers is kept (memory would
   * grow with the number of entries): `add` each header in archive order, then `end`.
   * Whiteouts are kept aside and applied at the end to what the layers below left, as the OCI
   * image spec says: what this layer itself placed (tracked by parent directory and name)
   * stays, and a directory it declared again over a lower one loses only the lower contents.
   */
  layer(
    layer: number,
    layerName = `${layer}`,
    options: { contentLayer?: number } = {},
  ): { add(h: TarHeader): void; end(): void } {
    const contentLayer = options.contentLayer ?? layer;
    const fail = (h: TarHeader, detail: string) =>
      new InputError(
        `Cannot read image "${this.label}": layer "${layerName}": entry "${h.name}" at offset ${h.offset} ${detail}`,
      );
    const whiteouts: string[][] = [];
    /** Names this layer placed, by parent directory. */
    const placed = new Map<FsNode, Set<string>>();
    /** Lower directories this layer declared again (their lower contents can be whited out). */
    const redeclared = new Set<FsNode>();
    const place = (dir: FsNode, name: string) => {
      let set = placed.get(dir);
      if (!set) placed.set(dir, set = new Set());
      set.add(name);
    };
    const add = (h: TarHeader) => {
      const parts = cleanName(h.name);
      if (parts === null) throw fail(h, "leads outside the image root");
      if (parts.length && parts[parts.length - 1].startsWith(".wh.")) {
        whiteouts.push(parts);
        return;
      }
      if (parts.length === 0) {
        // The root itself (`./`): only its metadata.
        if (h.kind === "dir") setMeta(this.root, h, layer);
        return;
      }
      let node: FsNode;
      if (h.kind === "hardlink") {
        const target = cleanName(h.linkname);
        if (target === null) {
          throw fail(h, `is a hardlink to "${h.linkname}", outside the image root`);
        }
        const found = this.#lookup(target);
        if (!found || found.kind === "dir") {
          throw fail(
            h,
            `is a hardlink to "${h.linkname}", which ${
              found ? "is a directory" : "does not exist"
            }`,
          );
        }
        // A hardlink is the same inode: the node is shared by both paths, and the link's own
        // header sets mode, owner and mtime of that inode (Docker and containerd chmod/chown the
        // link after creating it), which the target then shows too.
        found.mode = h.mode;
        found.uid = h.uid;
        found.gid = h.gid;
        found.mtime = h.mtime;
        if (Object.keys(h.xattrs).length) found.xattrs = h.xattrs;
        node = found;
      } else {
        node = fromHeader(h, layer, contentLayer);
      }
      const parent = this.#parent(parts, layer, place);
      const name = parts[parts.length - 1];
      const existing = parent.children!.get(name);
      if (existing && existing.kind === "dir" && node.kind === "dir") {
        setMeta(existing, h, layer);
        if (!placed.get(parent)?.has(name)) redeclared.add(existing);
      } else {
        parent.children!.set(name, node);
        redeclared.delete(existing!);
      }
      place(parent, name);
    };
    /** Removes what the layers below left in `top` (and in lower directories declared again). */
    const prune = (top: FsNode) => {
      const pending = [top];
      while (pending.length) {
        const dir = pending.pop()!;
        const mine = placed.get(dir);
        for (const [name, child] of dir.children!) {
          if (!mine?.has(name)) dir.children!.delete(name);
          else if (child.kind === "dir" && redeclared.has(child)) pending.push(child);
        }
      }
    };
    const end = () => {
      for (const parts of whiteouts) {
        const base = parts[parts.length - 1];
        const dir = this.#lookup(parts.slice(0, -1));
        if (dir?.kind !== "dir") continue;
        if (base === ".wh..wh..opq") {
          prune(dir);
        } else if (!base.startsWith(".wh..wh.")) {
          const name = base.slice(4);
          const child = dir.children!.get(name);
          if (!child) continue;
          if (!placed.get(dir)?.has(name)) dir.children!.delete(name);
          else if (child.kind === "dir" && redeclared.has(child)) prune(child);
        }
      }
    };
    return { add, end };
  }

  /** The node at an absolute or relative path, without following any symlink, or undefined. */
  lookup(path: string): FsNode | undefined {
    const parts = cleanName(path);
    return parts === null ? undefined : this.#lookup(parts);
  }

  /**
   * Resolves a path inside the root, following symlinks in every component (and in the last
   * one when `followLast`, like `docker cp -L`).
   * @throws {InputError} naming the missing component, a non-directory in the middle, or a loop.
   */
  resolve(path: string, options: { followLast?: boolean } = {}): Resolved {
    const followLast = options.followLast ?? true;
    // What is left to walk: lists of components, the innermost link's target last. No
    // unshift(...target): a target of 200,000 components would overflow the stack.
    const queue = new ComponentQueue(path);
    const stack: FsNode[] = [this.root];
    const names: string[] = [];
    let hops = 0;
    const where = () => "/" + names.join("/");
    while (!queue.empty()) {
      const c = queue.shift();
      if (c === "..") {
        if (names.length) {
          names.pop();
          stack.pop();
        }
        continue;
      }
      const dir = stack[stack.length - 1];
      if (dir.kind !== "dir") {
        throw new InputError(
          `Cannot find "${path}" in image "${this.label}": "${where()}" is not a directory`,
        );
      }
      const child = dir.children!.get(c);
      if (!child) {
        const prefix = names.length ? where() + "/" : "/";
        const near = nearestName(c, [...dir.children!.keys()]);
        throw new InputError(
          `Cannot find "${path}" in image "${this.label}": "${prefix + c}" does not exist` +
            (near === null ? "" : `; did you mean "${prefix + near}"?`),
        );
      }
      if (child.kind === "symlink" && (!queue.empty() || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) {
          throw new InputError(
            `Cannot find "${path}" in image "${this.label}": too many levels of symbolic links (a loop?)`,
          );
        }
        if (child.linkname.startsWith("/")) {
          names.length = 0;
          stack.length = 1;
        }
        queue.push(child.linkname);
        continue;
      }
      names.push(c);
      stack.push(child);
    }
    return { node: stack[stack.length - 1], path: where() };
  }

  /**
   * The subtree of a directory in pre-order, children sorted bytewise by name; paths are
   * relative to `node` (`a`, `a/b`). Symlinks are not followed.
   */
  *walk(node: FsNode, prefix = ""): Generator<[string, FsNode]> {
    if (node.kind !== "dir") return;
    // An explicit stack, not recursion: a chain of 100,000 directories is just a long path.
    const pending: [string, FsNode][] = [];
    const push = (dir: FsNode, at: string) => {
      const names = [...dir.children!.keys()].sort(compareCodePoints);
      for (let i = names.length - 1; i >= 0; i--) {
        pending.push([at ? `${at}/${names[i]}` : names[i], dir.children!.get(names[i])!]);
      }
    };
    push(node, prefix);
    while (pending.length) {
      const [rel, child] = pending.pop()!;
      yield [rel, child];
      if (child.kind === "dir") push(child, rel);
    }
  }

  #lookup(parts: string[]): FsNode | undefined {
    let node: FsNode | undefined = this.root;
    for (const p of parts) {
      if (!node || node.kind !== "dir") return undefined;
      node = node.children!.get(p);
    }
    return node;
  }

  /** The parent directory of `parts`, created (0755) or made a directory where needed. */
  #parent(
    parts: string[],
    layer: number,
    place: (dir: FsNode, name: string) => void,
  ): FsNode {
    let node = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i];
      let child = node.children!.get(p);
      if (!child || child.kind !== "dir") {
        child = newDir(0o755, layer);
        node.children!.set(p, child);
        place(node, p);
      }
      node = child;
    }
    return node;
  }
}

/** Options of {@linkcode buildMergedFs}. */
export interface BuildMergedFsOptions {
  /**
   * Sees each entry of a layer read as a stream (compressed, or not read in place) as it
   * passes, with the index its nodes' content refs name (`ContentRef.layer`); it may consume
   * the body (a command that will want the content takes it here, not by inflating the layer
   * again). A layer's entries are seen before its diff_id is checked, at the layer's end.
   */
  onEntry?: (contentLayer: number, entry: TarReaderEntry) => void | Promise<void>;
}

/**
 * Reads the merged filesystem of an image: every layer's headers, once, in order.
 * @throws {InputError} for an unreadable layer or a hostile entry.
 */
export async function buildMergedFs(
  input: ImageInput,
  image: ImageInfo,
  options: BuildMergedFsOptions = {},
): Promise<MergedFs> {
  const { onEntry } = options;
  const fs = new MergedFs(input.path);
  // A blob listed several times is read once (a layer listed 1,000 times would be
  // inflated 1,000 times); its headers are kept until its last use.
  const first = new Map<string, number>();
  const lastUse = new Map<string, number>();
  for (const layer of image.layers) {
    const key = layer.path + " " + layer.diffId;
    if (!first.has(key)) first.set(key, layer.index);
    lastUse.set(key, layer.index);
  }
  const kept = new Map<string, TarHeader[]>();
  for (const layer of image.layers) {
    const key = layer.path + " " + layer.diffId;
    const contentLayer = first.get(key)!;
    const again = kept.get(key);
    if (again) {
      fs.applyLayer(layer.index, again, layer.path, { contentLayer });
    } else {
      // Applied as read: no list of the layer's headers is kept, unless the blob comes again.
      const keep: TarHeader[] | null = lastUse.get(key)! > layer.index ? [] : null;
      const apply = fs.layer(layer.index, layer.path, { contentLayer });
      const streamed = onEntry && !input.readsInPlace(image, layer.index);
      for await (const entry of input.layerEntries(image, layer.index)) {
        apply.add(entry.header);
        keep?.push(entry.header);
        if (streamed) await onEntry(contentLayer, entry);
      }
      apply.end();
      if (keep) kept.set(key, keep);
    }
    if (lastUse.get(key) === layer.index) kept.delete(key);
  }
  return fs;
}

/**
 * Streams the content of regular files, reading each layer at most once (in place, by offset,
 * for an uncompressed layer). `onContent` gets every node that shares one tar entry (a file and
 * its hardlinks) with one body, which it must consume before returning; a chunk is valid only
 * until the next one is asked for (buffers are reused).
 * @throws {InputError} when a layer no longer holds an entry the filesystem points at.
 */
export async function readContents(
  input: ImageInput,
  image: ImageInfo,
  options: {
    /** The files to read (other kinds are left out). */
    nodes: Iterable<FsNode>;
    /** Receives the nodes sharing one entry and its content; must consume `body`. */
    onContent: (nodes: FsNode[], body: AsyncIterable<Uint8Array>) => Promise<void>;
    /**
     * Read an uncompressed layer in one pass too, as its entries come, instead of file by file
     * at each offset: cheaper when most of a layer's files are asked for (`r10e sbom` hashes
     * every file: 10,000 opens, seeks and buffers cost 40% more CPU on a 1 GB image). By
     * default, a layer is read in one pass when at least one file per 64 KiB of it is asked for.
     */
    inOnePass?: boolean;
  },
): Promise<void> {
  const { nodes, onContent } = options;
  const byLayer = new Map<number, Map<number, FsNode[]>>();
  const seen = new Set<FsNode>();
  for (const node of nodes) {
    if (node.kind !== "file" || !node.content || seen.has(node)) continue;
    seen.add(node);
    const c = node.content;
    let layer = byLayer.get(c.layer);
    if (!layer) byLayer.set(c.layer, layer = new Map());
    const list = layer.get(c.headerOffset);
    if (list) list.push(node);
    else layer.set(c.headerOffset, [node]);
  }
  for (const [index, wanted] of [...byLayer].sort((a, b) => a[0] - b[0])) {
    const offsets = [...wanted.keys()].sort((a, b) => a - b);
    // By offset, each file costs an open, a seek and a read of its own: when many are wanted,
    // one pass over the layer is cheaper (at about one file per 64 KiB of the layer).
    const onePass = options.inOnePass ?? wanted.size * ONE_PASS_BYTES >= image.layers[index].size;
    if (!onePass && input.readsInPlace(image, index)) {
      for (const offset of offsets) {
        const list = wanted.get(offset)!;
        const c = list[0].content!;
        const body = input.layerRange(image, index, c.dataOffset, c.size, { reuse: true })!;
        await onContent(list, body);
      }
      continue;
    }
    let found = 0;
    for await (const entry of input.layerEntries(image, index)) {
      const list = wanted.get(entry.header.headerOffset);
      if (!list) continue;
      await onContent(list, entry.body);
      if (++found === wanted.size) break;
    }
    if (found !== wanted.size) {
      throw new InputError(
        `Cannot read image "${input.path}": layer "${
          image.layers[index].path
        }" changed while it was read`,
      );
    }
  }
}

/** Path components still to walk, as a stack of texts with a read position each. */
class ComponentQueue {
  #texts: string[] = [];
  #pos: number[] = [];
  #next: string | null = null;

  constructor(path: string) {
    this.push(path);
  }

  /** Walks `text` before whatever is left (a symlink's target). */
  push(text: string): void {
    if (this.#next !== null) {
      // The component peeked at comes after the new text: put it back on its own.
      this.#texts.push(this.#next);
      this.#pos.push(0);
      this.#next = null;
    }
    this.#texts.push(text);
    this.#pos.push(0);
  }

  empty(): boolean {
    return this.#peek() === null;
  }

  shift(): string {
    const c = this.#peek();
    if (c === null) throw new RangeError("No component left");
    this.#next = null;
    return c;
  }

  /** The next non-empty component other than `.`, consuming texts that are used up. */
  #peek(): string | null {
    if (this.#next !== null) return this.#next;
    while (this.#texts.length) {
      const t = this.#texts.length - 1;
      const text = this.#texts[t];
      const at = this.#pos[t];
      if (at >= text.length) {
        this.#texts.pop();
        this.#pos.pop();
        continue;
      }
      let end = text.indexOf("/", at);
      if (end < 0) end = text.length;
      this.#pos[t] = end + 1;
      const c = text.slice(at, end);
      if (c !== "" && c !== ".") return this.#next = c;
    }
    return null;
  }
}

/**
 * The name of `names` nearest to `name` (a typo: an edit or two apart, or another case), or null
 * when none is near enough to be meant.
 */
export function nearestName(name: string, names: string[]): string | null {
  const limit = name.length < 4 ? 0 : Math.max(1, Math.floor(name.length / 4));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of [...names].sort(compareCodePoints)) {
    const d = candidate.toLowerCase() === name.toLowerCase()
      ? 0
      : editDistance(name, candidate, limit);
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance of `a` and `b`, or `limit + 1` as soon as it must exceed `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      rowMin = Math.min(rowMin, current[j]);
    }
    if (rowMin > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length];
}

/** An empty directory owned by root, of `layer` (-1: of no layer, made by r10e). */
export function newDir(mode: number, layer: number): FsNode {
  return {
    kind: "dir",
    mode,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: 0,
    linkname: "",
    xattrs: {},
    layer,
    content: undefined,
    children: new Map(),
  };
}

function fromHeader(h: TarHeader, layer: number, contentLayer: number): FsNode {
  const kind: FsKind = h.kind === "hardlink" ? "other" : h.kind;
  const node: FsNode = {
    kind,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    mtime: h.mtime,
    size: kind === "file" ? h.size : 0,
    linkname: kind === "symlink" ? h.linkname : "",
    xattrs: h.xattrs,
    layer,
    // Both named here, even when absent: a property added later costs each node a separate
    // property store (200,000 files: some 5 MB).
    content: kind === "file"
      ? {
        layer: contentLayer,
        headerOffset: h.headerOffset,
        dataOffset: h.dataOffset,
        size: h.size,
      }
      : undefined,
    children: kind === "dir" ? new Map() : undefined,
  };
  return node;
}

function setMeta(node: FsNode, h: TarHeader, layer: number): void {
  node.mode = h.mode;
  node.uid = h.uid;
  node.gid = h.gid;
  node.mtime = h.mtime;
  node.xattrs = h.xattrs;
  node.layer = layer;
}

/**
 * Splits a tar name into clean components: `/`, `./` and empty parts dropped, `a/../b` → `b`;
 * null when `..` climbs above the root.
 */
export function cleanName(name: string): string[] | null {
  const out: string[] = [];
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(p);
  }
  return out;
}
