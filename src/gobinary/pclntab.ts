/**
 * Function names and address ranges from a Go binary's pclntab
 * (`.gopclntab`, `__TEXT,__gopclntab`): what is left to name code when the
 * symbol table is stripped (`-ldflags=-s -w`). Read lazily through a
 * {@linkcode RandomAccess}: the header and the function table (8 bytes per
 * function) are read once, each name only when asked for.
 *
 * Formats (Go's `debug/gosym`, `internal/abi.PCLnTabMagic`): a header of a
 * 4-byte magic, two zero bytes, the PC quantum (1, 2 or 4) and the pointer
 * size (4 or 8), then pointer-sized words.
 * - Go 1.20+ (`0xfffffff1`) and 1.18/1.19 (`0xfffffff0`): words nfunctab,
 *   nfiletab, textStart, then offsets of funcnametab, cutab, filetab, pctab,
 *   functab. The function table holds `nfunctab` pairs of 32-bit
 *   (entry offset from textStart, offset of the `_func`), then the end offset;
 *   a `_func` starts with a 32-bit entry offset and a 32-bit name offset.
 * - Go 1.16/1.17 (`0xfffffffa`): no textStart word; the table's entries and
 *   the `_func` entry are pointer-sized absolute addresses.
 * - Go 1.2 to 1.15 (`0xfffffffb`): the function table follows the function
 *   count, pointer-sized; offsets are from the start of the pclntab.
 * Either byte order (the magic tells).
 *
 * ```ts
 * const tab = await readPclntab(src, exe);     // null: no pclntab
 * const i = tab ? tab.find(0x401234) : -1;
 * if (i >= 0) console.log(await tab!.name(i));
 * ```
 *
 * @module
 */
import { type Executable, findExecSection } from "./executable.ts";
import type { RandomAccess } from "./random_access.ts";

/** The pclntab versions this reader knows, by magic. */
export const PCLNTAB_MAGICS: Readonly<Record<number, string>> = {
  0xfffffff1: "go1.20",
  0xfffffff0: "go1.18",
  0xfffffffa: "go1.16",
  0xfffffffb: "go1.2",
};

/** Function tables with more entries than this are treated as malformed. */
const MAX_FUNCS = 1 << 22;
/** Longest function name read. */
const MAX_NAME = 4096;

function fail(detail: string): never {
  throw new SyntaxError(`Cannot read the Go pclntab: ${detail}`);
}

/** The functions of a pclntab, sorted by entry address. */
export class Pclntab {
  /** Format by magic: `go1.20`, `go1.18`, `go1.16` or `go1.2`. */
  readonly version: string;
  /** Number of functions. */
  readonly count: number;
  #src: RandomAccess;
  /** File offset of the pclntab. */
  #base: number;
  #size: number;
  #le: boolean;
  #entries: Float64Array;
  #funcOffsets: Float64Array;
  /** File offsets of the `_func` area and the name table. */
  #funcData: number;
  #nameTab: number;
  /** Offset of the name field in a `_func`. */
  #nameField: number;
  #names = new Map<number, string>();

  private constructor(
    init: {
      version: string;
      src: RandomAccess;
      base: number;
      size: number;
      le: boolean;
      entries: Float64Array;
      funcOffsets: Float64Array;
      funcData: number;
      nameTab: number;
      nameField: number;
    },
  ) {
    this.version = init.version;
    this.count = init.funcOffsets.length;
    this.#src = init.src;
    this.#base = init.base;
    this.#size = init.size;
    this.#le = init.le;
    this.#entries = init.entries;
    this.#funcOffsets = init.funcOffsets;
    this.#funcData = init.funcData;
    this.#nameTab = init.nameTab;
    this.#nameField = init.nameField;
  }

  /**
   * Reads the header and function table of the pclntab at file offset
   * `base` (`size` bytes); `textStart` is the address of the text section
   * (Go 1.18+ stores entries relative to it).
   * @throws {SyntaxError} when the header or table is malformed
   */
  static async read(
    src: RandomAccess,
    base: number,
    size: number,
    textStart: number,
  ): Promise<Pclntab> {
    if (size < 16 || base + size > src.size) {
      fail(`the table (offset ${base}, ${size} bytes) is too small or outside the file`);
    }
    const head = await src.read(base, 72);
    const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const leMagic = hv.getUint32(0, true);
    const beMagic = hv.getUint32(0, false);
    const le = leMagic in PCLNTAB_MAGICS;
    const magic = le ? leMagic : beMagic;
    const version = PCLNTAB_MAGICS[magic];
    if (!version) {
      fail(`unknown magic 0x${leMagic.toString(16).padStart(8, "0")}`);
    }
    const quantum = head[6];
    const ptr = head[7];
    if (head[4] !== 0 || head[5] !== 0 || ![1, 2, 4].includes(quantum) || ![4, 8].includes(ptr)) {
      fail(`bad header (quantum ${quantum}, pointer size ${ptr})`);
    }
    const word = (i: number): number => {
      const at = 8 + i * ptr;
      if (at + ptr > head.length) fail("header is truncated");
      const v = ptr === 4 ? hv.getUint32(at, le) : Number(hv.getBigUint64(at, le));
      if (!Number.isSafeInteger(v)) fail(`header word ${i} is too large`);
      return v;
    };
    const nfunc = word(0);
    if (nfunc > MAX_FUNCS) fail(`${nfunc} functions, at most ${MAX_FUNCS}`);
    let tableAt: number;
    let field: number;
    let nameTab: number;
    let funcData: number;
    let nameField: number;
    let relative = 0;
    if (version === "go1.20" || version === "go1.18") {
      relative = textStart || word(2);
      nameTab = word(3);
      funcData = tableAt = word(7);
      field = 4;
      nameField = 4;
    } else if (version === "go1.16") {
      nameTab = word(2);
      funcData = tableAt = word(6);
      field = ptr;
      nameField = ptr;
    } else {
      nameTab = 0;
      funcData = 0;
      tableAt = 8 + ptr;
      field = ptr;
      nameField = ptr;
    }
    const tableSize = (nfunc * 2 + 1) * field;
    if (tableAt + tableSize > size || nameTab >= size || funcData >= size) {
      fail(`the function table (offset ${tableAt}, ${tableSize} bytes) is outside the table`);
    }
    const table = await src.read(base + tableAt, tableSize);
    if (table.length !== tableSize) fail("the function table is truncated");
    const tv = new DataView(table.buffer, table.byteOffset, table.byteLength);
    const get = (i: number) =>
      field === 4 ? tv.getUint32(i * 4, le) : Number(tv.getBigUint64(i * 8, le));
    const entries = new Float64Array(nfunc + 1);
    const funcOffsets = new Float64Array(nfunc);
    for (let i = 0; i < nfunc; i++) {
      entries[i] = get(2 * i) + relative;
      funcOffsets[i] = get(2 * i + 1);
      if (i > 0 && entries[i] < entries[i - 1]) fail(`function ${i} is out of order`);
    }
    entries[nfunc] = get(2 * nfunc) + relative;
    return new Pclntab({
      version,
      src,
      base,
      size,
      le,
      entries,
      funcOffsets,
      funcData,
      nameTab,
      nameField,
    });
  }

  /** Entry address of function `i`. */
  entry(i: number): number {
    return this.#entries[i];
  }

  /** End address of function `i` (the next function's entry, or the table's end). */
  end(i: number): number {
    return this.#entries[i + 1];
  }

  /** Index of the function whose code holds `addr`, -1 when none. */
  find(addr: number): number {
    const e = this.#entries;
    if (this.count === 0 || addr < e[0] || addr >= e[this.count]) return -1;
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (e[mid] <= addr) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Name of function `i`, as `go tool nm` prints it.
   * @throws {SyntaxError} when its `_func` or name lies outside the table
   */
  async name(i: number): Promise<string> {
    const known = this.#names.get(i);
    if (known !== undefined) return known;
    const at = this.#funcData + this.#funcOffsets[i] + this.#nameField;
    if (at + 4 > this.#size) fail(`function ${i} is outside the table`);
    const f = await this.#src.read(this.#base + at, 4);
    const off = new DataView(f.buffer, f.byteOffset, 4).getInt32(0, this.#le);
    const start = this.#nameTab + off;
    if (off < 0 || start >= this.#size) fail(`the name of function ${i} is outside the table`);
    const bytes = await this.#src.read(
      this.#base + start,
      Math.min(MAX_NAME, this.#size - start),
    );
    let end = bytes.indexOf(0);
    if (end < 0) end = bytes.length;
    const name = new TextDecoder().decode(bytes.subarray(0, end));
    if (this.#names.size < 4096) this.#names.set(i, name);
    return name;
  }
}

/**
 * Reads the pclntab of an ELF (`.gopclntab`) or Mach-O (`__TEXT,__gopclntab`)
 * Go binary. Returns `null` when it has none.
 * @throws {SyntaxError} when the table is malformed
 */
export function readPclntab(src: RandomAccess, exe: Executable): Promise<Pclntab | null> {
  const section = findExecSection(exe, ".gopclntab", "__TEXT,__gopclntab");
  if (!section || !section.hasBytes) return Promise.resolve(null);
  const text = findExecSection(exe, ".text", "__TEXT,__text");
  return Pclntab.read(src, section.offset, section.size, text?.addr ?? 0);
}
