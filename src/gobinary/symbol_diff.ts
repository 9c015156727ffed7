/**
 * Names what differs inside two binaries: the file ranges that differ
 * (collected chunk by chunk during the one pass `compareGoBinaries` makes),
 * the symbols those ranges fall in, the Go string variables stamped at link
 * time (`-ldflags=-X`) with both values, and, for stripped binaries, the
 * printable strings that differ near the differing ranges (DESIGN: "a Go
 * string variable differs (symbol + both values)").
 *
 * What Go emits for `-X importpath.name=value` (checked with `go tool nm` on
 * go1.26 linux/amd64, linux/arm64, darwin/amd64, darwin/arm64): the variable
 * `importpath.name` stays a string header `{ptr, len}` in `.data`
 * (`__DATA,__data`), and the linker adds a read-only symbol
 * `importpath.name.str` holding the bytes (`.rodata`, `__TEXT,__rodata`),
 * which the header points to. `runtime.buildVersion.str` and
 * `runtime.modinfo.str` are made the same way by the linker itself (the Go
 * version and the build info). With `-s -w` neither name is left; the bytes
 * are where they were.
 *
 * Memory: at most {@linkcode MAX_RANGES} ranges (two numbers each), the
 * differing symbols' indexes, and bounded windows of bytes for strings.
 *
 * @module
 */
// Buffer#equals is a memcmp: most chunks of two builds are equal.
import { Buffer } from "node:buffer";
import { addressOfOffset, type Executable, readAddress } from "./executable.ts";
import type { RandomAccess } from "./random_access.ts";
import type { SymbolSource, SymbolTable } from "./symbols.ts";

/** Ranges kept; past this many, the last one grows to cover the rest. */
export const MAX_RANGES = 1 << 16;
/** Ranges closer than this are merged. */
const GAP = 16;
/** Block sizes the differing chunks are compared in, largest first. */
const BLOCKS = [4096, 256, 16];

/** A file range `[start, end)`. */
export type Range = { start: number; end: number };

/** Collects the ranges where two files differ, from same-offset chunk pairs given in order. */
export class RangeCollector {
  #ranges: Range[] = [];
  #max: number;
  /** Bytes that differ (at the same offsets, plus the longer file's tail). */
  differingBytes = 0;

  constructor(max = MAX_RANGES) {
    this.#max = max;
  }

  /** Adds the chunk pair at file offset `pos` (the shorter side may end early). */
  update(pos: number, x: Uint8Array, y: Uint8Array): void {
    const n = Math.min(x.length, y.length);
    const bx = Buffer.from(x.buffer, x.byteOffset, n);
    const by = Buffer.from(y.buffer, y.byteOffset, n);
    if (n > 0 && !bx.equals(by)) this.#scan(pos, x, y, bx, by, 0, n, BLOCKS[0], 0);
    const longer = Math.max(x.length, y.length);
    if (longer > n) this.#add(pos + n, pos + longer);
  }

  /**
   * Finds the differing bytes of `[from, to)`: blocks that compare equal
   * (a memcmp, no allocation) are skipped, the others are looked at in
   * smaller blocks, down to a byte loop. Measured on a 49 MB binary with
   * one byte in every 4 KiB flipped: 330 ms with a byte loop over every
   * differing chunk, a tenth of that with blocks.
   */
  #scan(
    pos: number,
    x: Uint8Array,
    y: Uint8Array,
    bx: Buffer,
    by: Buffer,
    from: number,
    to: number,
    block: number,
    level: number,
  ): void {
    if (block <= 1) {
      for (let i = from; i < to; i++) {
        if (x[i] === y[i]) continue;
        let j = i + 1;
        while (j < to && x[j] !== y[j]) j++;
        this.#add(pos + i, pos + j);
        i = j;
      }
      return;
    }
    for (let at = from; at < to; at += block) {
      const end = Math.min(to, at + block);
      if (by.compare(bx, at, end, at, end) === 0) continue;
      this.#scan(pos, x, y, bx, by, at, end, BLOCKS[level + 1] ?? 1, level + 1);
    }
  }

  #add(start: number, end: number): void {
    this.differingBytes += end - start;
    const last = this.#ranges[this.#ranges.length - 1];
    if (last && (start - last.end < GAP || this.#ranges.length >= this.#max)) {
      last.end = end;
      return;
    }
    this.#ranges.push({ start, end });
  }

  /** The ranges in file order. */
  ranges(): Range[] {
    return this.#ranges;
  }
}

/** Removes the parts of `ranges` inside `masks` (build IDs, code signatures). */
export function withoutMasks(ranges: Range[], masks: { offset: number; size: number }[]): Range[] {
  if (masks.length === 0) return ranges;
  const sorted = [...masks].sort((p, q) => p.offset - q.offset);
  const out: Range[] = [];
  for (const r of ranges) {
    let start = r.start;
    for (const m of sorted) {
      const mEnd = m.offset + m.size;
      if (mEnd <= start || m.offset >= r.end) continue;
      if (m.offset > start) out.push({ start, end: m.offset });
      start = Math.max(start, mEnd);
    }
    if (start < r.end) out.push({ start, end: r.end });
  }
  return out;
}

/** One symbol whose bytes differ. */
export interface DifferingSymbol {
  /** Symbol name (a function name when the source is the pclntab). */
  name: string;
  /** Its section (`.rodata`, `__DATA,__data`). */
  section: string;
}

/** The symbols the differing ranges fall in. */
export interface SymbolDifferences {
  /** Where the names come from: `symtab`, `pclntab` (stripped: functions only) or `none`. */
  source: SymbolSource;
  /** How many distinct symbols differ. */
  count: number;
  /** The first of them in address order (at most `maxSymbols`). */
  symbols: DifferingSymbol[];
  /** Differing ranges that fall in no symbol, and their bytes. */
  unnamed: { ranges: number; bytes: number };
}

/**
 * Maps differing file ranges of binary `a` to the symbols of `a` that hold
 * them: each range is turned into an address through its section, then the
 * symbols overlapping it are found by binary search.
 */
export async function mapRangesToSymbols(
  ranges: Range[],
  exe: Executable,
  syms: SymbolTable,
  options: { maxSymbols?: number } = {},
): Promise<SymbolDifferences> {
  const max = options.maxSymbols ?? 20;
  const hit = new Set<number>();
  const order: number[] = [];
  const unnamed = { ranges: 0, bytes: 0 };
  for (const r of ranges) {
    // A range may cross sections: walk it section by section.
    for (let start = r.start; start < r.end;) {
      const at = addressOfOffset(exe, start);
      if (!at) {
        unnamed.ranges++;
        unnamed.bytes += r.end - start;
        break;
      }
      const secEnd = at.section.offset + at.section.size;
      const end = Math.min(r.end, secEnd);
      let named = false;
      if (at.addr >= 0 && syms.count > 0) {
        const addrEnd = at.addr + (end - start);
        let i = syms.find(at.addr);
        if (i < 0) i = firstFrom(syms, at.addr);
        for (; i >= 0 && i < syms.count && syms.addr(i) < addrEnd; i++) {
          if (syms.addr(i) + Math.max(syms.size(i), 1) <= at.addr) continue;
          named = true;
          if (!hit.has(i)) {
            hit.add(i);
            order.push(i);
          }
        }
      }
      if (!named) {
        unnamed.ranges++;
        unnamed.bytes += end - start;
      }
      start = end;
    }
  }
  order.sort((x, y) => syms.addr(x) - syms.addr(y));
  const symbols: DifferingSymbol[] = [];
  for (const i of order.slice(0, max)) {
    const s = syms.section(i);
    symbols.push({ name: await syms.name(i), section: sectionName(exe, syms, i, s) });
  }
  return { source: syms.source, count: hit.size, symbols, unnamed };
}

function sectionName(exe: Executable, syms: SymbolTable, i: number, s: number): string {
  if (s >= 0 && s < exe.sections.length) return exe.sections[s].name;
  const a = syms.addr(i);
  return exe.sections.find((x) => x.loaded && x.addr <= a && a < x.addr + x.size)?.name ?? "";
}

/** Lowest index whose address is at least `addr`. */
function firstFrom(syms: SymbolTable, addr: number): number {
  let lo = 0;
  let hi = syms.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (syms.addr(mid) < addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------
// Strings stamped with -ldflags=-X

/** A Go string variable whose value differs, as `-ldflags=-X` stamps them. */
export interface StampedString {
  /** The variable, for example `main.buildTime` (its `.str` suffix dropped). */
  symbol: string;
  /** Its value in a, `null` when a has no such variable. */
  a: string | null;
  /** Its value in b, `null` when b has no such variable. */
  b: string | null;
}

/** Longest value read. */
const MAX_VALUE = 4096;

/** The `X.str` symbols of a table and the index of each base `X`, by base name. */
async function stringSymbols(
  syms: SymbolTable,
): Promise<Map<string, { str: number; header: number }>> {
  const out = new Map<string, { str: number; header: number }>();
  if (syms.source !== "symtab") return out;
  for (const i of await syms.withSuffix(".str")) {
    const n = await syms.name(i);
    // The linker's own stamps are the build info and the Go version, compared elsewhere.
    if (!n.startsWith("runtime.")) out.set(n.slice(0, -4), { str: i, header: -1 });
  }
  if (out.size === 0) return out;
  for (const [n, i] of await syms.named(new Set(out.keys()))) out.get(n)!.header = i;
  return out;
}

/**
 * Reads the value of a stamped string: through its header `{ptr, len}` when
 * it points into the `.str` symbol, else the `.str` bytes up to a NUL.
 */
async function readStamp(
  src: RandomAccess,
  exe: Executable,
  syms: SymbolTable,
  e: { str: number; header: number },
): Promise<string> {
  const decoder = new TextDecoder();
  const strAddr = syms.addr(e.str);
  if (e.header >= 0) {
    const p = exe.ptrSize;
    const h = await readAddress(src, exe, syms.addr(e.header), 2 * p);
    if (h && h.length === 2 * p) {
      const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
      const le = exe.endian === "little";
      const ptr = p === 8 ? Number(v.getBigUint64(0, le)) : v.getUint32(0, le);
      const len = p === 8 ? Number(v.getBigUint64(8, le)) : v.getUint32(4, le);
      if (ptr === strAddr && len <= MAX_VALUE) {
        const bytes = await readAddress(src, exe, ptr, len);
        if (bytes && bytes.length === len) return decoder.decode(bytes);
      }
    }
  }
  const size = Math.min(MAX_VALUE, Math.max(syms.size(e.str), 0));
  const bytes = (await readAddress(src, exe, strAddr, size)) ?? new Uint8Array();
  const nul = bytes.indexOf(0);
  return decoder.decode(nul >= 0 ? bytes.subarray(0, nul) : bytes);
}

/**
 * The string variables stamped at link time (`X.str` symbols, see the module
 * doc) whose values differ between a and b, in a's address order, then those
 * only b has. Empty when either binary has no symbol table.
 */
export async function stampedStrings(
  a: { src: RandomAccess; exe: Executable; syms: SymbolTable },
  b: { src: RandomAccess; exe: Executable; syms: SymbolTable },
): Promise<StampedString[]> {
  const [ma, mb] = await Promise.all([stringSymbols(a.syms), stringSymbols(b.syms)]);
  const out: StampedString[] = [];
  for (const [name, ea] of ma) {
    const eb = mb.get(name);
    const va = await readStamp(a.src, a.exe, a.syms, ea);
    const vb = eb ? await readStamp(b.src, b.exe, b.syms, eb) : null;
    if (va !== vb) out.push({ symbol: name, a: va, b: vb });
  }
  for (const [name, eb] of mb) {
    if (!ma.has(name)) {
      out.push({ symbol: name, a: null, b: await readStamp(b.src, b.exe, b.syms, eb) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Printable strings near the differing ranges (stripped binaries)

/** Printable strings found near the differing ranges in only one of the binaries. */
export interface StringDifferences {
  /** Strings only a has, in file order (at most `maxStrings`). */
  a: string[];
  /** Strings only b has, in file order (at most `maxStrings`). */
  b: string[];
}

/** Bytes read around each range to find where its strings start and end. */
const CONTEXT = 256;
/** Bytes of windows read per side, in all. */
const WINDOW_BUDGET = 1 << 20;
/**
 * Ranges looked at: the first ones in file order. A stamp moves what follows
 * it, so the values are in the first ranges of a section; past these, reads
 * only cost time (measured: 12,000 ranges took 9 s, bench/go_symbols.ts).
 */
const MAX_STRING_RANGES = 256;
/** Bytes of one range looked at, from its start. */
const MAX_WINDOW = 64 << 10;
/** Windows closer than this are read in one piece, up to CLUSTER_SIZE bytes. */
const CLUSTER_GAP = 64 << 10;
const CLUSTER_SIZE = 1 << 20;
/** Shortest string, as `strings` has it. */
const MIN_STRING = 4;
/** Longest string kept. */
const MAX_STRING_SHOWN = 200;

function isPrintable(b: number): boolean {
  return (b >= 0x20 && b < 0x7f) || b === 0x09;
}

/**
 * The printable strings (at least 4 characters, as `strings` finds them)
 * that overlap a differing range of a data section (not code, not the
 * pclntab, not DWARF, not the symbol tables) in a or in b, minus those both hold: for a stripped
 * binary, the values that differ. Ranges are file offsets, the same in both.
 */
export async function differingStrings(
  a: { src: RandomAccess; exe: Executable },
  b: { src: RandomAccess },
  ranges: Range[],
  options: { maxStrings?: number } = {},
): Promise<StringDifferences> {
  const max = options.maxStrings ?? 10;
  const found: [Map<string, number>, Map<string, number>] = [new Map(), new Map()];
  const firstSeen: [string[], string[]] = [[], []];
  // Windows around the first ranges of data sections, a long range cut to its start
  // (where a moved value begins); close windows are read together, once per side.
  const windows: { from: number; to: number; start: number; end: number }[] = [];
  let budget = WINDOW_BUDGET;
  for (const r of ranges) {
    const at = addressOfOffset(a.exe, r.start);
    // The pclntab holds function and file names: moved, not changed, when a stamp grows.
    if (!at || !at.section.loaded || at.section.code || /gopclntab$/.test(at.section.name)) {
      continue;
    }
    if (windows.length >= MAX_STRING_RANGES) break;
    const sec = at.section;
    const end = Math.min(r.end, r.start + MAX_WINDOW);
    const from = Math.max(sec.offset, r.start - CONTEXT);
    const to = Math.min(sec.offset + sec.size, end + CONTEXT);
    if (to - from > budget) break;
    budget -= to - from;
    windows.push({ from, to, start: r.start, end });
  }
  const sides = [a.src, b.src];
  for (let i = 0; i < windows.length;) {
    let j = i + 1;
    while (
      j < windows.length && windows[j].from - windows[j - 1].to < CLUSTER_GAP &&
      windows[j].to - windows[i].from <= CLUSTER_SIZE
    ) j++;
    const from = windows[i].from;
    const to = Math.max(...windows.slice(i, j).map((w) => w.to));
    for (const side of [0, 1] as const) {
      const bytes = await sides[side].read(from, to - from);
      for (const w of windows.slice(i, j)) {
        const window = bytes.subarray(w.from - from, w.to - from);
        for (const s of stringsOverlapping(window, w.start - w.from, w.end - w.from)) {
          const n = found[side].get(s) ?? 0;
          if (n === 0) firstSeen[side].push(s);
          found[side].set(s, n + 1);
        }
      }
    }
    i = j;
  }
  const only = (x: 0 | 1): string[] => {
    const out: string[] = [];
    const other = found[1 - x];
    for (const s of firstSeen[x]) {
      if ((found[x].get(s) ?? 0) > (other.get(s) ?? 0) && out.length < max) out.push(s);
    }
    return out;
  };
  return { a: only(0), b: only(1) };
}

/** Printable runs of at least 4 bytes in `bytes` that overlap `[start, end)`. */
function stringsOverlapping(bytes: Uint8Array, start: number, end: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (!isPrintable(bytes[i])) {
      i++;
      continue;
    }
    let j = i;
    while (j < bytes.length && isPrintable(bytes[j])) j++;
    if (j - i >= MIN_STRING && i < end && j > start) {
      let s = "";
      for (let k = i; k < Math.min(j, i + MAX_STRING_SHOWN); k++) {
        s += String.fromCharCode(bytes[k]);
      }
      out.push(s);
    }
    i = j;
  }
  return out;
}
