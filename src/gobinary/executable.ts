/**
 * One view of an ELF or Mach-O executable, so that the Go-specific readers
 * (build info, build ID, symbols, pclntab) are written once: sections with
 * their file and memory ranges, loadable segments, byte order and pointer
 * size (DESIGN: "Verify": Go binaries from ELF and Mach-O).
 *
 * ```ts
 * const exe = await parseExecutable(src);      // null: neither ELF nor Mach-O
 * const data = exe && await readAddress(src, exe, addr, 16);
 * ```
 *
 * API: `parseExecutable(src)`, `findExecSection(exe, ...names)`,
 * `readAddress(src, exe, addr, size)` (through the segments),
 * `addressOfOffset(exe, offset)` (file offset to section and address).
 *
 * Mach-O sections are named `segment,section` (`__TEXT,__text`), because
 * Go's darwin binaries have a `__rodata` in two segments.
 *
 * @module
 */
import {
  type ElfFile,
  parseElf,
  PF_W,
  PF_X,
  PT_LOAD,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHT_NOBITS,
} from "./elf.ts";
import { type MachOFile, parseMachO } from "./macho.ts";
import type { RandomAccess } from "./random_access.ts";

/** A section of either format. */
export interface ExecSection {
  /** Position in {@linkcode Executable.sections}. */
  index: number;
  /** ELF name (`.rodata`) or Mach-O `segment,section` (`__DATA,__data`). */
  name: string;
  /** `SHT_*` for ELF; for Mach-O `SHT_PROGBITS` (1) or `SHT_NOBITS` (8) for zero fill. */
  type: number;
  /** Virtual address, 0 when not loaded. */
  addr: number;
  /** File offset of the contents. */
  offset: number;
  /** Size in bytes. */
  size: number;
  /** Bytes in the file (not `.bss`-like). */
  hasBytes: boolean;
  /** Loaded into memory at `addr`. */
  loaded: boolean;
  /** Holds machine code (ELF `SHF_EXECINSTR`, Mach-O instruction attributes). */
  code: boolean;
}

/** A loadable segment: file bytes mapped at an address. */
export interface ExecSegment {
  vaddr: number;
  offset: number;
  filesz: number;
  writable: boolean;
  executable: boolean;
}

/** An ELF or Mach-O file, headers only. */
export interface Executable {
  format: "elf" | "macho";
  endian: "little" | "big";
  /** Pointer size in bytes, from the class. */
  ptrSize: 4 | 8;
  /** Short machine name (`x86_64`, `aarch64` for ELF, `arm64` for Mach-O). */
  machine: string;
  sections: ExecSection[];
  segments: ExecSegment[];
  /** The ELF headers when `format` is `elf`. */
  elf: ElfFile | null;
  /** The Mach-O headers when `format` is `macho`. */
  macho: MachOFile | null;
}

/**
 * Parses ELF or Mach-O headers. Returns `null` when `src` is neither.
 * @throws {SyntaxError} when the headers are malformed
 */
export async function parseExecutable(src: RandomAccess): Promise<Executable | null> {
  const elf = await parseElf(src);
  if (elf) return fromElf(elf);
  const macho = await parseMachO(src);
  return macho ? fromMachO(macho) : null;
}

/** The {@linkcode Executable} view of parsed ELF headers. */
export function fromElf(elf: ElfFile): Executable {
  return {
    format: "elf",
    endian: elf.endian,
    ptrSize: elf.class === 64 ? 8 : 4,
    machine: elf.machineName,
    sections: elf.sections.map((s) => ({
      index: s.index,
      name: s.name,
      type: s.type,
      addr: s.addr,
      offset: s.offset,
      size: s.size,
      hasBytes: s.type !== SHT_NOBITS && s.type !== 0,
      loaded: (s.flags & SHF_ALLOC) !== 0 && s.addr !== 0,
      code: (s.flags & SHF_EXECINSTR) !== 0,
    })),
    segments: elf.programs.filter((p) => p.type === PT_LOAD).map((p) => ({
      vaddr: p.vaddr,
      offset: p.offset,
      filesz: p.filesz,
      writable: (p.flags & PF_W) !== 0,
      executable: (p.flags & PF_X) !== 0,
    })),
    elf,
    macho: null,
  };
}

/** The {@linkcode Executable} view of parsed Mach-O headers. */
export function fromMachO(macho: MachOFile): Executable {
  return {
    format: "macho",
    endian: macho.endian,
    ptrSize: macho.class === 64 ? 8 : 4,
    machine: macho.cpuName,
    sections: macho.sections.map((s, i) => ({
      index: i,
      name: `${s.segment},${s.name}`,
      type: s.hasBytes ? 1 : SHT_NOBITS,
      addr: s.addr,
      offset: s.hasBytes ? s.offset : 0,
      size: s.size,
      hasBytes: s.hasBytes,
      // __DWARF has addresses but is not mapped (its segment has no memory protection).
      loaded: s.segment !== "__DWARF",
      // S_ATTR_PURE_INSTRUCTIONS, S_ATTR_SOME_INSTRUCTIONS.
      code: (s.flags & 0x80000400) !== 0,
    })),
    segments: macho.segments.filter((s) => s.filesize > 0 || s.vmsize > 0).map((s) => ({
      vaddr: s.vmaddr,
      offset: s.fileoff,
      filesz: s.filesize,
      writable: (s.initprot & 2) !== 0,
      executable: (s.initprot & 4) !== 0,
    })),
    elf: null,
    macho,
  };
}

/** The first section with one of `names` (tried in order), or `undefined`. */
export function findExecSection(exe: Executable, ...names: string[]): ExecSection | undefined {
  for (const name of names) {
    const s = exe.sections.find((x) => x.name === name);
    if (s) return s;
  }
  return undefined;
}

/**
 * Reads up to `size` bytes at virtual address `addr` from the segment that
 * maps it. Returns `null` when no segment maps `addr` with file bytes; fewer
 * bytes when the segment ends first.
 */
export async function readAddress(
  src: RandomAccess,
  exe: Executable,
  addr: number,
  size: number,
): Promise<Uint8Array | null> {
  for (const p of exe.segments) {
    if (p.filesz > 0 && p.vaddr <= addr && addr < p.vaddr + p.filesz) {
      const n = Math.min(size, p.vaddr + p.filesz - addr);
      return await src.read(p.offset + (addr - p.vaddr), n);
    }
  }
  return null;
}

/** The loaded section holding file offset `offset`, and the address it is mapped at. */
export function addressOfOffset(
  exe: Executable,
  offset: number,
): { section: ExecSection; addr: number } | null {
  for (const s of exe.sections) {
    if (s.hasBytes && s.offset <= offset && offset < s.offset + s.size) {
      return { section: s, addr: s.loaded ? s.addr + (offset - s.offset) : -1 };
    }
  }
  return null;
}
