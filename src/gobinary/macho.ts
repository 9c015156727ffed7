/**
 * A small Mach-O reader (what darwin Go binaries are): the header, the load
 * commands, segments with their sections, the symbol table (`LC_SYMTAB`),
 * `LC_UUID` and `LC_CODE_SIGNATURE`, read through a {@linkcode RandomAccess}
 * so that only the headers are held in memory (DESIGN: "Verify": Go binaries
 * from ELF and Mach-O).
 *
 * 32 and 64 bit, either byte order (`0xfeedface`/`0xfeedfacf` read in the
 * order that gives the magic; Go writes 64-bit little endian for darwin/amd64
 * and darwin/arm64). Fat (universal) files are not read: Go does not write
 * them. Offsets and sizes above 2^53 are rejected as malformed.
 *
 * ```ts
 * const macho = await parseMachO(src);          // null: not Mach-O
 * const text = macho && findMachOSection(macho, "__TEXT", "__text");
 * ```
 *
 * API: `parseMachO(src): Promise<MachOFile | null>`, `isMachOMagic(head)`,
 * `findMachOSection(file, segment, section)`, `readMachOSymbols(src, file)`
 * (the `nlist` entries with names), `LC_*` and `N_*` constants.
 *
 * @module
 */
import type { RandomAccess } from "./random_access.ts";

/** Load command: 32-bit segment. */
export const LC_SEGMENT = 0x1;
/** Load command: symbol table. */
export const LC_SYMTAB = 0x2;
/** Load command: 64-bit segment. */
export const LC_SEGMENT_64 = 0x19;
/** Load command: the UUID (Go derives it from the Go build ID). */
export const LC_UUID = 0x1b;
/** Load command: code signature blob in `__LINKEDIT` (Go signs darwin/arm64 ad hoc). */
export const LC_CODE_SIGNATURE = 0x1d;
/** `n_type` mask: the symbol is a debugging (stab) entry. */
export const N_STAB = 0xe0;
/** `n_type` mask of the type bits. */
export const N_TYPE = 0x0e;
/** `n_type & N_TYPE`: defined in section `n_sect`. */
export const N_SECT = 0x0e;
/** Section type (`flags & 0xff`) without file bytes (`__bss`). */
export const S_ZEROFILL = 0x1;
/** Section type: thread-local zero fill. */
export const S_THREAD_LOCAL_ZEROFILL = 0x12;
/** Section type: gigabyte zero fill. */
export const S_GB_ZEROFILL = 0xc;

/** One section of a segment. */
export interface MachOSection {
  /** Position among all sections of the file, from 1 (as `n_sect` counts them). */
  index: number;
  /** `sectname`, for example `__text`. */
  name: string;
  /** `segname`, for example `__TEXT`. */
  segment: string;
  /** Virtual address. */
  addr: number;
  /** Size in bytes (in memory only, for zero-fill sections). */
  size: number;
  /** File offset of the contents, 0 for zero-fill sections. */
  offset: number;
  /** `flags`: the type in the low byte, attributes above. */
  flags: number;
  /** Whether the section has bytes in the file (not zero fill). */
  hasBytes: boolean;
}

/** One segment load command. */
export interface MachOSegment {
  /** `segname`, for example `__TEXT`. */
  name: string;
  /** Virtual address. */
  vmaddr: number;
  /** Size in memory. */
  vmsize: number;
  /** File offset. */
  fileoff: number;
  /** Bytes in the file. */
  filesize: number;
  /** `initprot`: 1 read, 2 write, 4 execute. */
  initprot: number;
  /** Sections in command order. */
  sections: MachOSection[];
}

/** Any load command, for listing. */
export interface MachOLoadCommand {
  /** `cmd`, for example {@linkcode LC_SEGMENT_64}. */
  cmd: number;
  /** File offset of the command. */
  offset: number;
  /** `cmdsize`. */
  size: number;
}

/** The parsed headers of a Mach-O file; contents stay in the source. */
export interface MachOFile {
  /** 32 or 64 bit. */
  class: 32 | 64;
  /** Byte order. */
  endian: "little" | "big";
  /** `cputype`, for example 0x01000007 (x86_64), 0x0100000c (arm64). */
  cpu: number;
  /** A short name for `cpu` (`x86_64`, `arm64`, `i386`, `arm`, `ppc`, `ppc64`) or `CPU_<n>`. */
  cpuName: string;
  /** `filetype`: 2 executable. */
  type: number;
  /** Header `flags`. */
  flags: number;
  /** Every load command in file order. */
  commands: MachOLoadCommand[];
  /** Segments in command order. */
  segments: MachOSegment[];
  /** All sections, in command order (index from 1). */
  sections: MachOSection[];
  /** `LC_SYMTAB`, `null` when absent. */
  symtab: { symoff: number; nsyms: number; stroff: number; strsize: number } | null;
  /** File range of the 16 bytes of `LC_UUID`, `null` when absent. */
  uuid: { offset: number; size: number } | null;
  /** File range of the code signature blob, `null` when unsigned. */
  codeSignature: { offset: number; size: number } | null;
}

const CPUS: Record<number, string> = {
  7: "i386",
  0x01000007: "x86_64",
  12: "arm",
  0x0100000c: "arm64",
  18: "ppc",
  0x01000012: "ppc64",
};

/** Load command areas larger than this are treated as malformed (hostile input). */
const MAX_COMMANDS_SIZE = 16 << 20;
/** Symbol tables with more entries than this are treated as malformed. */
const MAX_SYMBOLS = 1 << 24;
/** String tables larger than this are treated as malformed. */
const MAX_STRINGS = 256 << 20;

function fail(detail: string): never {
  throw new SyntaxError(`Cannot read Mach-O: ${detail}`);
}

/** Whether the first bytes are a Mach-O magic (32 or 64 bit, either byte order). */
export function isMachOMagic(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const v = new DataView(head.buffer, head.byteOffset, 4);
  return [v.getUint32(0, true), v.getUint32(0, false)].some((m) =>
    m === 0xfeedface || m === 0xfeedfacf
  );
}

async function readExactly(
  src: RandomAccess,
  offset: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
  if (offset + length > src.size) {
    fail(`${what} (offset ${offset}, ${length} bytes) is outside the file (${src.size} bytes)`);
  }
  const bytes = await src.read(offset, length);
  if (bytes.length !== length) fail(`${what} is truncated`);
  return bytes;
}

function cString(bytes: Uint8Array, at: number, max: number): string {
  let end = at;
  while (end < at + max && end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
}

/**
 * Parses the Mach-O header and load commands. Returns `null` when `src` does
 * not start with a Mach-O magic.
 * @throws {SyntaxError} when the file has the magic but malformed headers
 */
export async function parseMachO(src: RandomAccess): Promise<MachOFile | null> {
  const head = await src.read(0, 4);
  if (!isMachOMagic(head)) return null;
  const hv = new DataView(head.buffer, head.byteOffset, 4);
  const le = hv.getUint32(0, true) === 0xfeedface || hv.getUint32(0, true) === 0xfeedfacf;
  const is64 = (hv.getUint32(0, le) & 1) === 1;
  const headerSize = is64 ? 32 : 28;
  const h = new DataView((await readExactly(src, 0, headerSize, "header")).buffer);
  const cpu = h.getUint32(4, le);
  const type = h.getUint32(12, le);
  const ncmds = h.getUint32(16, le);
  const sizeofcmds = h.getUint32(20, le);
  const flags = h.getUint32(24, le);
  if (sizeofcmds > MAX_COMMANDS_SIZE) fail(`load commands are ${sizeofcmds} bytes`);
  const cmdBytes = await readExactly(src, headerSize, sizeofcmds, "load commands");
  const v = new DataView(cmdBytes.buffer, cmdBytes.byteOffset, cmdBytes.byteLength);
  const u64 = (at: number): number => {
    const x = v.getBigUint64(at, le);
    if (x > BigInt(Number.MAX_SAFE_INTEGER)) fail(`value 0x${x.toString(16)} is too large`);
    return Number(x);
  };
  const word = (at: number) => is64 ? u64(at) : v.getUint32(at, le);
  const file: MachOFile = {
    class: is64 ? 64 : 32,
    endian: le ? "little" : "big",
    cpu,
    cpuName: CPUS[cpu] ?? `CPU_${cpu}`,
    type,
    flags,
    commands: [],
    segments: [],
    sections: [],
    symtab: null,
    uuid: null,
    codeSignature: null,
  };
  let at = 0;
  for (let i = 0; i < ncmds; i++) {
    if (at + 8 > cmdBytes.length) fail(`load command ${i} is outside the load commands`);
    const cmd = v.getUint32(at, le);
    const size = v.getUint32(at + 4, le);
    if (size < 8 || at + size > cmdBytes.length) {
      fail(`load command ${i} (offset ${headerSize + at}) has size ${size}`);
    }
    const need = (n: number) => {
      if (size < n) fail(`load command ${i} (0x${cmd.toString(16)}) has size ${size}, below ${n}`);
    };
    file.commands.push({ cmd, offset: headerSize + at, size });
    if (cmd === LC_SEGMENT_64 || cmd === LC_SEGMENT) {
      const w = cmd === LC_SEGMENT_64 ? 8 : 4;
      const fixed = 24 + 4 * w + 16;
      need(fixed);
      if ((cmd === LC_SEGMENT_64) !== is64) {
        fail(`load command ${i} is a ${w * 8}-bit segment in a ${file.class}-bit file`);
      }
      const nsects = v.getUint32(at + 24 + 4 * w + 8, le);
      const sectSize = cmd === LC_SEGMENT_64 ? 80 : 68;
      need(fixed + nsects * sectSize);
      const seg: MachOSegment = {
        name: cString(cmdBytes, at + 8, 16),
        vmaddr: word(at + 24),
        vmsize: word(at + 24 + w),
        fileoff: word(at + 24 + 2 * w),
        filesize: word(at + 24 + 3 * w),
        initprot: v.getUint32(at + 24 + 4 * w + 4, le),
        sections: [],
      };
      if (seg.fileoff + seg.filesize > src.size) {
        fail(
          `segment ${seg.name} (offset ${seg.fileoff}, ${seg.filesize} bytes) is outside the file (${src.size} bytes)`,
        );
      }
      for (let j = 0; j < nsects; j++) {
        const s = at + fixed + j * sectSize;
        const secFlags = v.getUint32(s + 32 + 2 * w + 16, le);
        const kind = secFlags & 0xff;
        const section: MachOSection = {
          index: file.sections.length + 1,
          name: cString(cmdBytes, s, 16),
          segment: cString(cmdBytes, s + 16, 16),
          addr: word(s + 32),
          size: word(s + 32 + w),
          offset: v.getUint32(s + 32 + 2 * w, le),
          flags: secFlags,
          hasBytes: kind !== S_ZEROFILL && kind !== S_GB_ZEROFILL &&
            kind !== S_THREAD_LOCAL_ZEROFILL,
        };
        if (section.hasBytes && section.offset + section.size > src.size) {
          fail(
            `section ${section.segment},${section.name} (offset ${section.offset}, ${section.size} bytes) is outside the file (${src.size} bytes)`,
          );
        }
        seg.sections.push(section);
        file.sections.push(section);
      }
      file.segments.push(seg);
    } else if (cmd === LC_SYMTAB) {
      need(24);
      file.symtab = {
        symoff: v.getUint32(at + 8, le),
        nsyms: v.getUint32(at + 12, le),
        stroff: v.getUint32(at + 16, le),
        strsize: v.getUint32(at + 20, le),
      };
    } else if (cmd === LC_UUID) {
      need(24);
      file.uuid = { offset: headerSize + at + 8, size: 16 };
    } else if (cmd === LC_CODE_SIGNATURE) {
      need(16);
      file.codeSignature = { offset: v.getUint32(at + 8, le), size: v.getUint32(at + 12, le) };
    }
    at += size;
  }
  return file;
}

/** The section `segment,section`, or `undefined`. */
export function findMachOSection(
  file: MachOFile,
  segment: string,
  section: string,
): MachOSection | undefined {
  return file.sections.find((s) => s.segment === segment && s.name === section);
}

/** One `nlist` entry of the symbol table. */
export interface MachOSymbol {
  /**
   * Name. Go's linker adds `_` before Go symbols; as in Go's `debug/macho`, it
   * is dropped from names holding a `.` (`_main.main` reads `main.main`).
   */
  name: string;
  /** `n_type`. */
  type: number;
  /** `n_sect`: section number from 1, 0 for none. */
  sect: number;
  /** `n_desc`. */
  desc: number;
  /** `n_value`: the address for defined symbols. */
  value: number;
}

/**
 * Reads the symbol table (`LC_SYMTAB`): every `nlist` entry with its name.
 * Returns `[]` when there is none.
 * @throws {SyntaxError} when the table lies outside the file or is too large
 */
export async function readMachOSymbols(
  src: RandomAccess,
  file: MachOFile,
): Promise<MachOSymbol[]> {
  const t = file.symtab;
  if (!t || t.nsyms === 0) return [];
  if (t.nsyms > MAX_SYMBOLS) fail(`${t.nsyms} symbols, at most ${MAX_SYMBOLS}`);
  if (t.strsize > MAX_STRINGS) fail(`string table is ${t.strsize} bytes`);
  const entry = file.class === 64 ? 16 : 12;
  const table = await readExactly(src, t.symoff, t.nsyms * entry, "symbol table");
  const strings = await readExactly(src, t.stroff, t.strsize, "string table");
  const le = file.endian === "little";
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const out: MachOSymbol[] = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < t.nsyms; i++) {
    const at = i * entry;
    const strx = v.getUint32(at, le);
    let name = "";
    if (strx > 0 && strx < strings.length) {
      let end = strings.indexOf(0, strx);
      if (end < 0) end = strings.length;
      name = decoder.decode(strings.subarray(strx, end));
    }
    const value = entry === 16 ? Number(v.getBigUint64(at + 8, le)) : v.getUint32(at + 8, le);
    out.push({
      name: name.startsWith("_") && name.includes(".") ? name.slice(1) : name,
      type: table[at + 4],
      sect: table[at + 5],
      desc: v.getUint16(at + 6, le),
      value,
    });
  }
  return out;
}
