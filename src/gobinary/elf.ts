/**
 * A small ELF reader for `r10e verify`: headers, section and program header
 * tables, and section contents read on demand through a
 * {@linkcode RandomAccess}, so a 100 MB binary costs a few kilobytes of memory
 * (DESIGN: "Verify": Go binaries, list which ELF sections differ).
 *
 * 32 and 64 bit, little and big endian, extended section numbering
 * (`e_shnum == 0`, `SHN_XINDEX`, `PN_XNUM`). Offsets and sizes are JavaScript
 * numbers; a value above 2^53 is rejected as malformed.
 *
 * ```ts
 * const elf = await parseElf(src);             // null: not ELF
 * const text = elf && findSection(elf, ".text");
 * const hashes = elf && await hashSections(src, elf);
 * ```
 *
 * API: `parseElf(src): Promise<ElfFile | null>` (class, endian, machine,
 * sections with name/type/flags/addr/offset/size, program headers),
 * `isElfMagic(head)`, `findSection(elf, name)`, `readSection`,
 * `sectionChunks`, `readVirtual(src, elf, addr, size)` (through the program
 * headers), `hashSections(src, elf)` and `SectionHasher` (the same hashes
 * from chunks of the whole file read in order), `SHT_*`/`SHF_*`/`PT_*`/`PF_*`.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { CHUNK_SIZE, type RandomAccess, readChunks } from "./random_access.ts";

/** Section type: inactive entry (index 0). */
export const SHT_NULL = 0;
/** Section type: program-defined contents (code, data). */
export const SHT_PROGBITS = 1;
/** Section type: symbol table. */
export const SHT_SYMTAB = 2;
/** Section type: string table. */
export const SHT_STRTAB = 3;
/** Section type: notes (for example `.note.go.buildid`). */
export const SHT_NOTE = 7;
/** Section type: occupies no file space (`.bss`). */
export const SHT_NOBITS = 8;
/** Section flag: writable at run time. */
export const SHF_WRITE = 0x1;
/** Section flag: occupies memory at run time. */
export const SHF_ALLOC = 0x2;
/** Section flag: executable. */
export const SHF_EXECINSTR = 0x4;
/** Section flag: contents are compressed (`Elf_Chdr` then zlib or zstd), as Go's DWARF. */
export const SHF_COMPRESSED = 0x800;
/** Program header type: loadable segment. */
export const PT_LOAD = 1;
/** Program header type: notes. */
export const PT_NOTE = 4;
/** Program header flag: executable. */
export const PF_X = 0x1;
/** Program header flag: writable. */
export const PF_W = 0x2;
/** Program header flag: readable. */
export const PF_R = 0x4;

/** One entry of the section header table. */
export interface ElfSection {
  /** Position in the section header table. */
  index: number;
  /** Name from the section name string table, `""` when it has none. */
  name: string;
  /** `sh_type`, for example {@linkcode SHT_PROGBITS}. */
  type: number;
  /** `sh_flags`, a mask of `SHF_*`. */
  flags: number;
  /** Virtual address at run time, 0 when not loaded. */
  addr: number;
  /** Offset of the contents in the file. */
  offset: number;
  /** Size in bytes (in memory only for {@linkcode SHT_NOBITS}). */
  size: number;
  /** `sh_link`. */
  link: number;
  /** `sh_info`. */
  info: number;
  /** `sh_addralign`. */
  addralign: number;
  /** `sh_entsize`. */
  entsize: number;
}

/** One entry of the program header table. */
export interface ElfProgram {
  /** `p_type`, for example {@linkcode PT_LOAD}. */
  type: number;
  /** `p_flags`, a mask of `PF_*`. */
  flags: number;
  /** Offset of the segment in the file. */
  offset: number;
  /** Virtual address. */
  vaddr: number;
  /** Physical address. */
  paddr: number;
  /** Bytes in the file. */
  filesz: number;
  /** Bytes in memory. */
  memsz: number;
  /** Alignment. */
  align: number;
}

/** The parsed headers of an ELF file; contents stay in the source. */
export interface ElfFile {
  /** 32 or 64 bit. */
  class: 32 | 64;
  /** Byte order of every multi-byte field. */
  endian: "little" | "big";
  /** `EI_OSABI`. */
  osabi: number;
  /** `e_type`: 1 relocatable, 2 executable, 3 shared object or PIE, 4 core. */
  type: number;
  /** `e_machine`, for example 62 for x86-64. */
  machine: number;
  /** A short name for `machine` ("x86_64", "aarch64", "i386", "arm", …) or `"EM_<n>"`. */
  machineName: string;
  /** `e_flags`. */
  flags: number;
  /** Entry point address. */
  entry: number;
  /** Section headers in table order, index 0 included. */
  sections: ElfSection[];
  /** Program headers in table order. */
  programs: ElfProgram[];
}

const MACHINES: Record<number, string> = {
  2: "sparc",
  3: "i386",
  8: "mips",
  20: "ppc",
  21: "ppc64",
  22: "s390",
  40: "arm",
  43: "sparcv9",
  62: "x86_64",
  183: "aarch64",
  243: "riscv",
  258: "loongarch",
};

/** Section tables larger than this are treated as malformed (hostile input). */
const MAX_SECTIONS = 1 << 16;
/** Program header tables larger than this are treated as malformed. */
const MAX_PROGRAMS = 1 << 16;
/** The section name string table is read whole; larger ones are malformed. */
const MAX_SHSTRTAB = 16 << 20;

const SHN_XINDEX = 0xffff;
const PN_XNUM = 0xffff;

/** Reads fixed-size fields of one byte order from a buffer. */
class Fields {
  #view: DataView;
  #le: boolean;
  #is64: boolean;
  constructor(bytes: Uint8Array, le: boolean, is64: boolean) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#le = le;
    this.#is64 = is64;
  }
  u16(at: number): number {
    return this.#view.getUint16(at, this.#le);
  }
  u32(at: number): number {
    return this.#view.getUint32(at, this.#le);
  }
  u64(at: number): number {
    const v = this.#view.getBigUint64(at, this.#le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new SyntaxError(`Cannot read ELF: value 0x${v.toString(16)} is too large`);
    }
    return Number(v);
  }
  /** A native word: 32 or 64 bit by class. */
  word(at: number): number {
    return this.#is64 ? this.u64(at) : this.u32(at);
  }
}

async function readExactly(
  src: RandomAccess,
  offset: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
  if (offset + length > src.size) {
    throw new SyntaxError(
      `Cannot read ELF: ${what} (offset ${offset}, ${length} bytes) is outside the file (${src.size} bytes)`,
    );
  }
  const bytes = await src.read(offset, length);
  if (bytes.length !== length) {
    throw new SyntaxError(`Cannot read ELF: ${what} is truncated`);
  }
  return bytes;
}

/** Whether the first bytes are the ELF magic `\x7fELF`. */
export function isElfMagic(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c &&
    head[3] === 0x46;
}

/**
 * Parses the ELF header, program headers and section headers (with names).
 * Returns `null` when `src` does not start with the ELF magic.
 * @throws {SyntaxError} when the file has the magic but malformed headers
 */
export async function parseElf(src: RandomAccess): Promise<ElfFile | null> {
  const ident = await src.read(0, 16);
  if (!isElfMagic(ident)) return null;
  if (ident.length < 16) throw new SyntaxError("Cannot read ELF: header is truncated");
  const cls = ident[4];
  const data = ident[5];
  if (cls !== 1 && cls !== 2) {
    throw new SyntaxError(
      `Cannot read ELF: unknown class ${cls}, expected 1 (32-bit) or 2 (64-bit)`,
    );
  }
  if (data !== 1 && data !== 2) {
    throw new SyntaxError(`Cannot read ELF: unknown data encoding ${data}, expected 1 or 2`);
  }
  const is64 = cls === 2;
  const le = data === 1;
  const ehsize = is64 ? 64 : 52;
  const f = new Fields(await readExactly(src, 0, ehsize, "ELF header"), le, is64);
  const type = f.u16(16);
  const machine = f.u16(18);
  const entry = f.word(24);
  const phoff = f.word(is64 ? 32 : 28);
  const shoff = f.word(is64 ? 40 : 32);
  const flags = f.u32(is64 ? 48 : 36);
  const phentsize = f.u16(is64 ? 54 : 42);
  let phnum = f.u16(is64 ? 56 : 44);
  const shentsize = f.u16(is64 ? 58 : 46);
  let shnum = f.u16(is64 ? 60 : 48);
  let shstrndx = f.u16(is64 ? 62 : 50);

  const shMin = is64 ? 64 : 40;
  const phMin = is64 ? 56 : 32;
  let sections: ElfSection[] = [];
  const raw: RawSection[] = [];
  if (shoff !== 0) {
    if (shentsize < shMin) {
      throw new SyntaxError(`Cannot read ELF: section header size ${shentsize} is below ${shMin}`);
    }
    // Extended numbering: the real counts live in section 0 (gABI "Extended Section Header").
    if (shnum === 0 || shstrndx === SHN_XINDEX || phnum === PN_XNUM) {
      const first = parseSection(
        new Fields(await readExactly(src, shoff, shentsize, "section header 0"), le, is64),
        0,
        is64,
      );
      if (shnum === 0) shnum = first.size;
      if (shstrndx === SHN_XINDEX) shstrndx = first.link;
      if (phnum === PN_XNUM) phnum = first.info;
    }
    if (shnum > MAX_SECTIONS) {
      throw new SyntaxError(
        `Cannot read ELF: ${shnum} sections, at most ${MAX_SECTIONS} supported`,
      );
    }
    const table = await readExactly(src, shoff, shnum * shentsize, "section header table");
    const tf = new Fields(table, le, is64);
    for (let i = 0; i < shnum; i++) raw.push(parseSection(tf, i * shentsize, is64, i));
    for (const s of raw) {
      if (s.type !== SHT_NOBITS && s.type !== SHT_NULL && s.offset + s.size > src.size) {
        throw new SyntaxError(
          `Cannot read ELF: section ${s.index} (offset ${s.offset}, ${s.size} bytes) is outside the file (${src.size} bytes)`,
        );
      }
    }
    sections = await nameSections(src, raw, shstrndx);
  }

  const programs: ElfProgram[] = [];
  if (phoff !== 0 && phnum > 0) {
    if (phentsize < phMin) {
      throw new SyntaxError(`Cannot read ELF: program header size ${phentsize} is below ${phMin}`);
    }
    if (phnum > MAX_PROGRAMS) {
      throw new SyntaxError(`Cannot read ELF: ${phnum} program headers, at most ${MAX_PROGRAMS}`);
    }
    const table = await readExactly(src, phoff, phnum * phentsize, "program header table");
    const pf = new Fields(table, le, is64);
    for (let i = 0; i < phnum; i++) programs.push(parseProgram(pf, i * phentsize, is64));
  }

  return {
    class: is64 ? 64 : 32,
    endian: le ? "little" : "big",
    osabi: ident[7],
    type,
    machine,
    machineName: MACHINES[machine] ?? `EM_${machine}`,
    flags,
    entry,
    sections,
    programs,
  };
}

/** A section header before its name is looked up. */
type RawSection = ElfSection & { nameOffset: number };

function parseSection(f: Fields, at: number, is64: boolean, index = 0): RawSection {
  if (is64) {
    return {
      index,
      name: "",
      type: f.u32(at + 4),
      flags: f.u64(at + 8),
      addr: f.u64(at + 16),
      offset: f.u64(at + 24),
      size: f.u64(at + 32),
      link: f.u32(at + 40),
      info: f.u32(at + 44),
      addralign: f.u64(at + 48),
      entsize: f.u64(at + 56),
      nameOffset: f.u32(at),
    };
  }
  return {
    index,
    name: "",
    type: f.u32(at + 4),
    flags: f.u32(at + 8),
    addr: f.u32(at + 12),
    offset: f.u32(at + 16),
    size: f.u32(at + 20),
    link: f.u32(at + 24),
    info: f.u32(at + 28),
    addralign: f.u32(at + 32),
    entsize: f.u32(at + 36),
    nameOffset: f.u32(at),
  };
}

function parseProgram(f: Fields, at: number, is64: boolean): ElfProgram {
  if (is64) {
    return {
      type: f.u32(at),
      flags: f.u32(at + 4),
      offset: f.u64(at + 8),
      vaddr: f.u64(at + 16),
      paddr: f.u64(at + 24),
      filesz: f.u64(at + 32),
      memsz: f.u64(at + 40),
      align: f.u64(at + 48),
    };
  }
  return {
    type: f.u32(at),
    offset: f.u32(at + 4),
    vaddr: f.u32(at + 8),
    paddr: f.u32(at + 12),
    filesz: f.u32(at + 16),
    memsz: f.u32(at + 20),
    flags: f.u32(at + 24),
    align: f.u32(at + 28),
  };
}

/** Resolves `sh_name` offsets against the section name string table. */
async function nameSections(
  src: RandomAccess,
  raw: RawSection[],
  shstrndx: number,
): Promise<ElfSection[]> {
  const strip = ({ nameOffset: _, ...rest }: RawSection, name: string): ElfSection => ({
    ...rest,
    name,
  });
  const table = shstrndx > 0 && shstrndx < raw.length ? raw[shstrndx] : null;
  if (!table || table.type === SHT_NOBITS) return raw.map((s) => strip(s, ""));
  if (table.size > MAX_SHSTRTAB) {
    throw new SyntaxError(`Cannot read ELF: section name table is ${table.size} bytes`);
  }
  const names = await readExactly(src, table.offset, table.size, "section name table");
  const decoder = new TextDecoder();
  return raw.map((s) => {
    const start = s.nameOffset;
    if (start >= names.length) return strip(s, "");
    let end = names.indexOf(0, start);
    if (end < 0) end = names.length;
    return strip(s, decoder.decode(names.subarray(start, end)));
  });
}

/** The first section called `name`, or `undefined`. */
export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/**
 * Reads the file bytes of a section (at most `limit` bytes, default all).
 * {@linkcode SHT_NOBITS} sections have none. For large sections prefer
 * {@linkcode sectionChunks}.
 */
export function readSection(
  src: RandomAccess,
  section: ElfSection,
  limit = section.size,
): Promise<Uint8Array> {
  if (section.type === SHT_NOBITS) return Promise.resolve(new Uint8Array());
  return src.read(section.offset, Math.min(limit, section.size));
}

/** Streams the file bytes of a section in chunks. */
export function sectionChunks(
  src: RandomAccess,
  section: ElfSection,
  chunkSize: number = CHUNK_SIZE,
): AsyncGenerator<Uint8Array> {
  const size = section.type === SHT_NOBITS ? 0 : section.size;
  return readChunks(src, section.offset, size, chunkSize);
}

/**
 * Reads up to `size` bytes at virtual address `addr`, from the program
 * segment that maps it (like Go's `debug/buildinfo`). Returns `null` when no
 * segment maps `addr` with file bytes; fewer bytes when the segment ends first.
 */
export async function readVirtual(
  src: RandomAccess,
  elf: ElfFile,
  addr: number,
  size: number,
): Promise<Uint8Array | null> {
  for (const p of elf.programs) {
    if (p.filesz > 0 && p.vaddr <= addr && addr < p.vaddr + p.filesz) {
      const n = Math.min(size, p.vaddr + p.filesz - addr);
      return await src.read(p.offset + (addr - p.vaddr), n);
    }
  }
  return null;
}

/** The sha256 of one section's file bytes. */
export interface SectionHash {
  /** Section name; `""` for unnamed ones. */
  name: string;
  /** Position in the section header table. */
  index: number;
  /** `sh_type`. */
  type: number;
  /** `sh_size`. */
  size: number;
  /** Lowercase hex sha256 of the file bytes, `null` for sections without any ({@linkcode SHT_NOBITS}, {@linkcode SHT_NULL}). */
  sha256: string | null;
}

/**
 * Hashes every section's file bytes with sha256, one chunk at a time, in
 * section table order.
 */
export async function hashSections(
  src: RandomAccess,
  elf: ElfFile,
  options: { chunkSize?: number } = {},
): Promise<SectionHash[]> {
  const hasher = new SectionHasher(elf);
  for (const s of elf.sections) {
    if (!hasher.wants(s)) continue;
    let pos = s.offset;
    for await (const chunk of sectionChunks(src, s, options.chunkSize)) {
      hasher.update(pos, chunk, s.index);
      pos += chunk.length;
    }
  }
  return hasher.digest();
}

/** What {@linkcode SectionHasher} needs of a section. */
export type HashedSection = Pick<ElfSection, "index" | "name" | "type" | "offset" | "size">;

/**
 * Hashes the sections of one file from chunks of it read in file order, so
 * that one sequential pass over a file can also do other work on the same
 * chunks (`compareGoBinaries` compares bytes and scans for paths meanwhile).
 */
export class SectionHasher {
  #sections: readonly HashedSection[];
  #hashes: Array<Hash | null>;

  /**
   * Starts a hash for every section of `elf` that has file bytes. Any list of
   * sections whose `index` is their position works (the Mach-O view of
   * `executable.ts` too).
   */
  constructor(elf: { sections: readonly HashedSection[] }) {
    this.#sections = elf.sections;
    this.#hashes = elf.sections.map((s) => (this.wants(s) ? createHash("sha256") : null));
  }

  /** Whether a section has file bytes to hash. */
  wants(s: HashedSection): boolean {
    return s.type !== SHT_NOBITS && s.type !== SHT_NULL;
  }

  /**
   * Adds `chunk`, the file bytes at `offset`, to the sections it overlaps (only
   * to section `only` when given). Chunks must come in increasing offsets.
   */
  update(offset: number, chunk: Uint8Array, only?: number): void {
    const end = offset + chunk.length;
    for (const s of this.#sections) {
      const hash = this.#hashes[s.index];
      if (!hash || (only !== undefined && s.index !== only)) continue;
      const from = Math.max(offset, s.offset);
      const to = Math.min(end, s.offset + s.size);
      if (from < to) hash.update(chunk.subarray(from - offset, to - offset));
    }
  }

  /** The hashes, in section table order; the hasher cannot be updated afterwards. */
  digest(): SectionHash[] {
    return this.#sections.map((s) => ({
      name: s.name,
      index: s.index,
      type: s.type,
      size: s.size,
      sha256: this.#hashes[s.index]?.digest("hex") ?? null,
    }));
  }
}

/** `PT_DYNAMIC`: the dynamic section's segment. */
export const PT_DYNAMIC = 2;
/** `PT_INTERP`: the path of the program interpreter (the dynamic loader). */
export const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
/** Reads no more than this of a dynamic segment or a string in it. */
const MAX_DYNAMIC = 1 << 20;

/** What an executable needs of the system to start: its loader and shared libraries. */
export interface DynamicNeeds {
  /** The PT_INTERP path, e.g. `/lib64/ld-linux-x86-64.so.2`; null for a static executable. */
  interpreter: string | null;
  /** DT_NEEDED library names in the order the dynamic section lists them. */
  needed: string[];
}

/**
 * The loader (PT_INTERP) and the shared libraries (DT_NEEDED, names read from DT_STRTAB) an
 * ELF file needs; both empty for a static executable, which is what a FROM scratch image can run.
 * @throws {SyntaxError} when the segments point outside the file.
 */
export async function readDynamicNeeds(src: RandomAccess, elf: ElfFile): Promise<DynamicNeeds> {
  const cString = (bytes: Uint8Array, at: number) => {
    const end = bytes.indexOf(0, at);
    return new TextDecoder().decode(bytes.subarray(at, end < 0 ? bytes.length : end));
  };
  const interp = elf.programs.find((p) => p.type === PT_INTERP);
  const interpreter = interp
    ? cString(
      await readExactly(src, interp.offset, Math.min(interp.filesz, 4096), "PT_INTERP"),
      0,
    )
    : null;
  const dyn = elf.programs.find((p) => p.type === PT_DYNAMIC);
  const needed: string[] = [];
  if (dyn && dyn.filesz > 0) {
    const bytes = await readExactly(
      src,
      dyn.offset,
      Math.min(dyn.filesz, MAX_DYNAMIC),
      "PT_DYNAMIC",
    );
    const is64 = elf.class === 64;
    const f = new Fields(bytes, elf.endian === "little", is64);
    const size = is64 ? 16 : 8;
    const offsets: number[] = [];
    let strtab: number | null = null;
    for (let at = 0; at + size <= bytes.length; at += size) {
      const tag = f.word(at);
      if (tag === DT_NULL) break;
      if (tag === DT_NEEDED) offsets.push(f.word(at + size / 2));
      if (tag === DT_STRTAB) strtab = f.word(at + size / 2);
    }
    if (offsets.length && strtab !== null) {
      for (const off of offsets) {
        const text = await readVirtual(src, elf, strtab + off, 4096);
        if (text) needed.push(cString(text, 0));
      }
    }
  }
  return { interpreter, needed };
}
