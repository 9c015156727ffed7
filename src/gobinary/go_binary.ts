/**
 * Go binaries, for `r10e verify`, the build's check of its artifacts and the SBOM: the build info that `go version -m` prints,
 * the Go build ID, build paths that leaked in (no `-trimpath`), and a
 * comparison of two binaries that names which of these differ, which
 * sections differ, the symbols holding the differing bytes and the strings
 * stamped at link time (DESIGN: "Verify: from differences to causes", issues 4 and 8).
 *
 * Everything reads through a {@linkcode RandomAccess}: only the headers,
 * the build info blob, the build ID and the symbol table are read whole;
 * sections are hashed and scanned in chunks, so memory stays flat for 100 MB binaries.
 *
 * ```ts
 * const info = await readGoBuildInfo(src);    // null: not a Go binary
 * console.log(info && formatGoBuildInfo(info)); // same text as `go version -m`
 * const diff = await compareGoBinaries(srcA, srcB);
 * ```
 *
 * API (stable: `src/verify/content.ts` and the build's audit build on it):
 * - `readGoBuildInfo(src): Promise<GoBuildInfo | null>`: Go version, package
 *   path, main module, deps (with `replace`), build settings in file order.
 * - `readGoBuildId(src): Promise<string | null>`: as `go tool buildid` prints it.
 * - `compareGoBinaries(a, b, options?): Promise<GoBinaryDiff>`: everything
 *   below at once, in one side-by-side pass over both files; then `symbols`
 *   (the symbols of a holding the differing bytes), `stamps` (`-ldflags -X`
 *   strings with both values), `strings` (printable strings that differ, for
 *   stripped binaries), `buildIdParts` (which build ID part differs: link
 *   only or compile inputs) and `buildPathVerdict` (build-machine paths that
 *   differ or were not trimmed). `options.symbols: false` skips the mapping.
 * - `diffGoBuildInfo(a, b): BuildInfoDifference[]`: field by field.
 * - `findBuildPaths(src, options?): Promise<BuildPathLeaks>`: leaked paths;
 *   `buildPathVerdict(infoA, infoB, leaks)`: the ones that matter.
 * - `parseGoModInfo(text)`, `formatGoBuildInfo(info)`, `unquoteGo(s)`,
 *   `quoteGo(s)`: Go's text format (`ParseBuildInfo`, `BuildInfo.String`).
 *
 * Beside it: `executable.ts` (one view of ELF and Mach-O), `elf.ts`,
 * `macho.ts`, `symbols.ts` (`.symtab`, `LC_SYMTAB`, else the pclntab's
 * functions), `pclntab.ts`, `symbol_diff.ts` (ranges to symbols, stamps,
 * strings), `build_id.ts` (the four parts of a Go build ID).
 *
 * ELF and Mach-O (64 and 32 bit, either byte order) are read; PE gives `null`.
 * Mach-O keeps the build info in `__DATA,__go_buildinfo` and the build ID in
 * its quoted form at the start of `__TEXT,__text`; its `LC_UUID` and ad hoc
 * code signature follow from the build ID and are masked with it.
 *
 * Go records `-ldflags` only in builds without `-trimpath` (they may hold
 * paths), so two `-trimpath` builds that differ by `-X main.version=…` have
 * equal build info: they show as different build IDs and different data
 * sections (`.rodata`), with `onlyBuildIdDiffers` false, and as `stamps`.
 *
 * Build info format (Go's `debug/buildinfo` and `runtime/debug.ParseBuildInfo`):
 * a 32-byte header `\xff Go buildinf:` + pointer size + flags, 16-byte
 * aligned, at the start of `.go.buildinfo` (or the first writable segment).
 * Go 1.18+ sets flag 0x2 and stores two varint-length strings after the header
 * (Go version, then module info framed by 16-byte sentinels); older binaries
 * store two pointers to Go string headers, read through the program headers.
 *
 * @module
 */
// Buffer: memcmp-speed equals and latin1 decoding, both on hot paths over whole files.
import { Buffer } from "node:buffer";
import { concatBytes } from "../bytes.ts";
import { findSection, PT_NOTE, type SectionHash, SectionHasher, SHT_NOTE } from "./elf.ts";
import { type Executable, findExecSection, parseExecutable, readAddress } from "./executable.ts";
import { type BuildIdComparison, compareBuildIds } from "./build_id.ts";
import {
  differingStrings,
  mapRangesToSymbols,
  RangeCollector,
  type StampedString,
  stampedStrings,
  type StringDifferences,
  type SymbolDifferences,
  withoutMasks,
} from "./symbol_diff.ts";
import { readSymbols } from "./symbols.ts";
import {
  CHUNK_SIZE,
  type FirstDifference,
  type RandomAccess,
  readChunks,
} from "./random_access.ts";

/** A module as listed in build info (`mod`, `dep` and `=>` lines). */
export interface GoModule {
  /** Module path, for example `golang.org/x/sys`. */
  path: string;
  /** Version, `(devel)` for the main module, or `""`. */
  version: string;
  /** `h1:` checksum, `""` when none (main module, local replacements). */
  sum: string;
  /** The module that replaced this one (`=>` line), if any. */
  replace?: GoModule;
}

/** One `build` line: a setting that influenced the build. */
export interface GoBuildSetting {
  /** For example `-trimpath`, `-ldflags`, `CGO_ENABLED`, `GOAMD64`, `vcs.modified`. */
  key: string;
  /** The value, unquoted. */
  value: string;
}

/** What `go version -m` prints for a binary. */
export interface GoBuildInfo {
  /** Toolchain that built the binary, for example `go1.26.8`. */
  goVersion: string;
  /** Package path of the main package, `""` when unknown. */
  path: string;
  /** The main module, `null` for binaries built outside module mode. */
  main: GoModule | null;
  /** Dependency modules in the order the binary lists them. */
  deps: GoModule[];
  /** Build settings in the order the binary lists them. */
  settings: GoBuildSetting[];
}

// "\xff" is one byte, not UTF-8 "\u00ff", so the magic is spelled out byte by byte.
const MAGIC = concatBytes([new Uint8Array([0xff]), ascii(" Go buildinf:")]);
const BUILDINFO_ALIGN = 16;
const BUILDINFO_HEADER = 32;
/** How far from the data start the header is searched, as Go does. */
const BUILDINFO_WINDOW = 64 * 1024;
/** Larger build info strings are treated as malformed (hostile input). */
const MAX_STRING = 64 << 20;

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  for (let i = hay.indexOf(first, from); i >= 0; i = hay.indexOf(first, i + 1)) {
    if (i + needle.length > hay.length) return -1;
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

const utf8 = new TextDecoder();

/** Reads an unsigned LEB128 varint; `null` when malformed or too large. */
function uvarint(bytes: Uint8Array, at: number): { value: number; next: number } | null {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 8; i++) {
    const b = bytes[i];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value > Number.MAX_SAFE_INTEGER ? null : { value, next: i + 1 };
    scale *= 128;
  }
  return null;
}

/**
 * Reads the Go version and raw module info of an ELF Go binary; `null` when
 * it carries no build info. The module info has its sentinels removed and is
 * `""` when the binary was built outside module mode.
 */
async function readRawBuildInfo(
  src: RandomAccess,
  elf: Executable,
): Promise<{ version: string; mod: Uint8Array } | null> {
  const start = dataStart(elf);
  if (start === null) return null;
  const window = await readAddress(src, elf, start, BUILDINFO_WINDOW);
  if (!window) return null;
  let at = -1;
  for (let i = indexOfBytes(window, MAGIC); i >= 0; i = indexOfBytes(window, MAGIC, i + 1)) {
    if (i % BUILDINFO_ALIGN === 0 && window.length - i >= BUILDINFO_HEADER) {
      at = i;
      break;
    }
  }
  if (at < 0) return null;
  const header = window.subarray(at, at + BUILDINFO_HEADER);
  const ptrSize = header[14];
  const flags = header[15];
  let version: Uint8Array;
  let mod: Uint8Array;
  if (flags & 2) {
    // Go 1.18+: varint-prefixed strings inline after the header.
    const addr = start + at + BUILDINFO_HEADER;
    const first = await readInlineString(src, elf, addr);
    if (!first) return null;
    version = first.bytes;
    mod = (await readInlineString(src, elf, first.next))?.bytes ?? new Uint8Array();
  } else {
    if (ptrSize !== 4 && ptrSize !== 8) return null;
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const le = (flags & 1) === 0;
    const ptr = (v: DataView, o: number) =>
      ptrSize === 4 ? v.getUint32(o, le) : Number(v.getBigUint64(o, le));
    const readString = async (addr: number): Promise<Uint8Array> => {
      const hdr = await readAddress(src, elf, addr, 2 * ptrSize);
      if (!hdr || hdr.length < 2 * ptrSize) return new Uint8Array();
      const hv = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
      const dataAddr = ptr(hv, 0);
      const len = ptr(hv, ptrSize);
      if (len > MAX_STRING) return new Uint8Array();
      const data = await readAddress(src, elf, dataAddr, len);
      return data && data.length === len ? data : new Uint8Array();
    };
    version = await readString(ptr(view, 16));
    mod = await readString(ptr(view, 16 + ptrSize));
  }
  if (version.length === 0) return null;
  // Module info is framed by 16-byte sentinels (cmd/go modload infoStart/infoEnd).
  const framed = mod.length >= 33 && mod[mod.length - 17] === 0x0a;
  return {
    version: utf8.decode(version),
    mod: framed ? mod.subarray(16, mod.length - 16) : new Uint8Array(),
  };
}

async function readInlineString(
  src: RandomAccess,
  elf: Executable,
  addr: number,
): Promise<{ bytes: Uint8Array; next: number } | null> {
  const head = await readAddress(src, elf, addr, 10);
  if (!head) return null;
  const len = uvarint(head, 0);
  if (!len || len.value > MAX_STRING) return null;
  const bytes = await readAddress(src, elf, addr + len.next, len.value);
  if (!bytes || bytes.length !== len.value) return null;
  return { bytes, next: addr + len.next + len.value };
}

/**
 * Where Go's linker puts the build info: `.go.buildinfo` (ELF) or
 * `__DATA,__go_buildinfo` (Mach-O), else the first writable data segment.
 */
function dataStart(exe: Executable): number | null {
  const section = findExecSection(exe, ".go.buildinfo", "__DATA,__go_buildinfo");
  if (section) return section.addr;
  const seg = exe.segments.find((p) => p.writable && !p.executable);
  return seg ? seg.vaddr : null;
}

/**
 * Reads the build info of a Go binary (ELF or Mach-O), what `go version -m`
 * prints. Returns `null` when `src` is neither or carries no Go build info.
 * @throws {SyntaxError} when the headers or the module info are malformed
 */
export async function readGoBuildInfo(src: RandomAccess): Promise<GoBuildInfo | null> {
  const elf = await parseExecutable(src);
  if (!elf) return null;
  const raw = await readRawBuildInfo(src, elf);
  if (!raw) return null;
  return { goVersion: raw.version, ...parseGoModInfo(utf8.decode(raw.mod)) };
}

/**
 * Parses module info text (the `path`/`mod`/`dep`/`=>`/`build` lines of
 * `runtime/debug.BuildInfo.String`, without the `go` line), as Go's
 * `ParseBuildInfo` does: unknown lines are skipped, quoted keys and values
 * are Go string literals.
 * @throws {SyntaxError} naming the line when a line is malformed
 */
export function parseGoModInfo(text: string): Omit<GoBuildInfo, "goVersion"> {
  const out: Omit<GoBuildInfo, "goVersion"> = { path: "", main: null, deps: [], settings: [] };
  let last: GoModule | null = null;
  const lines = text.split("\n");
  // A final line without "\n" is ignored, as in Go.
  lines.pop();
  for (const [i, line] of lines.entries()) {
    const fail = (detail: string): never => {
      throw new SyntaxError(`Cannot parse Go build info: line ${i + 1}: ${detail}`);
    };
    const module = (cols: string[]): GoModule => {
      if (cols.length !== 2 && cols.length !== 3) {
        fail(`expected 2 or 3 columns, found ${cols.length}`);
      }
      return { path: cols[0], version: cols[1], sum: cols[2] ?? "" };
    };
    if (line.startsWith("path\t")) {
      out.path = line.slice(5);
    } else if (line.startsWith("mod\t")) {
      out.main = last = module(line.slice(4).split("\t"));
    } else if (line.startsWith("dep\t")) {
      last = module(line.slice(4).split("\t"));
      out.deps.push(last);
    } else if (line.startsWith("=>\t")) {
      const cols = line.slice(3).split("\t");
      if (cols.length !== 3) fail(`expected 3 columns for a replacement, found ${cols.length}`);
      if (!last) fail("replacement with no module on the previous line");
      last!.replace = { path: cols[0], version: cols[1], sum: cols[2] };
      last = null;
    } else if (line.startsWith("build\t")) {
      out.settings.push(parseSettingLine(line.slice(6), fail));
    }
  }
  return out;
}

function needsQuotedKey(key: string): boolean {
  return key === "" || /[= \t\r\n"`]/.test(key);
}

function needsQuotedValue(value: string): boolean {
  return /[ \t\r\n"`]/.test(value);
}

function parseSettingLine(kv: string, fail: (detail: string) => never): GoBuildSetting {
  if (kv === "") fail("build line missing '='");
  let key: string;
  let rawValue: string;
  if (kv[0] === "=") {
    fail("build line with missing key");
  }
  if (kv[0] === '"' || kv[0] === "`") {
    const end = quotedPrefixLength(kv);
    if (end < 0) fail("invalid quoted key in build line");
    if (end === kv.length) fail("build line missing '=' after quoted key");
    if (kv[end] !== "=") fail(`unexpected character after quoted key: ${JSON.stringify(kv[end])}`);
    key = unquoteGo(kv.slice(0, end))!;
    rawValue = kv.slice(end + 1);
  } else {
    const eq = kv.indexOf("=");
    if (eq < 0) fail("build line missing '=' after key");
    key = kv.slice(0, eq);
    rawValue = kv.slice(eq + 1);
    if (needsQuotedKey(key)) fail(`unquoted key ${JSON.stringify(key)} must be quoted`);
  }
  let value = rawValue;
  if (rawValue[0] === '"' || rawValue[0] === "`") {
    const v = unquoteGo(rawValue);
    if (v === null) fail("invalid quoted value in build line");
    value = v!;
  } else if (needsQuotedValue(rawValue)) {
    fail(`unquoted value ${JSON.stringify(rawValue)} must be quoted`);
  }
  return { key, value };
}

/** Length of the Go string literal at the start of `s`, or -1. */
function quotedPrefixLength(s: string): number {
  const q = s[0];
  for (let i = 1; i < s.length; i++) {
    if (s[i] === q) return unquoteGo(s.slice(0, i + 1)) === null ? -1 : i + 1;
    if (q === '"' && s[i] === "\\") i++;
    else if (q === '"' && s[i] === "\n") return -1;
  }
  return -1;
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  "\\": 0x5c,
  '"': 0x22,
  "'": 0x27,
};

/** Go's `strconv.Unquote` for `"…"` and `` `…` `` literals; `null` when invalid. */
export function unquoteGo(s: string): string | null {
  if (s.length < 2 || s[0] !== s[s.length - 1]) return null;
  const body = s.slice(1, -1);
  if (s[0] === "`") return body.includes("`") ? null : body.replaceAll("\r", "");
  if (s[0] !== '"') return null;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < body.length;) {
    const c = body[i];
    if (c === '"' || c === "\n") return null;
    if (c !== "\\") {
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      bytes.push(...encoder.encode(ch));
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return null;
    if (e in SIMPLE_ESCAPES && e !== "'") {
      bytes.push(SIMPLE_ESCAPES[e]);
      i += 2;
    } else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = body.slice(i + 2, i + 2 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return null;
      const v = parseInt(hex, 16);
      if (e === "x") bytes.push(v);
      else if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) return null;
      else bytes.push(...encoder.encode(String.fromCodePoint(v)));
      i += 2 + n;
    } else if (e >= "0" && e <= "7") {
      const oct = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) return null;
      bytes.push(parseInt(oct, 8));
      i += 4;
    } else {
      return null;
    }
  }
  return utf8.decode(new Uint8Array(bytes));
}

/** Go's `strconv.Quote`, close enough for build settings (printable ASCII and Unicode kept). */
export function quoteGo(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\x07") out += "\\a";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\v") out += "\\v";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp >= 0x80 && cp < 0xa0) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

/**
 * Formats build info like `runtime/debug.BuildInfo.String`, the lines that
 * `go version -m` prints (there, each is indented by a tab).
 */
export function formatGoBuildInfo(info: GoBuildInfo): string {
  let out = "";
  if (info.goVersion) out += `go\t${info.goVersion}\n`;
  if (info.path) out += `path\t${info.path}\n`;
  const mod = (word: string, m: GoModule): void => {
    out += `${word}\t${m.path}\t${m.version}`;
    if (m.replace) {
      out += "\n";
      mod("=>", m.replace);
    } else {
      out += `\t${m.sum}`;
    }
    out += "\n";
  };
  if (info.main && (info.main.path || info.main.version || info.main.sum || info.main.replace)) {
    mod("mod", info.main);
  }
  for (const d of info.deps) mod("dep", d);
  for (const s of info.settings) {
    const key = needsQuotedKey(s.key) ? quoteGo(s.key) : s.key;
    const value = needsQuotedValue(s.value) ? quoteGo(s.value) : s.value;
    out += `build\t${key}=${value}\n`;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Build ID

/** Where a Go build ID was found in the file. */
interface LocatedBuildId {
  id: string;
  /** File offset of the ID's bytes. */
  offset: number;
  /** Length of the ID's bytes (the literal's, for the quoted form). */
  length: number;
}

const NOTE_NAME_GO = ascii("Go\0\0");
const NOTE_TYPE_GO_BUILDID = 4;
const RAW_PREFIX = concatBytes([new Uint8Array([0xff]), ascii(' Go build ID: "')]);
const RAW_END = concatBytes([ascii('"\n '), new Uint8Array([0xff])]);
/** Go's `cmd/internal/buildid` looks this far into the file for the quoted form. */
const RAW_WINDOW = 32 * 1024;
const MAX_NOTES = 1 << 20;

/**
 * Reads the Go build ID (what `go tool buildid` prints): from the
 * `.note.go.buildid` ELF note (or any `PT_NOTE` segment), else from the quoted
 * `\xff Go build ID: "…"\n \xff` form at the start of `.text` or of the file.
 * Returns `null` when there is none.
 * @throws {SyntaxError} when the ELF headers are malformed
 */
export async function readGoBuildId(src: RandomAccess): Promise<string | null> {
  return (await locateGoBuildId(src, await parseExecutable(src)))?.id ?? null;
}

async function locateGoBuildId(
  src: RandomAccess,
  exe: Executable | null,
): Promise<LocatedBuildId | null> {
  const elf = exe?.elf;
  if (exe?.macho) {
    // Mach-O has no notes: the quoted form starts __TEXT,__text.
    const text = findExecSection(exe, "__TEXT,__text");
    if (text && text.hasBytes) {
      const found = findRawBuildId(await src.read(text.offset, Math.min(RAW_WINDOW, text.size)));
      if (found) return { ...found, offset: text.offset + found.offset };
    }
  }
  if (elf) {
    const regions: Array<{ offset: number; size: number }> = [];
    const note = findSection(elf, ".note.go.buildid");
    if (note && note.type === SHT_NOTE) regions.push(note);
    for (const p of elf.programs) {
      if (p.type === PT_NOTE) regions.push({ offset: p.offset, size: p.filesz });
    }
    for (const r of regions) {
      if (r.size > MAX_NOTES) continue;
      const found = findGoNote(await src.read(r.offset, r.size), elf.endian === "little");
      if (found) return { ...found, offset: r.offset + found.offset };
    }
    // gccgo keeps the quoted form in a `.go.buildid` section; old gc put it at the start of .text.
    for (const name of [".go.buildid", ".text"]) {
      const s = exe && findExecSection(exe, name);
      if (!s || !s.hasBytes) continue;
      const found = findRawBuildId(await src.read(s.offset, Math.min(RAW_WINDOW, s.size)));
      if (found) return { ...found, offset: s.offset + found.offset };
    }
  }
  return findRawBuildId(await src.read(0, RAW_WINDOW));
}

function findGoNote(bytes: Uint8Array, le: boolean): LocatedBuildId | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const align4 = (n: number) => (n + 3) & ~3;
  for (let at = 0; at + 12 <= bytes.length;) {
    const namesz = view.getUint32(at, le);
    const descsz = view.getUint32(at + 4, le);
    const type = view.getUint32(at + 8, le);
    const name = at + 12;
    const desc = name + align4(namesz);
    if (desc + descsz > bytes.length) return null;
    if (
      namesz === 4 && type === NOTE_TYPE_GO_BUILDID &&
      indexOfBytes(bytes.subarray(name, name + 4), NOTE_NAME_GO) === 0
    ) {
      return { id: utf8.decode(bytes.subarray(desc, desc + descsz)), offset: desc, length: descsz };
    }
    at = desc + align4(descsz);
  }
  return null;
}

function findRawBuildId(bytes: Uint8Array): LocatedBuildId | null {
  const i = indexOfBytes(bytes, RAW_PREFIX);
  if (i < 0) return null;
  const open = i + RAW_PREFIX.length - 1;
  const j = indexOfBytes(bytes, RAW_END, open + 1);
  if (j < 0) return null;
  const quoted = utf8.decode(bytes.subarray(open, j + 1));
  const id = unquoteGo(quoted);
  return id === null ? null : { id, offset: open + 1, length: j - open - 1 };
}

// ---------------------------------------------------------------------------
// Leaked build paths

/** What a leaked path looks like it comes from. */
export type BuildPathKind = "home" | "tmp" | "goroot" | "gomodcache" | "source";

/** One absolute build path found in a binary's bytes. */
export interface LeakedPath {
  /** File offset of the path's first byte. */
  offset: number;
  /** The path as found (printable ASCII, at most 4096 characters). */
  path: string;
  /**
   * `home` (/home/, /root/, /Users/), `tmp` (/tmp/, /var/tmp/, macOS temp
   * folders), `goroot` (/usr/local/go/, /usr/lib/go*), `gomodcache`
   * (…/go/pkg/mod/), `source` (any other absolute `*.go`/`*.s` file name, as
   * the pclntab stores them without `-trimpath`).
   */
  kind: BuildPathKind;
}

/** Build paths found in a binary: how many, and a few distinct examples. */
export interface BuildPathLeaks {
  /** Number of matches in the whole file. */
  count: number;
  /** Up to `maxExamples` distinct paths, every kind found represented first. */
  examples: LeakedPath[];
  /** Every distinct path found (at most 10,000) with its kind, in file order. */
  paths?: { path: string; kind: BuildPathKind }[];
}

const PATH_CHAR = String.raw`[A-Za-z0-9._+@~%=,:/-]`;
const LEAK_RE = new RegExp(
  String.raw`\/(?:home|root|Users|tmp|var\/tmp|var\/folders|private\/var|private\/tmp|` +
    String.raw`usr\/local\/go|usr\/lib\/go[A-Za-z0-9.-]*|go\/pkg\/mod)\/${PATH_CHAR}+` +
    // pclntab file names are NUL-terminated, so a NUL before "/" marks the start of a name.
    String.raw`|(?<=\x00)\/${PATH_CHAR}+\.(?:go|s)(?!${PATH_CHAR})`,
  "g",
);
const MAX_PATH = 4096;
/** Distinct paths remembered to keep examples distinct. */
const MAX_DISTINCT = 10_000;
/** Bytes kept from the end of one chunk for matches that cross into the next. */
const OVERLAP = 64;

function pathKind(path: string): BuildPathKind {
  if (/^\/(?:usr\/local\/go|usr\/lib\/go[^/]*)\//.test(path)) return "goroot";
  if (path.includes("/go/pkg/mod/")) return "gomodcache";
  if (/^\/(?:home|root|Users)\//.test(path)) return "home";
  if (/^\/(?:tmp|var\/tmp|var\/folders|private)\//.test(path)) return "tmp";
  return "source";
}

/**
 * Scans a binary's bytes for absolute build paths, the trace of a build
 * without `-trimpath` (DESIGN: "build paths in binary"). Streams in chunks;
 * memory stays bounded whatever the file size.
 */
export async function findBuildPaths(
  src: RandomAccess,
  options: { maxExamples?: number; chunkSize?: number } = {},
): Promise<BuildPathLeaks> {
  const scanner = new PathScanner(src.size, options.maxExamples);
  const chunkSize = Math.max(options.chunkSize ?? CHUNK_SIZE, OVERLAP * 2);
  for await (const chunk of readChunks(src, 0, src.size, chunkSize)) scanner.update(chunk);
  return scanner.result();
}

/** Scans chunks of a file, given in order, for build paths. */
class PathScanner {
  #size: number;
  #maxExamples: number;
  #seen = new Map<string, BuildPathKind>();
  #examples: LeakedPath[] = [];
  #count = 0;
  /** Text kept from the previous chunk, starting at file offset #carryStart. */
  #carry = "";
  #carryStart = 0;
  /** File offset of the next byte to read. */
  #pos = 0;
  /** Matches that start before this offset were already counted. */
  #handled = 0;

  constructor(size: number, maxExamples = 5) {
    this.#size = size;
    this.#maxExamples = maxExamples;
  }

  update(chunk: Uint8Array): void {
    this.#pos += chunk.length;
    const eof = this.#pos >= this.#size;
    // latin1 maps every byte to one character, so string indexes are byte offsets
    // (and Buffer's latin1 decoding is 4x faster than TextDecoder("windows-1252")).
    const text = this.#carry +
      Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString("latin1");
    let keepFrom = Math.max(0, text.length - OVERLAP);
    for (const m of text.matchAll(LEAK_RE)) {
      const offset = this.#carryStart + m.index;
      if (offset < this.#handled) continue;
      if (!eof && m.index + m[0].length >= text.length) {
        // The path may go on in the next chunk: look at it again from its start.
        keepFrom = Math.min(keepFrom, Math.max(m.index - 1, text.length - MAX_PATH));
        break;
      }
      this.#record({ offset, path: m[0].slice(0, MAX_PATH), kind: pathKind(m[0]) });
      this.#handled = offset + m[0].length;
    }
    this.#carry = text.slice(keepFrom);
    this.#carryStart += keepFrom;
  }

  result(): BuildPathLeaks {
    const paths = [...this.#seen].map(([path, kind]) => ({ path, kind }));
    return { count: this.#count, examples: this.#examples, paths };
  }

  #record(found: LeakedPath): void {
    this.#count++;
    if (this.#seen.has(found.path)) return;
    // Bounded memory: past this many distinct paths, examples may repeat a path.
    if (this.#seen.size < MAX_DISTINCT) this.#seen.set(found.path, found.kind);
    const examples = this.#examples;
    if (examples.length < this.#maxExamples) {
      examples.push(found);
      return;
    }
    // Full: a kind not shown yet replaces the last example of a kind shown twice.
    if (examples.some((e) => e.kind === found.kind)) return;
    for (let i = examples.length - 1; i >= 0; i--) {
      if (examples.filter((e) => e.kind === examples[i].kind).length > 1) {
        examples[i] = found;
        return;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Comparison

/** One field of the build info that differs between two binaries. */
export interface BuildInfoDifference {
  /**
   * `go` (toolchain version), `path` (main package), `mod` (main module),
   * `dep` (a dependency), `build` (a build setting).
   */
  field: "go" | "path" | "mod" | "dep" | "build";
  /** The module path for `mod`/`dep`, the setting key for `build`, else the field name. */
  key: string;
  /** `added`: only in b; `removed`: only in a; `changed`: in both, different. */
  change: "added" | "removed" | "changed";
  /**
   * The value in a, `null` when absent. Modules read
   * `version[ sum][ => path version[ sum]]`.
   */
  a: string | null;
  /** The value in b, `null` when absent. */
  b: string | null;
}

/** One ELF section whose bytes differ (paired by name, then by occurrence). */
export interface SectionDifference {
  /** Section name (`#2` appended for a second section of the same name). */
  name: string;
  /** `added`: only in b; `removed`: only in a; `changed`: different bytes or size. */
  change: "added" | "removed" | "changed";
  /** The section in a, `null` when absent. */
  a: SectionHash | null;
  /** The section in b, `null` when absent. */
  b: SectionHash | null;
}

/**
 * The build paths that say something about two builds: those that look like
 * a build machine's (a home directory, /tmp and other temporary build
 * directories, the module cache, GOROOT, absolute source file names as the
 * pclntab keeps them without `-trimpath`) and either differ between the two
 * binaries or were not trimmed (a binary's build settings lack
 * `-trimpath=true`). A path both binaries hold from the program's own source
 * (a string literal) in two `-trimpath` builds is not one of them.
 */
export interface BuildPathVerdict {
  /** The paths, a's first (at most 10). */
  paths: string[];
  /** `differ`: in one binary only; `not trimmed`: built without `-trimpath`; `null`: none. */
  reason: "differ" | "not trimmed" | null;
}

/** Everything {@linkcode compareGoBinaries} finds about two (Go) binaries. */
export interface GoBinaryDiff {
  /** The two files are byte for byte the same. */
  identical: boolean;
  /** Sizes and first differing offset. */
  bytes: FirstDifference;
  /** Build info of a and b, `null` for a binary without any. */
  buildInfo: { a: GoBuildInfo | null; b: GoBuildInfo | null };
  /** Build info fields that differ, in `go version -m` order. */
  buildInfoDifferences: BuildInfoDifference[];
  /** Go build IDs of a and b, `null` when absent. */
  buildId: { a: string | null; b: string | null };
  /**
   * The build IDs differ and nothing else does: the bytes are the same outside
   * the Go build ID and what derives from it (the GNU build ID note, the
   * Mach-O UUID and code signature) (DESIGN: "Go build ID only": different
   * toolchain or paths).
   */
  onlyBuildIdDiffers: boolean;
  /** Sections that differ, in a's section order then b's extra ones; empty if neither ELF nor Mach-O. */
  sections: SectionDifference[];
  /** Absolute build paths found in each binary (missing `-trimpath`). */
  buildPaths: { a: BuildPathLeaks; b: BuildPathLeaks };
  /** Parts that could not be read, for example a malformed ELF header, as messages. */
  problems: string[];
  /** `elf`, `macho`, or `null` (neither) for a and b. */
  format: { a: "elf" | "macho" | null; b: "elf" | "macho" | null };
  /**
   * The symbols of a that hold the differing bytes (outside the build ID and
   * what derives from it); `source: "none"` and no symbols when a has neither
   * a symbol table nor a pclntab.
   */
  symbols: SymbolDifferences;
  /** Go string variables stamped at link time (`-ldflags=-X`) whose values differ. */
  stamps: StampedString[];
  /** Printable strings near the differing bytes that only one binary holds (for stripped binaries). */
  strings: StringDifferences;
  /** Which parts of the Go build ID differ, `null` when equal or absent. */
  buildIdParts: BuildIdComparison | null;
  /** The build paths that point at a build machine and differ or were not trimmed. */
  buildPathVerdict: BuildPathVerdict;
}

function describeModule(m: GoModule): string {
  const one = (x: GoModule) => [x.version, x.sum].filter((s) => s !== "").join(" ");
  return m.replace ? `${one(m)} => ${m.replace.path} ${one(m.replace)}`.trim() : one(m);
}

/**
 * Lists the build info fields that differ between two binaries: Go version,
 * main package path, main module, each dependency added, removed or changed
 * (sorted by module path), each build setting that differs (in a's order,
 * then settings only b has).
 */
export function diffGoBuildInfo(a: GoBuildInfo, b: GoBuildInfo): BuildInfoDifference[] {
  const out: BuildInfoDifference[] = [];
  const push = (field: BuildInfoDifference["field"], key: string, x?: string, y?: string) => {
    if (x === y) return;
    const change = x === undefined ? "added" : y === undefined ? "removed" : "changed";
    out.push({ field, key, change, a: x ?? null, b: y ?? null });
  };
  push("go", "go", a.goVersion, b.goVersion);
  push("path", "path", a.path, b.path);
  if (a.main?.path === b.main?.path || !a.main || !b.main) {
    const key = a.main?.path ?? b.main?.path ?? "";
    push(
      "mod",
      key,
      a.main ? describeModule(a.main) : undefined,
      b.main ? describeModule(b.main) : undefined,
    );
  } else {
    push("mod", a.main.path, describeModule(a.main), undefined);
    push("mod", b.main.path, undefined, describeModule(b.main));
  }
  const depsA = new Map(a.deps.map((d) => [d.path, describeModule(d)]));
  const depsB = new Map(b.deps.map((d) => [d.path, describeModule(d)]));
  const paths = [...new Set([...depsA.keys(), ...depsB.keys()])].sort(compareStrings);
  for (const p of paths) push("dep", p, depsA.get(p), depsB.get(p));
  const settingsA = settingsMap(a.settings);
  const settingsB = settingsMap(b.settings);
  for (const [k, v] of settingsA) push("build", k, v, settingsB.get(k));
  for (const [k, v] of settingsB) if (!settingsA.has(k)) push("build", k, undefined, v);
  return out;
}

function compareStrings(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Settings by key; a repeated key keeps every value, joined by newlines. */
function settingsMap(settings: GoBuildSetting[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of settings) m.set(s.key, m.has(s.key) ? `${m.get(s.key)}\n${s.value}` : s.value);
  return m;
}

function diffSections(a: SectionHash[], b: SectionHash[]): SectionDifference[] {
  const keyed = (list: SectionHash[]) => {
    const counts = new Map<string, number>();
    const out = new Map<string, SectionHash>();
    for (const s of list) {
      if (s.index === 0 && s.name === "" && s.sha256 === null) continue;
      const n = (counts.get(s.name) ?? 0) + 1;
      counts.set(s.name, n);
      out.set(n === 1 ? s.name : `${s.name}#${n}`, s);
    }
    return out;
  };
  const ka = keyed(a);
  const kb = keyed(b);
  const out: SectionDifference[] = [];
  for (const [name, x] of ka) {
    const y = kb.get(name);
    if (!y) out.push({ name, change: "removed", a: x, b: null });
    else if (x.sha256 !== y.sha256 || x.size !== y.size || x.type !== y.type) {
      out.push({ name, change: "changed", a: x, b: y });
    }
  }
  for (const [name, y] of kb) if (!ka.has(name)) out.push({ name, change: "added", a: null, b: y });
  return out;
}

/** What is read of one binary before the pass over its bytes. */
interface Side {
  exe: Executable | null;
  info: GoBuildInfo | null;
  buildId: LocatedBuildId | null;
}

async function inspect(src: RandomAccess, label: string, problems: string[]): Promise<Side> {
  const side: Side = { exe: null, info: null, buildId: null };
  await attempt(problems, `the headers of ${label}`, async () => {
    side.exe = await parseExecutable(src);
  });
  if (side.exe) {
    const exe = side.exe;
    await attempt(problems, `the Go build info of ${label}`, async () => {
      const raw = await readRawBuildInfo(src, exe);
      if (raw) side.info = { goVersion: raw.version, ...parseGoModInfo(utf8.decode(raw.mod)) };
    });
  }
  await attempt(problems, `the Go build ID of ${label}`, async () => {
    side.buildId = await locateGoBuildId(src, side.exe);
  });
  return side;
}

/** Runs `f`; a malformed input becomes a message in `problems` instead of a throw. */
async function attempt(problems: string[], what: string, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof SyntaxError || e instanceof RangeError)) throw e;
    problems.push(`Cannot read ${what}: ${e.message}`);
  }
}

/** Options of {@linkcode compareGoBinaries}. */
export interface CompareOptions {
  /** Examples of leaked paths to keep per binary (default 5). */
  maxExamples?: number;
  /** Read size for streaming (default {@linkcode CHUNK_SIZE}, 256 KiB). */
  chunkSize?: number;
  /** Map the differing bytes to symbols, stamps and strings (default true; the benchmark turns it off to measure its cost). */
  symbols?: boolean;
}

/**
 * Compares two binaries (Go or not, ELF, Mach-O or neither): bytes, build
 * info field by field, build ID (and which of its parts), sections by sha256,
 * leaked build paths, and, after the pass, the symbols that hold the
 * differing bytes, the `-ldflags=-X` strings with both values and, without a
 * symbol table, the printable strings that differ. After the headers, both
 * files are read once, side by side, in chunks: memory does not grow with the
 * file size. Unreadable parts (a malformed header) are listed in `problems`,
 * not thrown.
 */
export async function compareGoBinaries(
  a: RandomAccess,
  b: RandomAccess,
  options: CompareOptions = {},
): Promise<GoBinaryDiff> {
  const chunkSize = Math.max(options.chunkSize ?? CHUNK_SIZE, OVERLAP * 2);
  const problems: string[] = [];
  const sa = await inspect(a, "a", problems);
  const sb = await inspect(b, "b", problems);
  const buildInfoDifferences = sa.info && sb.info ? diffGoBuildInfo(sa.info, sb.info) : [];
  const idA = sa.buildId?.id ?? null;
  const idB = sb.buildId?.id ?? null;
  const idMasks = buildIdMasks(sa, sb);
  // "Only the build ID" is checked during the pass, with the build IDs masked.
  let masks = idA !== idB && (sa.info === null) === (sb.info === null) &&
      buildInfoDifferences.length === 0 && a.size === b.size
    ? idMasks
    : null;

  const hashA = sa.exe ? new SectionHasher(sa.exe) : null;
  const hashB = sb.exe ? new SectionHasher(sb.exe) : null;
  const pathsA = new PathScanner(a.size, options.maxExamples);
  const pathsB = new PathScanner(b.size, options.maxExamples);
  const wantSymbols = options.symbols !== false && sa.exe !== null && sb.exe !== null;
  const ranges = wantSymbols ? new RangeCollector() : null;
  let offset: number | null = null;
  const end = Math.max(a.size, b.size);
  for (let pos = 0; pos < end; pos += chunkSize) {
    const [x, y] = await Promise.all([
      pos < a.size ? a.read(pos, Math.min(chunkSize, a.size - pos)) : new Uint8Array(),
      pos < b.size ? b.read(pos, Math.min(chunkSize, b.size - pos)) : new Uint8Array(),
    ]);
    if (offset === null) offset = firstDifferingIndex(x, y, pos);
    if (masks && offset !== null && !equalOutside(x, y, pos, masks)) masks = null;
    if (ranges && offset !== null) ranges.update(pos, x, y);
    hashA?.update(pos, x);
    hashB?.update(pos, y);
    if (x.length) pathsA.update(x);
    if (y.length) pathsB.update(y);
  }
  if (offset === null && a.size !== b.size) offset = Math.min(a.size, b.size);
  const buildPaths = { a: pathsA.result(), b: pathsB.result() };
  const diff: GoBinaryDiff = {
    identical: offset === null,
    bytes: { sizeA: a.size, sizeB: b.size, offset },
    buildInfo: { a: sa.info, b: sb.info },
    buildInfoDifferences,
    buildId: { a: idA, b: idB },
    onlyBuildIdDiffers: masks !== null && offset !== null,
    sections: diffSections(hashA?.digest() ?? [], hashB?.digest() ?? []),
    buildPaths,
    problems,
    format: { a: sa.exe?.format ?? null, b: sb.exe?.format ?? null },
    symbols: { source: "none", count: 0, symbols: [], unnamed: { ranges: 0, bytes: 0 } },
    stamps: [],
    strings: { a: [], b: [] },
    buildIdParts: compareBuildIds(idA, idB),
    buildPathVerdict: buildPathVerdict(sa.info, sb.info, buildPaths),
  };
  if (ranges && sa.exe && sb.exe && offset !== null) {
    const exeA = sa.exe;
    const exeB = sb.exe;
    const differing = withoutMasks(ranges.ranges(), idMasks ?? []);
    await attempt(problems, "the symbols", async () => {
      const [symsA, symsB] = await Promise.all([readSymbols(a, exeA), readSymbols(b, exeB)]);
      diff.symbols = await mapRangesToSymbols(differing, exeA, symsA);
      diff.stamps = await stampedStrings(
        { src: a, exe: exeA, syms: symsA },
        { src: b, exe: exeB, syms: symsB },
      );
    });
    await attempt(problems, "the strings", async () => {
      diff.strings = await differingStrings({ src: a, exe: exeA }, { src: b }, differing);
    });
  }
  return diff;
}

/** Path kinds that point at the machine a binary was built on. */
const BUILD_MACHINE_KINDS: ReadonlySet<BuildPathKind> = new Set([
  "home",
  "tmp",
  "gomodcache",
  "goroot",
  "source",
]);

/** See {@linkcode BuildPathVerdict}. */
export function buildPathVerdict(
  infoA: GoBuildInfo | null,
  infoB: GoBuildInfo | null,
  leaks: { a: BuildPathLeaks; b: BuildPathLeaks },
): BuildPathVerdict {
  const list = (l: BuildPathLeaks) =>
    (l.paths ?? l.examples).filter((p) => BUILD_MACHINE_KINDS.has(p.kind)).map((p) => p.path);
  const pa = list(leaks.a);
  const pb = list(leaks.b);
  const trimmed = (i: GoBuildInfo | null) =>
    i !== null && i.settings.some((s) => s.key === "-trimpath" && s.value === "true");
  // Without build info (not Go), nothing says whether paths were trimmed: only differences count.
  const untrimmed = (infoA !== null && !trimmed(infoA)) || (infoB !== null && !trimmed(infoB));
  let paths: string[];
  let reason: BuildPathVerdict["reason"] = null;
  if (untrimmed && pa.length + pb.length > 0) {
    // The project's own paths first: GOROOT paths only say that -trimpath is missing.
    paths = [...new Set([...pa, ...pb])];
    reason = "not trimmed";
  } else {
    const sa = new Set(pa);
    const sb = new Set(pb);
    paths = [...pa.filter((p) => !sb.has(p)), ...pb.filter((p) => !sa.has(p))];
    if (paths.length) reason = "differ";
  }
  const goroot = (p: string) => /^\/(?:usr\/local\/go|usr\/lib\/go[^/]*)\//.test(p);
  paths.sort((x, y) => Number(goroot(x)) - Number(goroot(y)));
  return { paths: paths.slice(0, 10), reason };
}

/** Offset of the first byte where two chunks at `pos` differ, `null` when equal. */
function firstDifferingIndex(x: Uint8Array, y: Uint8Array, pos: number): number | null {
  const n = Math.min(x.length, y.length);
  if (x.length === y.length && Buffer.from(x.buffer, x.byteOffset, n).equals(y)) return null;
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return pos + i;
  return x.length === y.length ? null : pos + n;
}

/** File ranges that may differ when only the build ID does. */
type Mask = { offset: number; size: number };

function buildIdMasks(sa: Side, sb: Side): Mask[] | null {
  const ida = sa.buildId;
  const idb = sb.buildId;
  if (!ida || !idb || ida.offset !== idb.offset || ida.length !== idb.length) return null;
  const masks = [{ offset: ida.offset, size: ida.length }];
  const same = (x: Mask | null | undefined, y: Mask | null | undefined) =>
    x && y && x.offset === y.offset && x.size === y.size;
  // Go 1.24+ derives the GNU build ID note from the Go build ID.
  const gnuA = sa.exe?.elf && findSection(sa.exe.elf, ".note.gnu.build-id");
  const gnuB = sb.exe?.elf && findSection(sb.exe.elf, ".note.gnu.build-id");
  if (gnuA && gnuB && same(gnuA, gnuB)) masks.push({ offset: gnuA.offset, size: gnuA.size });
  // Mach-O: the UUID derives from the build ID, and the ad hoc code signature hashes every page.
  const ma = sa.exe?.macho;
  const mb = sb.exe?.macho;
  if (ma && mb && ma.uuid && same(ma.uuid, mb.uuid)) masks.push(ma.uuid);
  if (ma && mb && ma.codeSignature && same(ma.codeSignature, mb.codeSignature)) {
    masks.push(ma.codeSignature);
  }
  return masks;
}
/** Whether two same-size chunks at `pos` are equal outside the masks. */
function equalOutside(x: Uint8Array, y: Uint8Array, pos: number, masks: Mask[]): boolean {
  if (x.length !== y.length) return false;
  let from = 0;
  const cuts = masks
    .map((m) => [Math.max(m.offset - pos, 0), Math.min(m.offset + m.size - pos, x.length)])
    .filter(([s, e]) => s < e)
    .sort((p, q) => p[0] - q[0]);
  for (const [s, e] of [...cuts, [x.length, x.length]]) {
    if (
      from < s && !Buffer.from(x.buffer, x.byteOffset + from, s - from).equals(y.subarray(from, s))
    ) {
      return false;
    }
    from = Math.max(from, e);
  }
  return true;
}
