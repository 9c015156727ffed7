/**
 * Streaming tar reader: ustar, PAX (`x` and `g` records), GNU long names (`L`/`K`).
 * Used by the image reader for the outer archive and for layers (DESIGN: reading images).
 *
 * Own code rather than `tar-stream`/`modern-tar`: r10e needs the raw header offset of every
 * entry (verify reports it, cp seeks to the content of uncompressed layers) and must never
 * buffer an entry, which those parsers do not promise together.
 *
 * ```ts
 * for await (const entry of readTar(chunks, { label: "layer.tar" })) {
 *   console.log(entry.header.name, entry.header.kind, entry.header.size);
 *   for await (const chunk of entry.body) hash.update(chunk); // or leave it: it is skipped
 * }
 * ```
 *
 * - `readTar(source, options)` yields {@linkcode TarReaderEntry}s in archive order. Each has a
 *   {@linkcode TarHeader} (PAX and GNU long-name records already applied) and a `body`: an async
 *   iterable over exactly `header.size` bytes of content (for regular files; empty otherwise).
 *   The chunks are views of the source's chunks, not copies: a source must not reuse its buffers.
 *   A body not consumed before the next entry is requested is skipped; a body can be read once.
 * - A source may implement {@linkcode TarSource.skip} (a file read by range, for example): skipped
 *   content is then not read at all.
 * - Errors are `SyntaxError`s naming the archive (`options.label`), the entry and its offset:
 *   `Cannot read tar "layer.tar": entry "a/b" at offset 1536 is truncated`. GNU sparse
 *   files are refused with a clear message.
 *
 * @module
 */

import { decodeRawName } from "./raw_names.ts";

const BLOCK = 512;
const decoder = new TextDecoder();

/** The kind of a tar entry. `other` is any typeflag tar does not define here (kept in `typeflag`). */
export type TarEntryKind =
  | "file"
  | "dir"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo"
  | "other";

/** One entry's header after PAX and GNU long-name records were applied. */
export interface TarHeader {
  /** The name as stored (PAX `path` or GNU `L` wins over ustar prefix+name); directories usually end with `/`. */
  name: string;
  kind: TarEntryKind;
  /** The raw typeflag character (`"0"`, `"5"`, …; `"\0"` for old regular files). */
  typeflag: string;
  /** Permission and set-id bits, e.g. `0o755` (file type bits removed). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch; PAX `mtime` may carry a fraction. */
  mtime: number;
  /** Content bytes that follow (0 for links, directories and devices). */
  size: number;
  /** Target of a symlink or hardlink (PAX `linkpath` or GNU `K` wins). */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** `"ustar"` (POSIX `ustar\0` magic), `"gnu"` (`ustar  \0`) or `"v7"` (no magic). */
  format: "ustar" | "gnu" | "v7";
  /** Every PAX record that applies to this entry: global (`g`) records first, then the entry's own (`x`). */
  pax: Record<string, string>;
  /** Extended attributes from PAX `SCHILY.xattr.*` records, by attribute name. */
  xattrs: Record<string, string>;
  /** Offset of the entry's first header block in the archive (its PAX or GNU long-name header, if any). */
  offset: number;
  /** Offset of the entry's own ustar header block. */
  headerOffset: number;
  /** Offset of the first content byte. */
  dataOffset: number;
}

/** One entry: its header and its content, which is read at most once. */
export interface TarReaderEntry {
  header: TarHeader;
  /** Exactly `header.size` bytes for a regular file (chunks are views, valid until the source is read again by a copy); empty otherwise. */
  body: AsyncIterable<Uint8Array> & {
    /**
     * The whole content at once when it is in memory already (within the chunk being read, as
     * a small file's is), without a promise per file; null when it is not, or was started:
     * then iterate. A view, valid until the source is read again.
     */
    takeBuffered?(): Uint8Array | null;
  };
}

/** A stream of chunks that may also skip bytes without reading them. */
export interface TarSource extends AsyncIterable<Uint8Array> {
  /** Discards the next `n` bytes of the stream (after what was already yielded); resolves to how many there were (fewer at the end). */
  skip?(n: number): Promise<number>;
}

/** Options of `readTar`. */
export interface ReadTarOptions {
  /** Names the archive in error messages, e.g. a file name or `layer "sha256:ab…"`. */
  label?: string;
}

/**
 * A valid tar entry of a kind that r10e does not read (GNU sparse files): its reader must tell
 * the user so, not that the archive is invalid.
 */
export class UnsupportedEntryError extends Error {
  /** The entry's name. */
  readonly entry: string;
  /** The offset of its first header. */
  readonly offset: number;
  /** `entry "a" at offset 512 is a GNU sparse file: sparse entries are not supported`. */
  readonly detail: string;
  constructor(label: string, entry: string, offset: number, what: string, kinds: string) {
    const detail = `entry "${entry}" at offset ${offset} is ${what}: ${kinds} are not supported`;
    super(`${label}: ${detail}`);
    this.name = "UnsupportedEntryError";
    this.entry = entry;
    this.offset = offset;
    this.detail = detail;
  }
}

/**
 * Reads a tar archive as a stream of entries.
 * @throws {SyntaxError} for a bad checksum, a truncated entry or a bad PAX record.
 * @throws {UnsupportedEntryError} for a GNU sparse file.
 */
export async function* readTar(
  source: TarSource | ReadableStream<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<TarReaderEntry> {
  const input = new Input(source);
  const label = options.label ? `Cannot read tar "${options.label}"` : "Cannot read tar";
  const global: Record<string, string> = {};
  try {
    while (true) {
      const found = await readHeaderBlocks(input, global, label);
      if (found === null) return;
      const header = entryHeader(found, global, label);
      // A size given to a link, directory or device is ignored, like Go's archive/tar does.
      const skipAfter = padded(header.size);
      const body = new Body(input, header.size, skipAfter, () =>
        new SyntaxError(
          `${label}: entry "${header.name}" at offset ${found.first} is truncated`,
        ));
      yield { header, body };
      await body.finish();
    }
  } finally {
    await input.close();
  }
}

/** An entry's own header block and the extension headers before it. */
interface HeaderBlocks {
  raw: RawHeader;
  /** Offset of the first block (an extension header's, if any). */
  first: number;
  /** Offset of the entry's own header block. */
  headerOffset: number;
  /** The entry's own PAX records (`x`). */
  local: Record<string, string>;
  longName?: string;
  longLink?: string;
}

/**
 * Reads extension headers (PAX x/g, GNU L/K) until an entry's own header; global records go
 * into `global`. Null at the end of the archive (zero blocks, or the end of the stream at an
 * entry boundary, accepted like Go's archive/tar).
 * @throws {SyntaxError} for a truncated or bad header, or extension headers with no entry.
 */
async function readHeaderBlocks(
  input: Input,
  global: Record<string, string>,
  label: string,
): Promise<HeaderBlocks | null> {
  const first = input.offset;
  let local: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (true) {
    const headerOffset = input.offset;
    const block = await input.readExact(BLOCK);
    if (block === null) return null;
    if (block.length < BLOCK) {
      throw new SyntaxError(`${label}: header at offset ${headerOffset} is truncated`);
    }
    if (isZero(block)) {
      // End of archive: one or two zero blocks. What follows (record padding) is ignored.
      if (first !== headerOffset) {
        throw new SyntaxError(
          `${label}: extended header at offset ${first} is not followed by an entry`,
        );
      }
      return null;
    }
    const raw = parseRaw(block, headerOffset, label);
    const t = raw.typeflag;
    if (t !== "x" && t !== "g" && t !== "L" && t !== "K") {
      return { raw, first, headerOffset, local, longName, longLink };
    }
    if (raw.size > 1 << 20) {
      throw new SyntaxError(
        `${label}: extended header "${raw.name}" at offset ${headerOffset} is too large (${raw.size} bytes)`,
      );
    }
    const body = await input.readExact(padded(raw.size));
    if (body === null || body.length < padded(raw.size)) {
      throw new SyntaxError(
        `${label}: entry "${raw.name}" at offset ${headerOffset} is truncated`,
      );
    }
    const data = body.subarray(0, raw.size);
    if (t === "x") local = { ...local, ...parsePax(data, raw.name, headerOffset, label) };
    else if (t === "g") Object.assign(global, parsePax(data, raw.name, headerOffset, label));
    else if (t === "L") longName = cString(data);
    else longLink = cString(data);
  }
}

/**
 * The header of an entry: its ustar fields, overridden by PAX records and GNU long names.
 * @throws {UnsupportedEntryError} for a GNU sparse file.
 * @throws {SyntaxError} for a PAX number that does not parse.
 */
function entryHeader(
  blocks: HeaderBlocks,
  global: Record<string, string>,
  label: string,
): TarHeader {
  const { raw, first, headerOffset, local, longName, longLink } = blocks;
  // Most entries have no records: they share one frozen empty object (memory per entry).
  const hasRecords = hasKeys(global) || hasKeys(local);
  const pax: Record<string, string> = hasRecords ? { ...global, ...local } : NONE;
  // An empty value deletes the key (POSIX pax: "the field shall be deleted").
  if (hasRecords) {
    for (const [k, v] of Object.entries(pax)) if (v === "") delete pax[k];
  }
  const name = pax.path ?? longName ?? raw.fullName;
  const sparse = hasRecords && Object.keys(pax).some((k) => k.startsWith("GNU.sparse."));
  if (raw.typeflag === "S" || sparse) {
    // A valid tar all the same: the name its extractor would give (GNU.sparse.name in the
    // PAX formats, whose header names a "GNUSparseFile.0" path).
    const real = pax["GNU.sparse.name"] ?? name;
    throw new UnsupportedEntryError(label, real, first, "a GNU sparse file", "sparse entries");
  }
  const size = pax.size !== undefined ? paxInt(pax.size, "size", name, first, label) : raw.size;
  const kind = kindOf(raw.typeflag, name);
  let xattrs: Record<string, string> = NONE;
  if (hasRecords) {
    for (const [k, v] of Object.entries(pax)) {
      if (!k.startsWith("SCHILY.xattr.")) continue;
      if (xattrs === NONE) xattrs = {};
      xattrs[k.slice("SCHILY.xattr.".length)] = v;
    }
  }
  return {
    name,
    kind,
    typeflag: raw.typeflag,
    mode: raw.mode & 0o7777,
    uid: pax.uid !== undefined ? paxInt(pax.uid, "uid", name, first, label) : raw.uid,
    gid: pax.gid !== undefined ? paxInt(pax.gid, "gid", name, first, label) : raw.gid,
    uname: pax.uname ?? raw.uname,
    gname: pax.gname ?? raw.gname,
    mtime: pax.mtime !== undefined ? paxTime(pax.mtime, name, first, label) : raw.mtime,
    // Links, directories and devices carry no content even if a size is written (POSIX).
    size: kind === "file" || kind === "other" ? size : 0,
    linkname: pax.linkpath ?? longLink ?? raw.linkname,
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    format: raw.format,
    pax,
    xattrs,
    offset: first,
    headerOffset,
    dataOffset: headerOffset + BLOCK,
  };
}

/** The content of one entry, yielded once, then skipped to the block boundary. */
class Body implements AsyncIterable<Uint8Array> {
  #input: Input;
  #left: number;
  #pad: number;
  #started = false;
  #truncated: () => SyntaxError;

  constructor(input: Input, size: number, padTo: number, truncated: () => SyntaxError) {
    this.#input = input;
    this.#left = size;
    this.#pad = padTo - size;
    this.#truncated = truncated;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#started) throw new TypeError("The body of a tar entry can be read only once");
    this.#started = true;
    while (this.#left > 0) {
      const chunk = await this.#input.take(this.#left);
      if (chunk === null) throw this.#truncated();
      this.#left -= chunk.length;
      yield chunk;
    }
  }

  /** The whole content when the chunk being read holds it, else null (see TarReaderEntry). */
  takeBuffered(): Uint8Array | null {
    if (this.#started) return null;
    const chunk = this.#input.takeBuffered(this.#left);
    if (chunk === null) return null;
    this.#started = true;
    this.#left = 0;
    return chunk;
  }

  /** Skips what was not read, and the padding. */
  async finish(): Promise<void> {
    this.#started = true;
    const n = this.#left + this.#pad;
    this.#left = 0;
    this.#pad = 0;
    if (n > 0 && !(await this.#input.skip(n))) throw this.#truncated();
  }
}

/** A byte stream with a read position, over chunks of any size. */
class Input {
  #it: AsyncIterator<Uint8Array>;
  #skip?: (n: number) => Promise<number>;
  #reader?: ReadableStreamDefaultReader<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #done = false;
  /** Absolute offset of the next unread byte. */
  offset = 0;

  constructor(source: TarSource | ReadableStream<Uint8Array>) {
    if (source instanceof ReadableStream) {
      const reader = source.getReader();
      this.#reader = reader;
      this.#it = {
        async next() {
          const r = await reader.read();
          return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
        },
      };
    } else {
      this.#it = source[Symbol.asyncIterator]();
      if (typeof source.skip === "function") this.#skip = source.skip.bind(source);
    }
  }

  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#buf.length) {
      if (this.#done) return false;
      const r = await this.#it.next();
      if (r.done) {
        this.#done = true;
        return false;
      }
      this.#buf = r.value;
      this.#pos = 0;
    }
    return true;
  }

  /** Up to `max` bytes as a view of the current chunk, or null at the end. */
  async take(max: number): Promise<Uint8Array | null> {
    if (!(await this.#fill())) return null;
    const n = Math.min(max, this.#buf.length - this.#pos);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    this.offset += n;
    return out;
  }

  /** Exactly `n` bytes as a view of the current chunk when it holds them, else null. */
  takeBuffered(n: number): Uint8Array | null {
    if (this.#buf.length - this.#pos < n) return null;
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    this.offset += n;
    return out;
  }

  /** Exactly `n` bytes (copied if they span chunks), fewer at the end, or null if nothing is left. */
  async readExact(n: number): Promise<Uint8Array | null> {
    if (!(await this.#fill())) return null;
    if (this.#buf.length - this.#pos >= n) return (await this.take(n))!;
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const part = await this.take(n - got);
      if (part === null) return out.subarray(0, got);
      out.set(part, got);
      got += part.length;
    }
    return out;
  }

  /** Skips `n` bytes; false if the stream ended first. */
  async skip(n: number): Promise<boolean> {
    const buffered = Math.min(n, this.#buf.length - this.#pos);
    this.#pos += buffered;
    this.offset += buffered;
    n -= buffered;
    if (n === 0) return true;
    if (this.#skip && !this.#done) {
      // The source skips without reading.
      const skipped = await this.#skip(n);
      this.offset += skipped;
      return skipped === n;
    }
    while (n > 0) {
      const part = await this.take(n);
      if (part === null) return false;
      n -= part.length;
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.#reader) {
      await this.#reader.cancel().catch(() => {});
    } else if (!this.#done) {
      await this.#it.return?.().catch(() => {});
    }
  }
}

interface RawHeader {
  name: string;
  fullName: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  format: "ustar" | "gnu" | "v7";
}

function parseRaw(b: Uint8Array, offset: number, label: string): RawHeader {
  // Fields are read in place: a subarray per field was a dozen allocations per header.
  const name = cStringAt(b, 0, 100);
  const where = () => `${label}: entry "${name}" at offset ${offset}`;
  const stored = numberAt(b, 148, 8);
  // The checksum field counts as eight spaces. The signed sum (old writers) is computed only
  // when the unsigned one does not match: nearly never.
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i++) unsigned += b[i];
  for (let i = 156; i < BLOCK; i++) unsigned += b[i];
  let signed = unsigned;
  if (stored !== unsigned) {
    signed = 8 * 0x20;
    for (let i = 0; i < BLOCK; i++) {
      if (i >= 148 && i < 156) continue;
      signed += b[i] > 127 ? b[i] - 256 : b[i];
    }
  }
  if (stored === null || (stored !== unsigned && stored !== signed)) {
    throw new SyntaxError(`${where()}: header checksum is wrong`);
  }
  // "ustar\0" (POSIX) or "ustar  \0" (GNU) at 257, compared as bytes (no decoding per header).
  const ustar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 &&
    b[261] === 0x72;
  const format = ustar && b[262] === 0x20 && b[263] === 0x20 && b[264] === 0
    ? "gnu"
    : ustar && b[262] === 0
    ? "ustar"
    : "v7";
  const num = (start: number, len: number, field: string): number => {
    const v = numberAt(b, start, len);
    if (v === null) throw new SyntaxError(`${where()}: field "${field}" is not a number`);
    return v;
  };
  const prefix = format === "ustar" ? cStringAt(b, 345, 155) : "";
  const size = num(124, 12, "size");
  // GNU base-256 can write a negative number; Go's archive/tar refuses a negative size too.
  if (size < 0) throw new SyntaxError(`${where()}: size is negative (${size})`);
  return {
    name,
    fullName: prefix ? `${prefix}/${name}` : name,
    mode: num(100, 8, "mode"),
    uid: num(108, 8, "uid"),
    gid: num(116, 8, "gid"),
    size,
    mtime: num(136, 12, "mtime"),
    typeflag: String.fromCharCode(b[156]),
    linkname: cStringAt(b, 157, 100),
    uname: format === "v7" ? "" : cStringAt(b, 265, 32),
    gname: format === "v7" ? "" : cStringAt(b, 297, 32),
    devmajor: format === "v7" ? 0 : num(329, 8, "devmajor"),
    devminor: format === "v7" ? 0 : num(337, 8, "devminor"),
    format,
  };
}

/** Octal (NUL/space-terminated, possibly empty) or GNU base-256 (high bit set); null when invalid. */
export function parseNumber(field: Uint8Array): number | null {
  return numberAt(field, 0, field.length);
}

/** {@linkcode parseNumber} of the `len` bytes at `start` of `b`. */
function numberAt(b: Uint8Array, start: number, len: number): number | null {
  const end = start + len;
  if (len && b[start] & 0x80) {
    // base-256: two's complement big-endian, first byte's top bit is the marker.
    const negative = (b[start] & 0x40) !== 0;
    let v = b[start] & 0x3f;
    if (negative) v = v - 0x40;
    for (let i = start + 1; i < end; i++) v = v * 256 + b[i];
    return Number.isSafeInteger(v) ? v : null;
  }
  let i = start;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return null;
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) return null;
  return digits === 0 ? 0 : v;
}

function kindOf(typeflag: string, name: string): TarEntryKind {
  switch (typeflag) {
    case "0":
    case "\0":
    case "7":
      // Old (v7) archives mark directories only by a trailing slash.
      return name.endsWith("/") ? "dir" : "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "3":
      return "char";
    case "4":
      return "block";
    case "5":
      return "dir";
    case "6":
      return "fifo";
    default:
      return "other";
  }
}

/** Parses PAX records `"%d %s=%s\n"`. */
function parsePax(
  data: Uint8Array,
  name: string,
  offset: number,
  label = "Cannot read tar",
): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) break; // trailing NULs are tolerated
    let j = i;
    while (j < data.length && data[j] >= 0x30 && data[j] <= 0x39) j++;
    const len = Number(decoder.decode(data.subarray(i, j)));
    if (j === i || data[j] !== 0x20 || len <= j - i + 1 || i + len > data.length) {
      throw new SyntaxError(`${label}: PAX header "${name}" at offset ${offset} is malformed`);
    }
    const record = data.subarray(j + 1, i + len);
    if (record[record.length - 1] !== 0x0a) {
      throw new SyntaxError(`${label}: PAX header "${name}" at offset ${offset} is malformed`);
    }
    const eq = record.indexOf(0x3d);
    if (eq <= 0) {
      throw new SyntaxError(`${label}: PAX header "${name}" at offset ${offset} is malformed`);
    }
    const key = decoder.decode(record.subarray(0, eq));
    // Lossless: a path that is not UTF-8 (hdrcharset=BINARY, or a careless writer) stays itself.
    const value = decodeRawName(record.subarray(eq + 1, record.length - 1));
    out[key] = value;
    i += len;
  }
  return out;
}

function paxInt(v: string, key: string, name: string, offset: number, label: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new SyntaxError(
      `${label}: entry "${name}" at offset ${offset} has a bad PAX "${key}" value "${v}"`,
    );
  }
  return Number(v);
}

function paxTime(v: string, name: string, offset: number, label: string): number {
  if (!/^-?\d+(\.\d+)?$/.test(v)) {
    throw new SyntaxError(
      `${label}: entry "${name}" at offset ${offset} has a bad PAX "mtime" value "${v}"`,
    );
  }
  return Number(v);
}

/** The NUL-terminated string in the `len` bytes at `start` of `b`. */
function cStringAt(b: Uint8Array, start: number, len: number): string {
  let end = start;
  const max = start + len;
  while (end < max && b[end] !== 0) end++;
  return end === start ? "" : decodeRawName(b.subarray(start, end));
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  // Names are bytes: invalid UTF-8 is kept (see raw_names.ts), never replaced by U+FFFD.
  return decodeRawName(end < 0 ? b : b.subarray(0, end));
}

/** The `pax` and `xattrs` of entries without any: shared, so frozen. */
const NONE: Record<string, string> = Object.freeze({}) as Record<string, string>;

function hasKeys(o: Record<string, string>): boolean {
  for (const _ in o) return true;
  return false;
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function padded(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}
