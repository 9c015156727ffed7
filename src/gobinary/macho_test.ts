// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { compareGoBinaries } from "./go_binary.ts";
import { parseMachO, readMachOSymbols } from "./macho.ts";
import { bytesRandomAccess } from "./random_access.ts";

/**
 * A Mach-O file in either byte order and class: one segment with a section,
 * a symbol table with two symbols, a UUID. Real darwin binaries (64-bit
 * little endian) are read in symbols_test.ts; this covers the other layouts.
 */
function tinyMachO(is64: boolean, le: boolean): Uint8Array {
  const w = is64 ? 8 : 4;
  const headerSize = is64 ? 32 : 28;
  const segSize = 24 + 4 * w + 16 + (is64 ? 80 : 68);
  const cmds = segSize + 24 + 24;
  const symoff = 1024;
  const nlist = is64 ? 16 : 12;
  const stroff = symoff + 2 * nlist;
  const strings = "\0_main.main\0_go:buildid\0";
  const out = new Uint8Array(2048);
  const v = new DataView(out.buffer);
  const u32 = (at: number, x: number) => v.setUint32(at, x, le);
  const word = (at: number, x: number) => (is64 ? v.setBigUint64(at, BigInt(x), le) : u32(at, x));
  const name = (at: number, s: string) => out.set(new TextEncoder().encode(s), at);
  u32(0, is64 ? 0xfeedfacf : 0xfeedface);
  u32(4, is64 ? 0x0100000c : 12);
  u32(12, 2);
  u32(16, 3);
  u32(20, cmds);
  let at = headerSize;
  u32(at, is64 ? 0x19 : 0x1);
  u32(at + 4, segSize);
  name(at + 8, "__TEXT");
  word(at + 24, 0x100000000 % 2 ** (8 * w));
  word(at + 24 + w, 0x1000);
  word(at + 24 + 2 * w, 0);
  word(at + 24 + 3 * w, 0x800);
  u32(at + 24 + 4 * w + 4, 5);
  u32(at + 24 + 4 * w + 8, 1);
  const sect = at + 24 + 4 * w + 16;
  name(sect, "__text");
  name(sect + 16, "__TEXT");
  word(sect + 32, 0x100000000 % 2 ** (8 * w) + 0x400);
  word(sect + 32 + w, 0x100);
  u32(sect + 32 + 2 * w, 0x400);
  u32(sect + 32 + 2 * w + 16, 0x80000400);
  at += segSize;
  u32(at, 0x2);
  u32(at + 4, 24);
  u32(at + 8, symoff);
  u32(at + 12, 2);
  u32(at + 16, stroff);
  u32(at + 20, strings.length);
  at += 24;
  u32(at, 0x1b);
  u32(at + 4, 24);
  out.fill(0xab, at + 8, at + 24);
  for (const [i, [strx, addr]] of [[1, 0x400], [12, 0x480]].entries()) {
    const s = symoff + i * nlist;
    u32(s, strx);
    out[s + 4] = 0x0f; // N_SECT | N_EXT
    out[s + 5] = 1;
    const value = 0x100000000 % 2 ** (8 * w) + addr;
    if (is64) v.setBigUint64(s + 8, BigInt(value), le);
    else u32(s + 8, value);
  }
  name(stroff, strings);
  return out;
}

Deno.test("parseMachO reads 32 and 64 bit files of either byte order", async (t) => {
  for (const is64 of [true, false]) {
    for (const le of [true, false]) {
      await t.step(`${is64 ? 64 : 32}-bit ${le ? "little" : "big"} endian`, async () => {
        const src = bytesRandomAccess(tinyMachO(is64, le));
        const m = (await parseMachO(src))!;
        const base = is64 ? 0x100000000 : 0;
        assert.equal(m.class, is64 ? 64 : 32);
        assert.equal(m.endian, le ? "little" : "big");
        assert.equal(m.cpuName, is64 ? "arm64" : "arm");
        assert.deepEqual(m.segments.map((s) => [s.name, s.vmaddr, s.filesize, s.initprot]), [
          ["__TEXT", base, 0x800, 5],
        ]);
        assert.deepEqual(m.sections, [{
          index: 1,
          name: "__text",
          segment: "__TEXT",
          addr: base + 0x400,
          size: 0x100,
          offset: 0x400,
          flags: 0x80000400,
          hasBytes: true,
        }]);
        const headerSize = is64 ? 32 : 28;
        const segSize = 24 + 4 * (is64 ? 8 : 4) + 16 + (is64 ? 80 : 68);
        assert.deepEqual(m.uuid, { offset: headerSize + segSize + 24 + 8, size: 16 });
        assert.equal(m.codeSignature, null);
        const syms = await readMachOSymbols(src, m);
        assert.deepEqual(syms.map((s) => [s.name, s.value, s.sect]), [
          ["main.main", base + 0x400, 1],
          ["_go:buildid", base + 0x480, 1],
        ]);
      });
    }
  }
});

/** A 64-bit little-endian Mach-O header with the given load commands. */
function machO(commands: Uint8Array[]): Uint8Array {
  const size = commands.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(32 + size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xfeedfacf, true);
  v.setUint32(4, 0x0100000c, true);
  v.setUint32(12, 2, true);
  v.setUint32(16, commands.length, true);
  v.setUint32(20, size, true);
  let at = 32;
  for (const c of commands) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function command(cmd: number, size: number, fill = size): Uint8Array {
  const out = new Uint8Array(fill);
  const v = new DataView(out.buffer);
  v.setUint32(0, cmd, true);
  v.setUint32(4, size, true);
  return out;
}

Deno.test("parseMachO: malformed headers give one exact message, never a crash", async (t) => {
  const cases: Array<[string, Uint8Array, string]> = [
    [
      "truncated header",
      machO([]).slice(0, 20),
      "Cannot read Mach-O: header (offset 0, 32 bytes) is outside the file (20 bytes)",
    ],
    [
      "load commands past the end",
      machO([command(0x1b, 24)]).slice(0, 40),
      "Cannot read Mach-O: load commands (offset 32, 24 bytes) is outside the file (40 bytes)",
    ],
    [
      "a command smaller than its header",
      machO([command(0x1b, 4, 24)]),
      "Cannot read Mach-O: load command 0 (offset 32) has size 4",
    ],
    [
      "a command past the load commands",
      machO([command(0x1b, 48, 24)]),
      "Cannot read Mach-O: load command 0 (offset 32) has size 48",
    ],
    [
      "an LC_SYMTAB too short",
      machO([command(0x2, 16)]),
      "Cannot read Mach-O: load command 0 (0x2) has size 16, below 24",
    ],
    [
      "a segment outside the file",
      (() => {
        const seg = command(0x19, 72);
        new DataView(seg.buffer).setBigUint64(40, 4096n, true); // fileoff
        new DataView(seg.buffer).setBigUint64(48, 10n, true); // filesize
        return machO([seg]);
      })(),
      "Cannot read Mach-O: segment  (offset 4096, 10 bytes) is outside the file (104 bytes)",
    ],
  ];
  for (const [name, bytes, message] of cases) {
    await t.step(name, async () => {
      await assert.rejects(parseMachO(bytesRandomAccess(bytes)), { name: "SyntaxError", message });
    });
  }
  await t.step("not Mach-O", async () => {
    assert.equal(
      await parseMachO(bytesRandomAccess(new TextEncoder().encode("#!/bin/sh\n"))),
      null,
    );
  });
  await t.step("compareGoBinaries lists the problem instead of throwing", async () => {
    const bad = bytesRandomAccess(machO([command(0x1b, 4, 24)]));
    const good = bytesRandomAccess(machO([command(0x1b, 24)]));
    const diff = await compareGoBinaries(good, bad);
    assert.deepEqual(diff.problems, [
      "Cannot read the headers of b: Cannot read Mach-O: load command 0 (offset 32) has size 4",
    ]);
    assert.equal(diff.identical, false);
  });
});
