/**
 * Opening an image input: an archive (`.tar`, `.tar.gz`, `.tar.zst`) read once from start to
 * end, an OCI layout directory, or a listing of a registry's blobs; then its documents parsed
 * (see the module documentation of ./reader.ts for what `openImage` guarantees).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { compareCodePoints } from "../code_point_order.ts";
import { InputError } from "../errors.ts";
import { readTar, UnsupportedEntryError } from "../tar/reader.ts";
import { hashRanges } from "./_hash_ranges.ts";
import { DOCUMENTS, Spool } from "./archive_spool.ts";
import { FileRange, readHead } from "./byte_range.ts";
import { type Compression, decompress, detectCompression } from "./compression.ts";
import { parseDocuments } from "./documents.ts";
import {
  type EntrySource,
  EntryStore,
  namedDigest,
  normalize,
  type OuterEntry,
  type Stored,
} from "./entries.ts";
import { ImageInput } from "./input.ts";
import {
  ENTRIES_MAX,
  INFLATE_FLOOR,
  INFLATE_RATIO,
  inflationRefused,
  JSON_MAX,
  MEMORY_MAX,
} from "./limits.ts";
import { specialKind } from "../file_kind.ts";

/** Options of `openImage`. */
export interface OpenImageOptions {
  /** `os/arch[/variant]` to choose among several images; see {@linkcode ImageInput.image}. */
  platform?: string;
  /** Parent directory of the spool directory (default: the system temporary directory). */
  tempDir?: string;
  /**
   * For a plain `.tar`: blobs named by their digest (`blobs/sha256/<hex>`) of 1 MiB or more are
   * not hashed when the archive is opened; their name stands for their digest and
   * {@linkcode ImageInput.unhashed} lists them, for a caller that hashes what it reads anyway
   * (push hashes what it sends, so hashing and sending overlap; the registry checks it too).
   * Documents read with `readBytes` are checked whatever their size.
   */
  deferBlobHashes?: boolean;
  /**
   * Only the documents and configs will be read (verify of two byte-identical archives): the
   * blobs of a compressed archive named by their digest, of 1 MiB or more, are inflated past but
   * neither hashed nor spooled, and listed in {@linkcode ImageInput.unhashed} (`checkBlobs`
   * hashes one, inflating the archive again).
   */
  documentsOnly?: boolean;
}

/** Blobs below this are hashed when opened even with `deferBlobHashes`: cheap, and documents. */
const DEFER_MIN = 1 << 20;

/**
 * Opens an image input: reads it once, verifies blob digests, parses its documents.
 * @throws {InputError} for anything unreadable, naming the input and the entry.
 */
export async function openImage(path: string, options: OpenImageOptions = {}): Promise<ImageInput> {
  const fail = (detail: string, cause?: unknown) =>
    new InputError(`Cannot read image "${path}": ${detail}`, { cause });
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw fail("file not found");
    throw fail("cannot open it", e);
  }
  let store: EntryStore;
  if (info.isDirectory) {
    // Checked before anything is hashed (`verify /usr/share IMG` hashed 44k files).
    const has = async (name: string) =>
      (await Deno.stat(`${path}/${name}`).catch(() => null))?.isFile === true;
    if (!(await has("index.json")) && !(await has("manifest.json"))) {
      throw fail(
        "it is a directory without index.json or manifest.json (not an OCI image layout)",
      );
    }
    store = await openDirectory(path);
  } else if (info.isFile) {
    store = await openArchive(path, options, fail);
  } else {
    // Reading a FIFO blocks until a writer comes, possibly forever; a device never ends.
    throw fail(`it is ${specialKind(info)}, not a regular file or a directory`);
  }
  return await withDocuments(store, options.platform);
}

/** The input of `store` with its documents parsed; `store` is closed when they cannot be. */
async function withDocuments(store: EntryStore, platform: string | undefined): Promise<ImageInput> {
  try {
    return new ImageInput(store, await parseDocuments(store), platform);
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** One entry of an image whose bytes the caller knows where to find (see `openListedImage`). */
export interface ListedEntry {
  /** `index.json`, `oci-layout`, `blobs/sha256/<hex>`. */
  path: string;
  size: number;
  /** sha256 hex of the content: computed, or the digest the blob is named by (checked when read). */
  sha256: string;
  /** The bytes, when at hand (documents); else `source` gives them. */
  bytes?: Uint8Array;
  source?: EntrySource;
}

/**
 * Opens an image from a listing of its entries (a registry's blobs: src/registry/pull.ts),
 * parsing and checking its documents as `openImage` does. Nothing is read that the documents do
 * not need; the rest is read when asked for.
 * @throws {InputError} as `openImage` does.
 */
export async function openListedImage(
  path: string,
  entries: ListedEntry[],
  options: OpenImageOptions & { onClose?: () => Promise<void> } = {},
): Promise<ImageInput> {
  const stored = new Map<string, Stored>();
  const outer: OuterEntry[] = [];
  for (const e of entries) {
    outer.push({
      name: e.path,
      path: e.path,
      header: null,
      kind: "file",
      size: e.size,
      sha256: e.sha256,
    });
    if (e.bytes) stored.set(e.path, { kind: "memory", bytes: e.bytes });
    else if (e.source) stored.set(e.path, { kind: "source", source: e.source });
  }
  const store = new EntryStore({
    path,
    kind: "registry",
    compression: "none",
    entries: outer,
    stored,
    spool: null,
    onClose: options.onClose,
  });
  return await withDocuments(store, options.platform);
}

async function openDirectory(path: string): Promise<EntryStore> {
  const entries: OuterEntry[] = [];
  const stored = new Map<string, Stored>();
  // Pre-order, children sorted bytewise, with a stack of pending entries: no recursion on depth.
  const pending: [string, Deno.DirEntry][] = [];
  const list = async (rel: string) => {
    const names: Deno.DirEntry[] = [];
    for await (const d of Deno.readDir(rel ? `${path}/${rel}` : path)) names.push(d);
    names.sort((a, b) => compareCodePoints(b.name, a.name));
    for (const d of names) pending.push([rel, d]);
  };
  await list("");
  while (pending.length) {
    const [rel, d] = pending.pop()!;
    {
      const p = rel ? `${rel}/${d.name}` : d.name;
      const full = `${path}/${p}`;
      if (entries.length >= ENTRIES_MAX) {
        throw new InputError(
          `Cannot read image "${path}": it holds more than ${ENTRIES_MAX} files (r10e's limit)`,
        );
      }
      if (d.isDirectory) {
        entries.push({ name: p, path: p, header: null, kind: "dir", size: 0, sha256: null });
        await list(p);
      } else if (d.isFile) {
        const size = (await Deno.stat(full)).size;
        const hash = createHash("sha256");
        for await (const chunk of new FileRange(full, 0, size, { reuse: true })) hash.update(chunk);
        entries.push({
          name: p,
          path: p,
          header: null,
          kind: "file",
          size,
          sha256: hash.digest("hex"),
        });
        stored.set(p, { kind: "file", path: full, offset: 0, size });
      } else {
        // Symlinks and other files in a layout directory are listed but never followed.
        entries.push({ name: p, path: p, header: null, kind: "other", size: 0, sha256: null });
      }
    }
  }
  return new EntryStore({
    path,
    kind: "directory",
    compression: "none",
    entries,
    stored,
    spool: null,
  });
}

async function openArchive(
  path: string,
  options: OpenImageOptions,
  fail: (detail: string, cause?: unknown) => InputError,
): Promise<EntryStore> {
  const st = await Deno.stat(path);
  const compression = detectCompression(await readHead(path, 4));
  if (compression === "none") {
    try {
      const read = await readPlainTar(path, st.size, options, fail);
      return new EntryStore({ path, kind: "archive", compression, ...read, spool: null });
    } catch (e) {
      throw readFailure(e, compression, fail);
    }
  }
  const spool = await Deno.makeTempDir({ dir: options.tempDir, prefix: "r10e-image-" });
  const stamp = { path, compression, size: st.size, mtime: st.mtime?.getTime() ?? null };
  const sink = new Spool(stamp, spool, st.size);
  try {
    const read = await readCompressedTar(sink, options, fail);
    return new EntryStore({
      path,
      kind: "archive",
      compression,
      ...read,
      stored: sink.stored,
      spool,
      refill: (want) => refill(path, compression, sink, want, fail),
    });
  } catch (e) {
    await Deno.remove(spool, { recursive: true }).catch(() => {});
    throw readFailure(e, compression, fail);
  }
}

/** The error to throw for what went wrong while an archive was read the first time. */
function readFailure(
  e: unknown,
  compression: Compression,
  fail: (detail: string, cause?: unknown) => InputError,
): InputError {
  if (e instanceof UnsupportedEntryError) return fail(e.detail);
  if (e instanceof SyntaxError) return fail("not a valid tar archive", e);
  if (e instanceof InputError) return e;
  return fail(
    compression === "none" ? "cannot read it" : `cannot decompress it (${compression})`,
    e,
  );
}

/**
 * The first pass over a plain tar: its headers read (content is sought over, one small buffer
 * serving every header read), then every file hashed in place, on every core.
 */
async function readPlainTar(
  path: string,
  size: number,
  options: OpenImageOptions,
  fail: (detail: string, cause?: unknown) => InputError,
): Promise<{ entries: OuterEntry[]; stored: Map<string, Stored>; unhashed: Set<string> }> {
  const entries: OuterEntry[] = [];
  const stored = new Map<string, Stored>();
  const unhashed = new Set<string>();
  const ranges: [number, number][] = [];
  const hashed: OuterEntry[] = [];
  for await (const e of readTar(new FileRange(path, 0, size, { reuse: true }))) {
    const h = e.header;
    const p = normalize(h.name);
    if (entries.length >= ENTRIES_MAX) throw fail(tooManyEntries());
    const entry: OuterEntry = {
      name: h.name,
      path: p,
      header: h,
      kind: h.kind,
      size: h.size,
      sha256: null,
    };
    entries.push(entry);
    if (h.kind !== "file") continue;
    stored.set(p, { kind: "file", path, offset: h.dataOffset, size: h.size });
    unhashed.delete(p); // a later entry of the same name wins
    const named = options.deferBlobHashes && h.size >= DEFER_MIN ? namedDigest(p) : null;
    if (named) {
      entry.sha256 = named;
      unhashed.add(p);
      continue;
    }
    hashed.push(entry);
    ranges.push([h.dataOffset, h.size]);
  }
  if (ranges.length) {
    const hexes = await hashRanges(path, ranges);
    hashed.forEach((entry, i) => (entry.sha256 = hexes[i]));
  }
  return { entries, stored, unhashed };
}

/**
 * The first pass over a compressed tar: inflated once, each file hashed and kept where `sink`
 * has room for it (see {@linkcode Spool}); refused, by its headers, before it inflates beyond
 * its limit.
 */
async function readCompressedTar(
  sink: Spool,
  options: OpenImageOptions,
  fail: (detail: string, cause?: unknown) => InputError,
): Promise<{ entries: OuterEntry[]; unhashed: Set<string> }> {
  const { path, compression, size } = sink.archive;
  const entries: OuterEntry[] = [];
  const unhashed = new Set<string>();
  // What the archive inflates to, by its headers: bounded, so is the time to read it.
  const inflateMax = Math.max(INFLATE_FLOOR, INFLATE_RATIO * size);
  let inflated = 0;
  // A decompressor may hold chunks while it works, so it gets fresh ones.
  for await (const e of readTar(decompress(new FileRange(path, 0, size), compression))) {
    const h = e.header;
    const p = normalize(h.name);
    if (entries.length >= ENTRIES_MAX) throw fail(tooManyEntries());
    inflated += h.size;
    if (inflated > inflateMax) {
      // The header says how much would be inflated: decide before inflating any of it.
      throw fail(inflationRefused(h, inflated, size, "archive"));
    }
    // A later entry of the same name wins (tar semantics): what the earlier one holds goes.
    await sink.drop(p);
    unhashed.delete(p);
    const named = options.documentsOnly && h.kind === "file" && h.size >= DEFER_MIN
      ? namedDigest(p)
      : null;
    if (named) {
      // Passed over (inflated to reach the next header, neither hashed nor kept): its name
      // stands for its digest until it is read (`checkBlobs`), by inflating the archive again.
      const entry = { name: h.name, path: p, header: h, kind: h.kind, size: h.size };
      entries.push({ ...entry, sha256: named });
      sink.stream(entries[entries.length - 1]);
      unhashed.add(p);
      continue;
    }
    const sha256 = h.kind === "file" ? await sink.take(p, h, e.body, DOCUMENTS.has(p)) : null;
    entries.push({ name: h.name, path: p, header: h, kind: h.kind, size: h.size, sha256 });
  }
  return { entries, unhashed };
}

function tooManyEntries(): string {
  return `it holds more than ${ENTRIES_MAX} entries (r10e's limit)`;
}

/**
 * What a document names that the first pass over a compressed archive did not keep: large
 * entries (layers) are read from now on by inflating the archive again up to them, nothing
 * spooled; small ones (documents) are fetched into memory by one more pass, checked to hash as
 * before, which stops after the last one.
 */
async function refill(
  path: string,
  compression: Compression,
  sink: Spool,
  want: Map<string, OuterEntry>,
  fail: (detail: string, cause?: unknown) => InputError,
): Promise<void> {
  for (const [p, entry] of want) {
    if (entry.size > JSON_MAX || (entry.size > MEMORY_MAX && !DOCUMENTS.has(p))) {
      sink.stream(entry);
      want.delete(p);
    }
  }
  if (want.size === 0) return;
  const size = (await Deno.stat(path)).size;
  const source = decompress(new FileRange(path, 0, size), compression);
  let left = want.size;
  try {
    for await (const e of readTar(source)) {
      const p = normalize(e.header.name);
      const entry = want.get(p);
      if (!entry || entry.header?.offset !== e.header.offset) continue;
      const sha = await sink.take(p, e.header, e.body, true);
      if (sha !== entry.sha256) throw fail(`entry "${entry.name}" changed while it was read`);
      // Not kept (memory full): read again by inflating.
      if (!sink.stored.has(p)) sink.stream(entry);
      if (--left === 0) break;
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw fail(`cannot decompress it again (${compression})`, e);
  }
  if (left) throw fail("it changed while it was read");
}
