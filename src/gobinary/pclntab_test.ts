// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { Pclntab } from "./pclntab.ts";
import { bytesRandomAccess } from "./random_access.ts";

/**
 * Writes a pclntab of one of the layouts Go's `debug/gosym` reads (see the
 * module doc of pclntab.ts): real binaries of Go before 1.18 cannot be built
 * offline, so the older layouts are tested on tables written here.
 */
function pclntab(
  version: "go1.20" | "go1.18" | "go1.16" | "go1.2",
  funcs: { entry: number; name: string }[],
  end: number,
  options: { le?: boolean; ptr?: 4 | 8; textStart?: number } = {},
): Uint8Array {
  const le = options.le ?? true;
  const ptr = options.ptr ?? 8;
  const textStart = options.textStart ?? 0;
  const magic =
    { "go1.20": 0xfffffff1, "go1.18": 0xfffffff0, "go1.16": 0xfffffffa, "go1.2": 0xfffffffb }[
      version
    ];
  const out = new Uint8Array(4096);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic, le);
  out[6] = 1;
  out[7] = ptr;
  const word = (at: number, x: number) =>
    ptr === 8 ? v.setBigUint64(at, BigInt(x), le) : v.setUint32(at, x, le);
  const n = funcs.length;
  const names = 1024;
  const enc = new TextEncoder();
  const nameOffsets: number[] = [];
  let at = names;
  for (const f of funcs) {
    nameOffsets.push(at - (version === "go1.2" ? 0 : names));
    out.set(enc.encode(f.name), at);
    at += f.name.length + 1;
  }
  const table = version === "go1.2" ? 8 + ptr : 256;
  const relative = version === "go1.20" || version === "go1.18";
  const field = relative ? 4 : ptr;
  const set = (i: number, x: number) =>
    field === 4 ? v.setUint32(table + i * 4, x, le) : word(table + i * ptr, x);
  const funcArea = 2048;
  for (const [i, f] of funcs.entries()) {
    const rel = relative ? f.entry - textStart : f.entry;
    set(2 * i, rel);
    // _func offsets: from the table (Go 1.16+) or from the start of the pclntab (1.2).
    const funcAt = funcArea + i * 16;
    set(2 * i + 1, version === "go1.2" ? funcAt : funcAt - table);
    if (relative) v.setUint32(funcAt, rel, le);
    else word(funcAt, f.entry);
    v.setInt32(funcAt + field, nameOffsets[i], le);
  }
  set(2 * n, relative ? end - textStart : end);
  word(8, n);
  if (version === "go1.20" || version === "go1.18") {
    word(8 + 2 * ptr, textStart);
    word(8 + 3 * ptr, names);
    word(8 + 7 * ptr, table);
  } else if (version === "go1.16") {
    word(8 + 2 * ptr, names);
    word(8 + 6 * ptr, table);
  }
  return out;
}

const FUNCS = [
  { entry: 0x401000, name: "internal/abi.Kind.String" },
  { entry: 0x401040, name: "runtime.main" },
  { entry: 0x401200, name: "main.main" },
];

Deno.test("Pclntab reads every layout and byte order", async (t) => {
  const cases = [
    { version: "go1.20", le: true, ptr: 8 },
    { version: "go1.20", le: false, ptr: 8 },
    { version: "go1.18", le: true, ptr: 4 },
    { version: "go1.16", le: true, ptr: 8 },
    { version: "go1.16", le: false, ptr: 4 },
    { version: "go1.2", le: true, ptr: 8 },
    { version: "go1.2", le: false, ptr: 4 },
  ] as const;
  for (const c of cases) {
    await t.step(`${c.version}, ${c.le ? "little" : "big"} endian, ${c.ptr * 8}-bit`, async () => {
      const bytes = pclntab(c.version, FUNCS, 0x401300, { ...c, textStart: 0x401000 });
      const tab = await Pclntab.read(bytesRandomAccess(bytes), 0, bytes.length, 0x401000);
      assert.equal(tab.version, c.version);
      assert.equal(tab.count, 3);
      for (const [i, f] of FUNCS.entries()) {
        assert.equal(tab.entry(i), f.entry);
        assert.equal(await tab.name(i), f.name);
      }
      assert.equal(tab.end(2), 0x401300);
      assert.equal(tab.find(0x401000), 0);
      assert.equal(tab.find(0x40103f), 0);
      assert.equal(tab.find(0x401040), 1);
      assert.equal(tab.find(0x4012ff), 2);
      assert.equal(tab.find(0x401300), -1, "past the end");
      assert.equal(tab.find(0x400fff), -1, "before the start");
    });
  }
});

Deno.test("Pclntab: malformed tables are exact errors", async (t) => {
  const good = () => pclntab("go1.20", FUNCS, 0x401300, { textStart: 0x401000 });
  const cases: Array<[string, (b: Uint8Array) => Uint8Array, string]> = [
    [
      "too small",
      (b) => b.slice(0, 8),
      "the table (offset 0, 8 bytes) is too small or outside the file",
    ],
    ["unknown magic", (b) => (b.set([1, 2, 3, 4]), b), "unknown magic 0x04030201"],
    ["bad pointer size", (b) => (b[7] = 3, b), "bad header (quantum 1, pointer size 3)"],
    [
      "a function table outside the table",
      (b) => (new DataView(b.buffer).setBigUint64(8 + 7 * 8, 5000n, true), b),
      "the function table (offset 5000, 28 bytes) is outside the table",
    ],
    [
      "functions out of order",
      (b) => (new DataView(b.buffer).setUint32(256 + 16, 0x10, true), b),
      "function 2 is out of order",
    ],
  ];
  for (const [name, corrupt, detail] of cases) {
    await t.step(name, async () => {
      const bytes = corrupt(good());
      await assert.rejects(Pclntab.read(bytesRandomAccess(bytes), 0, bytes.length, 0x401000), {
        name: "SyntaxError",
        message: `Cannot read the Go pclntab: ${detail}`,
      });
    });
  }
  await t.step("a name outside the table", async () => {
    const bytes = good();
    new DataView(bytes.buffer).setInt32(2048 + 16 + 4, 10_000, true);
    const tab = await Pclntab.read(bytesRandomAccess(bytes), 0, bytes.length, 0x401000);
    assert.equal(await tab.name(0), FUNCS[0].name);
    await assert.rejects(tab.name(1), {
      name: "SyntaxError",
      message: "Cannot read the Go pclntab: the name of function 1 is outside the table",
    });
  });
});
