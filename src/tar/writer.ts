/**
 * Deterministic tar writer. The bytes are r10e's format contract (DESIGN: image
 * format): ustar headers, uid/gid 0 unless an entry names its owner, empty uname/gname, fixed mtime, PAX `x`
 * records only for what ustar cannot hold, and an end of exactly two zero blocks
 * with no record padding (padding would change the diff_id).
 *
 * Nothing here reads the clock, the user or the disk: file contents come from a
 * `content` function the caller supplies.
 *
 * @module
 */
import { compareCodePoints } from "../code_point_order.ts";

const BLOCK = 512;
const encoder = new TextEncoder();

/** The kinds of entry r10e writes. Hardlinks and devices are never produced. */
export type TarKind = "dir" | "file" | "symlink";

/** One entry to write. */
export interface TarEntry {
  /** Relative name without `./` and without a trailing slash, e.g. `app/bin`. */
  name: string;
  kind: TarKind;
  /** Permission bits, e.g. 0o755, with the sticky bit where wanted (0o1777 for /tmp). */
  mode: number;
  /** Numeric owner; 0 when absent (r10e's layers are owned by root but for a runtime root's home). */
  uid?: number;
  /** Numeric group; 0 when absent. */
  gid?: number;
  /** Byte count of a file's content; 0 for others. */
  size: number;
  /** Target of a symlink. */
  linkTarget?: string;
  /** Produces a file's content; must yield exactly `size` bytes. */
  content?: () => AsyncIterable<Uint8Array>;
}

/** A regular file entry (mode 0o644 unless given) whose content is `text` as UTF-8, or `bytes`. */
export function fileEntry(name: string, text: string | Uint8Array, mode = 0o644): TarEntry {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  return {
    name,
    kind: "file",
    mode,
    size: bytes.length,
    content: async function* () {
      yield bytes;
    },
  };
}

/** Options shared by every entry of one archive. */
export interface TarOptions {
  /** Modification time in seconds since the epoch, the same for every entry. */
  mtime: number;
}

/** The largest size an ustar size field holds (11 octal digits). */
const USTAR_MAX_SIZE = 0o77777777777;
/** The largest uid or gid an ustar field holds (7 octal digits); r10e never needs PAX for them. */
const USTAR_MAX_ID = 0o7777777;

/** Name as written in the header: directories end with a slash. */
export function headerName(entry: Pick<TarEntry, "name" | "kind">): string {
  return entry.kind === "dir" ? entry.name + "/" : entry.name;
}

/** Bytewise (UTF-8) comparison of header names: the sort order of every archive r10e writes. */
export const compareNames: (a: string, b: string) => number = compareCodePoints;

/**
 * Encodes the header block(s) of one entry: a PAX `x` header first when ustar
 * cannot hold the name, link target or size.
 * @throws {RangeError} for a negative or fractional size or mtime, or an empty name.
 */
export function encodeHeader(entry: TarEntry, options: TarOptions): Uint8Array {
  if (!entry.name || entry.name.startsWith("/") || entry.name.startsWith("./")) {
    throw new RangeError(`Cannot write tar entry "${entry.name}": name must be relative`);
  }
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new RangeError(`Cannot write tar entry "${entry.name}": bad size "${entry.size}"`);
  }
  if (!Number.isSafeInteger(options.mtime) || options.mtime < 0 || options.mtime > USTAR_MAX_SIZE) {
    throw new RangeError(`Cannot write tar entry "${entry.name}": bad mtime "${options.mtime}"`);
  }
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  for (const [field, id] of [["uid", uid], ["gid", gid]] as const) {
    if (!Number.isSafeInteger(id) || id < 0 || id > USTAR_MAX_ID) {
      throw new RangeError(`Cannot write tar entry "${entry.name}": bad ${field} "${id}"`);
    }
  }
  if (!Number.isSafeInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) {
    throw new RangeError(`Cannot write tar entry "${entry.name}": bad mode "${entry.mode}"`);
  }
  const name = headerName(entry);
  const link = entry.linkTarget ?? "";
  // The same choices as Go's archive/tar (what moby and BuildKit write): ustar,
  // with the prefix field for long ASCII names; PAX records, sorted by key, only
  // for what ustar cannot hold.
  const pax: [string, string][] = [];
  const split = splitUstarName(name);
  if (!split) pax.push(["path", name]);
  if (!isAscii(link) || encoder.encode(link).length > 100) pax.push(["linkpath", link]);
  if (entry.size > USTAR_MAX_SIZE) pax.push(["size", String(entry.size)]);
  pax.sort(([a], [b]) => (a < b ? -1 : 1));
  const usePax = pax.length > 0;

  const main = ustarBlock({
    name: split && !usePax ? split.name : truncatedAscii(name),
    prefix: split && !usePax ? split.prefix : "",
    mode: entry.mode,
    uid,
    gid,
    size: entry.size > USTAR_MAX_SIZE ? 0 : entry.size,
    mtime: options.mtime,
    typeflag: entry.kind === "dir" ? "5" : entry.kind === "symlink" ? "2" : "0",
    linkname: truncatedAscii(link),
    devices: true,
  });
  if (!usePax) return main;

  const body = encoder.encode(pax.map(([k, v]) => paxRecord(k, v)).join(""));
  const paxHeader = ustarBlock({
    name: paxHeaderName(name),
    prefix: "",
    mode: 0,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    typeflag: "x",
    linkname: "",
    devices: false,
  });
  const out = new Uint8Array(BLOCK + padded(body.length) + BLOCK);
  out.set(paxHeader, 0);
  out.set(body, BLOCK);
  out.set(main, BLOCK + padded(body.length));
  return out;
}

/**
 * Writes a whole archive as a stream of chunks: each header, the content, the
 * padding to a block, and finally two zero blocks. Entries are written in the
 * order given; callers sort them.
 * @throws {RangeError} when a content function yields more or fewer bytes than the entry's size.
 */
export async function* writeTar(
  entries: Iterable<TarEntry>,
  options: TarOptions,
): AsyncGenerator<Uint8Array> {
  for (const entry of entries) {
    yield encodeHeader(entry, options);
    if (entry.kind !== "file" || entry.size === 0) {
      if (entry.kind === "file" && entry.content) {
        for await (const chunk of entry.content()) {
          if (chunk.length) throw sizeChanged(entry, chunk.length);
        }
      }
      continue;
    }
    if (!entry.content) throw new RangeError(`Cannot write tar entry "${entry.name}": no content`);
    let written = 0;
    for await (const chunk of entry.content()) {
      written += chunk.length;
      if (written > entry.size) throw sizeChanged(entry, written);
      if (chunk.length) yield chunk;
    }
    if (written !== entry.size) throw sizeChanged(entry, written);
    const pad = padded(entry.size) - entry.size;
    if (pad) yield new Uint8Array(pad);
  }
  yield new Uint8Array(2 * BLOCK);
}

function sizeChanged(entry: TarEntry, got: number): RangeError {
  return new RangeError(
    `Cannot write tar entry "${entry.name}": expected ${entry.size} bytes, content has ${
      got > entry.size ? "more" : got
    } (was the file changed while r10e read it?)`,
  );
}

function padded(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

function isAscii(s: string): boolean {
  // deno-lint-ignore no-control-regex
  return /^[\x01-\x7f]*$/.test(s);
}

/** Drops non-ASCII characters and cuts to 100 bytes: the ustar field a PAX record overrides (as Go does). */
function truncatedAscii(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[^\x01-\x7f]/g, "").slice(0, 100);
}

/** Name of a PAX header: `dir/PaxHeaders.0/file`, as Go's archive/tar names it. */
function paxHeaderName(name: string): string {
  const cut = name.lastIndexOf("/", name.length - 2);
  const dir = name.endsWith("/") ? name.slice(0, -1) : name.slice(0, cut + 1);
  const file = name.endsWith("/") ? "" : name.slice(cut + 1);
  const joined = name.endsWith("/") ? `${dir}/PaxHeaders.0` : `${dir}PaxHeaders.0/${file}`;
  return truncatedAscii(joined).replace(/\/+$/, "");
}

/** Splits an ASCII name into ustar prefix (≤155) and name (≤100) at a slash, or null. */
export function splitUstarName(name: string): { prefix: string; name: string } | null {
  if (!isAscii(name)) return null;
  if (name.length <= 100) return { prefix: "", name };
  // The prefix must end at a slash; the slash itself is not stored.
  const max = Math.min(name.length - 1, 155);
  for (let i = max; i > 0; i--) {
    if (name[i] === "/" && name.length - i - 1 <= 100 && name.length - i - 1 > 0) {
      return { prefix: name.slice(0, i), name: name.slice(i + 1) };
    }
  }
  return null;
}

/** One PAX record: `"%d %s=%s\n"` where the length counts itself. */
export function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restLen = encoder.encode(rest).length;
  let len = restLen + String(restLen).length;
  if (String(len).length + restLen !== len) len = restLen + String(len).length;
  return `${len}${rest}`;
}

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  /** Write the device number fields ("0000000\0"); Go leaves them empty in PAX headers. */
  devices: boolean;
}

function ustarBlock(f: UstarFields): Uint8Array {
  const b = new Uint8Array(BLOCK);
  putString(b, 0, 100, f.name);
  putOctal(b, 100, 8, f.mode);
  putOctal(b, 108, 8, f.uid);
  putOctal(b, 116, 8, f.gid);
  putOctal(b, 124, 12, f.size);
  putOctal(b, 136, 12, f.mtime);
  b.fill(0x20, 148, 156); // checksum is computed with spaces in its field
  putString(b, 156, 1, f.typeflag);
  putString(b, 157, 100, f.linkname);
  putString(b, 257, 6, "ustar"); // "ustar\0"
  putString(b, 263, 2, "00");
  // uname and gname stay empty (DESIGN: image format).
  if (f.devices) {
    putOctal(b, 329, 8, 0); // devmajor
    putOctal(b, 337, 8, 0); // devminor
  }
  putString(b, 345, 155, f.prefix);
  let sum = 0;
  for (const byte of b) sum += byte;
  putOctal(b, 148, 7, sum); // six digits and a NUL, then the space already there
  return b;
}

function putString(b: Uint8Array, offset: number, length: number, s: string): void {
  // ASCII, nearly every field of every header, is written byte by byte: an encoder call per
  // field was a third of the time of a tar stream of many small files.
  if (s.length <= length) {
    let i = 0;
    while (i < s.length && s.charCodeAt(i) < 0x80) i++;
    if (i === s.length) {
      for (let j = 0; j < s.length; j++) b[offset + j] = s.charCodeAt(j);
      return;
    }
  }
  const bytes = encoder.encode(s);
  if (bytes.length > length) {
    throw new RangeError(`Cannot fit "${s}" in a ${length}-byte tar field`);
  }
  b.set(bytes, offset);
}

/** Octal digits padded with zeros to length-1, then a NUL. */
function putOctal(b: Uint8Array, offset: number, length: number, n: number): void {
  const digits = n.toString(8).padStart(length - 1, "0");
  if (digits.length > length - 1) {
    throw new RangeError(`Cannot fit ${n} in a ${length}-byte tar field`);
  }
  putString(b, offset, length - 1, digits);
  b[offset + length - 1] = 0;
}
