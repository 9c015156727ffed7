/**
 * The symbols of an ELF or Mach-O binary, sorted by address, to name the
 * bytes that differ between two binaries (DESIGN: "Verify": map differing
 * bytes to symbols). From the ELF `.symtab`, the Mach-O `LC_SYMTAB`, or,
 * when the binary is stripped (`-ldflags=-s -w`), the function names of the
 * Go pclntab (`source: "pclntab"`, code only).
 *
 * Addresses and sizes are kept in typed arrays and names as offsets into the
 * string table, so a binary with 100,000 symbols costs a few megabytes.
 *
 * ```ts
 * const syms = await readSymbols(src, exe);
 * const i = syms.find(addr);                   // -1: no symbol holds addr
 * if (i >= 0) console.log(await syms.name(i), syms.addr(i), syms.size(i));
 * ```
 *
 * Sizes: ELF symbols carry theirs; Mach-O symbols have none, so, as
 * `go tool nm -size` does, a symbol reaches to the next symbol's address
 * (and at most to the end of its section).
 *
 * API: `readSymbols(src, exe): Promise<SymbolTable>`, `readElfSymbols`,
 * `SymbolTable` (`source`, `count`, `find(addr)`, `addr(i)`, `size(i)`,
 * `section(i)`, `name(i)`, `lookup(name)`).
 *
 * @module
 */
import { type ElfFile, SHT_SYMTAB } from "./elf.ts";
import type { Executable } from "./executable.ts";
import { N_SECT, N_STAB, N_TYPE, readMachOSymbols } from "./macho.ts";
import { type Pclntab, readPclntab } from "./pclntab.ts";
import type { RandomAccess } from "./random_access.ts";

/** Where the names come from. */
export type SymbolSource = "symtab" | "pclntab" | "none";

/** Symbols sorted by address. */
export interface SymbolTable {
  /** `symtab` (ELF `.symtab`, Mach-O `LC_SYMTAB`), `pclntab` (functions only) or `none`. */
  readonly source: SymbolSource;
  /** Number of symbols. */
  readonly count: number;
  /** Index of the symbol whose range holds `addr` (the innermost, last starting), -1 when none. */
  find(addr: number): number;
  /** Address of symbol `i`. */
  addr(i: number): number;
  /** Size of symbol `i` in bytes. */
  size(i: number): number;
  /** Index in {@linkcode Executable.sections} of symbol `i`'s section, -1 when unknown. */
  section(i: number): number;
  /** Name of symbol `i`. */
  name(i: number): Promise<string>;
  /** Index of the symbol called `name`, -1 when none (a linear scan: for a few names). */
  lookup(name: string): Promise<number>;
  /** Indexes of the symbols whose names end with `suffix` (ASCII), in address order; one pass. */
  withSuffix(suffix: string): Promise<number[]>;
  /** The index of each of `names` that a symbol has (the first such symbol); one pass. */
  named(names: ReadonlySet<string>): Promise<Map<string, number>>;
}

/** Symbol tables larger than this are treated as malformed (hostile input). */
const MAX_SYMTAB = 256 << 20;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A table over names held in memory as one byte array with offsets. */
class ArrayTable implements SymbolTable {
  readonly source: SymbolSource;
  readonly count: number;
  #addrs: Float64Array;
  #sizes: Float64Array;
  #sections: Int32Array;
  #nameOffsets: Uint32Array;
  #strings: Uint8Array;

  constructor(
    source: SymbolSource,
    rows: { addr: number; size: number; section: number; name: number }[],
    strings: Uint8Array,
  ) {
    rows.sort((x, y) => x.addr - y.addr || y.size - x.size);
    this.source = source;
    this.count = rows.length;
    this.#addrs = Float64Array.from(rows, (r) => r.addr);
    this.#sizes = Float64Array.from(rows, (r) => r.size);
    this.#sections = Int32Array.from(rows, (r) => r.section);
    this.#nameOffsets = Uint32Array.from(rows, (r) => r.name);
    this.#strings = strings;
  }

  find(addr: number): number {
    const a = this.#addrs;
    let lo = 0;
    let hi = this.count - 1;
    if (hi < 0 || addr < a[0]) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (a[mid] <= addr) lo = mid;
      else hi = mid - 1;
    }
    // Symbols may nest (a zero-size marker, a type inside a table): look back a little.
    for (let i = lo; i >= 0 && i > lo - 8; i--) {
      if (addr < a[i] + this.#sizes[i]) return i;
    }
    return -1;
  }

  addr(i: number): number {
    return this.#addrs[i];
  }

  size(i: number): number {
    return this.#sizes[i];
  }

  section(i: number): number {
    return this.#sections[i];
  }

  name(i: number): Promise<string> {
    return Promise.resolve(this.#nameAt(i));
  }

  lookup(name: string): Promise<number> {
    for (let i = 0; i < this.count; i++) if (this.#nameAt(i) === name) return Promise.resolve(i);
    return Promise.resolve(-1);
  }

  withSuffix(suffix: string): Promise<number[]> {
    const s = this.#strings;
    const tail = Array.from(suffix, (c) => c.charCodeAt(0));
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const start = this.#nameOffsets[i];
      let end = s.indexOf(0, start);
      if (end < 0) end = s.length;
      if (end - start < tail.length) continue;
      let k = 0;
      while (k < tail.length && s[end - tail.length + k] === tail[k]) k++;
      if (k === tail.length) out.push(i);
    }
    return Promise.resolve(out);
  }

  named(names: ReadonlySet<string>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const lengths = new Set([...names].map((n) => encoder.encode(n).length));
    const s = this.#strings;
    for (let i = 0; i < this.count && out.size < names.size; i++) {
      const start = this.#nameOffsets[i];
      let end = s.indexOf(0, start);
      if (end < 0) end = s.length;
      if (!lengths.has(end - start)) continue;
      const name = decoder.decode(s.subarray(start, end));
      if (names.has(name) && !out.has(name)) out.set(name, i);
    }
    return Promise.resolve(out);
  }

  #nameAt(i: number): string {
    const s = this.#strings;
    const start = this.#nameOffsets[i];
    let end = s.indexOf(0, start);
    if (end < 0) end = s.length;
    return decoder.decode(s.subarray(start, end));
  }
}

/** A table over the functions of a pclntab. */
class PclnTable implements SymbolTable {
  readonly source: SymbolSource = "pclntab";
  readonly count: number;
  #tab: Pclntab;
  #section: number;
  constructor(tab: Pclntab, section: number) {
    this.#tab = tab;
    this.#section = section;
    this.count = tab.count;
  }
  find(addr: number): number {
    return this.#tab.find(addr);
  }
  addr(i: number): number {
    return this.#tab.entry(i);
  }
  size(i: number): number {
    return this.#tab.end(i) - this.#tab.entry(i);
  }
  section(_i: number): number {
    return this.#section;
  }
  name(i: number): Promise<string> {
    return this.#tab.name(i);
  }
  async lookup(name: string): Promise<number> {
    for (let i = 0; i < this.count; i++) if (await this.#tab.name(i) === name) return i;
    return -1;
  }
  async withSuffix(suffix: string): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) {
      if ((await this.#tab.name(i)).endsWith(suffix)) out.push(i);
    }
    return out;
  }
  async named(names: ReadonlySet<string>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < this.count && out.size < names.size; i++) {
      const n = await this.#tab.name(i);
      if (names.has(n) && !out.has(n)) out.set(n, i);
    }
    return out;
  }
}

const EMPTY: SymbolTable = new ArrayTable("none", [], new Uint8Array());

/**
 * Reads the defined symbols of an ELF `.symtab` (functions, objects and
 * untyped symbols with an address, in a real section). `null` when there is
 * no `.symtab`.
 * @throws {SyntaxError} when the table lies outside the file or is too large
 */
export async function readElfSymbols(
  src: RandomAccess,
  elf: ElfFile,
): Promise<SymbolTable | null> {
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab || symtab.size === 0) return null;
  const strtab = elf.sections[symtab.link];
  if (!strtab) throw new SyntaxError("Cannot read ELF: .symtab links to no string table");
  if (symtab.size > MAX_SYMTAB || strtab.size > MAX_SYMTAB) {
    throw new SyntaxError(`Cannot read ELF: symbol table is ${symtab.size} bytes`);
  }
  const [table, strings] = await Promise.all([
    src.read(symtab.offset, symtab.size),
    src.read(strtab.offset, strtab.size),
  ]);
  const is64 = elf.class === 64;
  const entry = symtab.entsize || (is64 ? 24 : 16);
  if (entry < (is64 ? 24 : 16)) {
    throw new SyntaxError(`Cannot read ELF: symbol entry size ${entry}`);
  }
  const le = elf.endian === "little";
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const rows: { addr: number; size: number; section: number; name: number }[] = [];
  for (let at = entry; at + entry <= table.length; at += entry) {
    const name = v.getUint32(at, le);
    let info: number, shndx: number, addr: number, size: number;
    if (is64) {
      info = table[at + 4];
      shndx = v.getUint16(at + 6, le);
      addr = Number(v.getBigUint64(at + 8, le));
      size = Number(v.getBigUint64(at + 16, le));
    } else {
      addr = v.getUint32(at + 4, le);
      size = v.getUint32(at + 8, le);
      info = table[at + 12];
      shndx = v.getUint16(at + 14, le);
    }
    const type = info & 0xf;
    // NOTYPE, OBJECT, FUNC, TLS; skip SECTION and FILE entries and undefined or special indexes.
    if (type > 2 && type !== 6) continue;
    if (shndx === 0 || shndx >= 0xff00 || name >= strings.length) continue;
    rows.push({ addr, size, section: shndx, name });
  }
  return new ArrayTable("symtab", rows, strings);
}

async function machOSymbols(src: RandomAccess, exe: Executable): Promise<SymbolTable | null> {
  const macho = exe.macho!;
  const all = await readMachOSymbols(src, macho);
  const defined = all.filter((s) =>
    (s.type & N_STAB) === 0 && (s.type & N_TYPE) === N_SECT &&
    s.sect > 0 && s.sect <= macho.sections.length
  );
  if (defined.length === 0) return null;
  // Names go into one byte array, as the ELF table keeps them.
  const enc = new TextEncoder();
  const parts = defined.map((s) => enc.encode(s.name + "\0"));
  const strings = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  const rows = defined.map((s, i) => {
    strings.set(parts[i], at);
    const row = { addr: s.value, size: 0, section: s.sect - 1, name: at };
    at += parts[i].length;
    return row;
  });
  // Sizes as `go tool nm` infers them: up to the next higher address, within the section.
  const addrs = Float64Array.from(new Set(rows.map((r) => r.addr))).sort();
  for (const r of rows) {
    let lo = 0;
    let hi = addrs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (addrs[mid] <= r.addr) lo = mid + 1;
      else hi = mid;
    }
    const sec = macho.sections[r.section];
    const sectionEnd = sec.addr + sec.size;
    const next = lo < addrs.length ? addrs[lo] : sectionEnd;
    r.size = Math.max(0, Math.min(next, sectionEnd) - r.addr);
  }
  return new ArrayTable("symtab", rows, strings);
}

/**
 * The symbols of an executable: its symbol table, else the pclntab's
 * functions, else an empty table (`source: "none"`).
 * @throws {SyntaxError} when a table is malformed
 */
export async function readSymbols(src: RandomAccess, exe: Executable): Promise<SymbolTable> {
  const table = exe.elf ? await readElfSymbols(src, exe.elf) : await machOSymbols(src, exe);
  if (table && table.count > 0) return table;
  const tab = await readPclntab(src, exe);
  if (tab) {
    const text = exe.sections.findIndex((s) => s.name === ".text" || s.name === "__TEXT,__text");
    return new PclnTable(tab, text);
  }
  return EMPTY;
}
