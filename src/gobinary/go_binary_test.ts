// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import {
  type BuildInfoDifference,
  type BuildPathKind,
  type BuildPathLeaks,
  buildPathVerdict,
  compareGoBinaries,
  diffGoBuildInfo,
  findBuildPaths,
  formatGoBuildInfo,
  type GoBuildInfo,
  parseGoModInfo,
  quoteGo,
  readGoBuildId,
  readGoBuildInfo,
  unquoteGo,
} from "./go_binary.ts";
import { parseElf } from "./elf.ts";
import { concatBytes } from "../bytes.ts";
import { bytesRandomAccess, fileRandomAccess, type RandomAccess } from "./random_access.ts";
import {
  buildWithProxy,
  copyHello,
  gitCommitAll,
  goBuild,
  type GoBuildOptions,
  goToolBuildId,
  goVersion,
  goVersionM,
  writeDepProxy,
} from "../../tests/fixtures/go/build.ts";

const GO = await goVersion();
const encoder = new TextEncoder();

// ---------------------------------------------------------------------------
// Text format

const MOD_TEXT = [
  "path\texample.com/hello",
  "mod\texample.com/hello\t(devel)\t",
  "dep\tgolang.org/x/sys\tv0.20.0\th1:abc=",
  "dep\texample.com/dep\tv1.0.0",
  "=>\t./dep\t(devel)\t",
  "",
  "build\t-buildmode=exe",
  'build\t-ldflags="-X main.version=1.0.0 -s"',
  "build\t-tags=netgo,osusergo",
  'build\t"odd key"=value',
  "build\tempty=",
  "build\tvcs.modified=true",
  "",
].join("\n");

Deno.test("parseGoModInfo reads every kind of line and formatGoBuildInfo writes them back", () => {
  const parsed = parseGoModInfo(MOD_TEXT);
  assert.deepEqual(parsed, {
    path: "example.com/hello",
    main: { path: "example.com/hello", version: "(devel)", sum: "" },
    deps: [
      { path: "golang.org/x/sys", version: "v0.20.0", sum: "h1:abc=" },
      {
        path: "example.com/dep",
        version: "v1.0.0",
        sum: "",
        replace: { path: "./dep", version: "(devel)", sum: "" },
      },
    ],
    settings: [
      { key: "-buildmode", value: "exe" },
      { key: "-ldflags", value: "-X main.version=1.0.0 -s" },
      { key: "-tags", value: "netgo,osusergo" },
      { key: "odd key", value: "value" },
      { key: "empty", value: "" },
      { key: "vcs.modified", value: "true" },
    ],
  });
  assert.equal(
    formatGoBuildInfo({ goVersion: "go1.26.8", ...parsed }),
    "go\tgo1.26.8\n" + MOD_TEXT,
  );
});

Deno.test("parseGoModInfo rejects malformed lines naming the line", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["mod with one column", "path\tp\nmod\tx\n", "line 2: expected 2 or 3 columns, found 1"],
    ["dep with four columns", "dep\ta\tb\tc\td\n", "line 1: expected 2 or 3 columns, found 4"],
    [
      "replacement first",
      "=>\ta\tb\tc\n",
      "line 1: replacement with no module on the previous line",
    ],
    [
      "replacement columns",
      "dep\ta\tv1\n=>\ta\tb\n",
      "line 2: expected 3 columns for a replacement",
    ],
    ["build without =", "build\tnokey\n", "line 1: build line missing '=' after key"],
    ["build with empty key", "build\t=x\n", "line 1: build line with missing key"],
    ["unquoted value with space", "build\tk=a b\n", 'line 1: unquoted value "a b" must be quoted'],
    ["bad quoted value", 'build\tk="a\\q"\n', "line 1: invalid quoted value in build line"],
    ["bad quoted key", 'build\t"k\n', "line 1: invalid quoted key in build line"],
  ];
  for (const [name, text, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => parseGoModInfo(text),
        (e: Error) =>
          e instanceof SyntaxError &&
          e.message.startsWith("Cannot parse Go build info: " + message),
      );
    });
  }
  await t.step("unknown lines and a last line without newline are skipped, as Go does", () => {
    assert.deepEqual(parseGoModInfo("future\tthing\npath\tp\nbuild\tk=v"), {
      path: "p",
      main: null,
      deps: [],
      settings: [],
    });
  });
});

Deno.test("unquoteGo and quoteGo follow Go string literals", () => {
  const cases: Array<[string, string | null]> = [
    ['"plain"', "plain"],
    ['"tab\\there"', "tab\there"],
    ['"\\x41\\u00e9\\U0001F600\\101"', "Aé😀A"],
    ['"\\xc3\\xa9"', "é"],
    ['"q\\"uote\\\\"', 'q"uote\\'],
    ["`raw \\n`", "raw \\n"],
    ['"unterminated', null],
    ['"bad \\z"', null],
    ['"\\x4"', null],
    ['"inner " quote"', null],
    ["`a`b`", null],
    ["'c'", null],
  ];
  for (const [literal, want] of cases) assert.equal(unquoteGo(literal), want, literal);
  for (const s of ["a b", 'say "hi"', "back\\slash", "nl\n", "\x01", "é"]) {
    assert.equal(unquoteGo(quoteGo(s)), s, JSON.stringify(s));
  }
  assert.equal(quoteGo('-X "a b"\n'), '"-X \\"a b\\"\\n"');
});

// ---------------------------------------------------------------------------
// Synthetic ELF files: the pre-Go 1.18 pointer format cannot be built offline.

const INFO_START = Uint8Array.from([
  0x30,
  0x77,
  0xaf,
  0x0c,
  0x92,
  0x74,
  0x08,
  0x02,
  0x41,
  0xe1,
  0xc1,
  0x07,
  0xe6,
  0xd6,
  0x18,
  0xe6,
]);
const INFO_END = Uint8Array.from([
  0xf9,
  0x32,
  0x43,
  0x31,
  0x86,
  0x18,
  0x20,
  0x72,
  0x00,
  0x82,
  0x42,
  0x10,
  0x41,
  0x16,
  0xd8,
  0xf2,
]);

function cat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

function magic(ptrSize: number, flags: number): Uint8Array {
  const h = new Uint8Array(32);
  h.set([0xff], 0);
  h.set(encoder.encode(" Go buildinf:"), 1);
  h[14] = ptrSize;
  h[15] = flags;
  return h;
}

function uvarint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/**
 * A minimal ELF executable: one writable PT_LOAD mapping `data` at `vaddr`,
 * an optional PT_NOTE, no section headers (so the build info is found through
 * the first writable segment, as Go does for stripped files).
 */
function makeElf(
  o: { is64: boolean; le: boolean; vaddr: number; data: Uint8Array; note?: Uint8Array },
) {
  const ehsize = o.is64 ? 64 : 52;
  const phentsize = o.is64 ? 56 : 32;
  const phnum = o.note ? 2 : 1;
  const dataOff = 0x200;
  const noteOff = dataOff + o.data.length;
  const out = new Uint8Array(noteOff + (o.note?.length ?? 0));
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, o.is64 ? 2 : 1, o.le ? 1 : 2, 1], 0);
  const w = (at: number, n: number) =>
    o.is64 ? v.setBigUint64(at, BigInt(n), o.le) : v.setUint32(at, n, o.le);
  v.setUint16(16, 2, o.le);
  v.setUint16(18, o.is64 ? 62 : 8, o.le);
  v.setUint32(20, 1, o.le);
  w(24, 0);
  w(o.is64 ? 32 : 28, ehsize);
  v.setUint16(o.is64 ? 52 : 40, ehsize, o.le);
  v.setUint16(o.is64 ? 54 : 42, phentsize, o.le);
  v.setUint16(o.is64 ? 56 : 44, phnum, o.le);
  v.setUint16(o.is64 ? 58 : 46, o.is64 ? 64 : 40, o.le);
  const ph = (i: number, type: number, flags: number, off: number, vaddr: number, size: number) => {
    const at = ehsize + i * phentsize;
    v.setUint32(at, type, o.le);
    if (o.is64) {
      v.setUint32(at + 4, flags, o.le);
      [off, vaddr, vaddr, size, size, 16].forEach((n, k) => w(at + 8 + 8 * k, n));
    } else {
      [off, vaddr, vaddr, size, size].forEach((n, k) => w(at + 4 + 4 * k, n));
      v.setUint32(at + 24, flags, o.le);
      v.setUint32(at + 28, 16, o.le);
    }
  };
  ph(0, 1, 6, dataOff, o.vaddr, o.data.length);
  out.set(o.data, dataOff);
  if (o.note) {
    ph(1, 4, 4, noteOff, 0, o.note.length);
    out.set(o.note, noteOff);
  }
  return out;
}

/** Build info data in the pre-1.18 format: header, two Go string headers, the strings. */
function pointerBuildInfo(
  vaddr: number,
  ptrSize: 4 | 8,
  le: boolean,
  version: string,
  mod: Uint8Array,
) {
  const ver = encoder.encode(version);
  const hdrAt = 32;
  const strAt = hdrAt + 4 * ptrSize;
  const data = new Uint8Array(strAt + ver.length + mod.length);
  data.set(magic(ptrSize, le ? 0 : 1), 0);
  const v = new DataView(data.buffer);
  const p = (at: number, n: number) =>
    ptrSize === 4 ? v.setUint32(at, n, le) : v.setBigUint64(at, BigInt(n), le);
  p(16, vaddr + hdrAt);
  p(16 + ptrSize, vaddr + hdrAt + 2 * ptrSize);
  p(hdrAt, vaddr + strAt);
  p(hdrAt + ptrSize, ver.length);
  p(hdrAt + 2 * ptrSize, vaddr + strAt + ver.length);
  p(hdrAt + 3 * ptrSize, mod.length);
  data.set(ver, strAt);
  data.set(mod, strAt + ver.length);
  return data;
}

function goNote(id: string, le: boolean): Uint8Array {
  const desc = encoder.encode(id);
  const padded = (desc.length + 3) & ~3;
  const out = new Uint8Array(16 + padded);
  const v = new DataView(out.buffer);
  v.setUint32(0, 4, le);
  v.setUint32(4, desc.length, le);
  v.setUint32(8, 4, le);
  out.set(encoder.encode("Go\0\0"), 12);
  out.set(desc, 16);
  return out;
}

const FRAMED_MOD = cat(INFO_START, encoder.encode(MOD_TEXT), INFO_END);

Deno.test("readGoBuildInfo reads synthetic binaries in the old pointer format and the inline one", async (t) => {
  const want: GoBuildInfo = { goVersion: "go1.16.15", ...parseGoModInfo(MOD_TEXT) };
  for (const [is64, le] of [[true, true], [false, false], [true, false], [false, true]]) {
    await t.step(`pointers, ${is64 ? 64 : 32}-bit ${le ? "little" : "big"} endian`, async () => {
      const vaddr = 0x10000;
      const data = pointerBuildInfo(vaddr, is64 ? 8 : 4, le, "go1.16.15", FRAMED_MOD);
      const elf = makeElf({ is64, le, vaddr, data });
      assert.deepEqual(await readGoBuildInfo(bytesRandomAccess(elf)), want);
    });
  }
  await t.step("inline strings (Go 1.18+) and a build ID note, 64-bit big endian", async () => {
    const ver = encoder.encode("go1.26.8");
    const data = cat(
      new Uint8Array(48), // the header is found 16-byte aligned, not only at the start
      magic(8, 2),
      uvarint(ver.length),
      ver,
      uvarint(FRAMED_MOD.length),
      FRAMED_MOD,
    );
    const elf = makeElf({
      is64: true,
      le: false,
      vaddr: 0x4000,
      data,
      note: goNote("abc/def", false),
    });
    const src = bytesRandomAccess(elf);
    assert.deepEqual(await readGoBuildInfo(src), { ...want, goVersion: "go1.26.8" });
    assert.equal(await readGoBuildId(src), "abc/def");
  });
  await t.step("module info without sentinels is empty, as Go reads it (GOPATH mode)", async () => {
    const data = pointerBuildInfo(0x10000, 8, true, "go1.10", encoder.encode("path\tx\n"));
    const got = await readGoBuildInfo(
      bytesRandomAccess(makeElf({ is64: true, le: true, vaddr: 0x10000, data })),
    );
    assert.deepEqual(got, { goVersion: "go1.10", path: "", main: null, deps: [], settings: [] });
  });
  await t.step("no build info: not Go, misaligned magic, no version", async () => {
    const noMagic = makeElf({ is64: true, le: true, vaddr: 0x10000, data: new Uint8Array(64) });
    const misaligned = makeElf({
      is64: true,
      le: true,
      vaddr: 0x10000,
      data: cat(
        new Uint8Array(8),
        magic(8, 2),
        uvarint(2),
        encoder.encode("go"),
        new Uint8Array(8),
      ),
    });
    const noVersion = makeElf({
      is64: true,
      le: true,
      vaddr: 0x10000,
      data: cat(magic(8, 2), uvarint(0), uvarint(0), new Uint8Array(8)),
    });
    for (const elf of [noMagic, misaligned, noVersion]) {
      assert.equal(await readGoBuildInfo(bytesRandomAccess(elf)), null);
    }
    assert.equal(await readGoBuildInfo(bytesRandomAccess(encoder.encode("not elf"))), null);
  });
  await t.step("the quoted build ID form at the start of the file (non-ELF, gccgo)", async () => {
    const raw = cat(
      new Uint8Array([1, 2, 3, 0xff]),
      encoder.encode(' Go build ID: "x/y\\"z"\n '),
      new Uint8Array([0xff]),
    );
    assert.equal(await readGoBuildId(bytesRandomAccess(raw)), 'x/y"z');
    assert.equal(await readGoBuildId(bytesRandomAccess(encoder.encode("nothing"))), null);
  });
});

// ---------------------------------------------------------------------------
// Leaked paths

Deno.test("findBuildPaths finds paths wherever chunks split them, with bounded examples", async () => {
  const parts = [
    "\x00\x01junk",
    "/home/alice/src/app/main.go",
    "\x00xyz",
    "/usr/local/go/src/runtime/proc.go",
    "\x00",
    "/usr/local/go/src/runtime/proc.go", // same path again: counted, one example
    "\x00internal/cpu/cpu.go\x00", // trimmed: not absolute
    "\x00/app/cmd/server/main.go\x00", // NUL-anchored source file
    "os/exec/lp_unix.go/etc/passwd", // packed strings, no known prefix: nothing
    "abc/tmp/go-build12345/b001/_pkg_.a",
    "\x00/root/go/pkg/mod/golang.org/x/sys@v0.20.0/unix/syscall.go\x00",
  ];
  const bytes = encoder.encode(parts.join(""));
  const want = {
    count: 6,
    paths: [
      ["/home/alice/src/app/main.go", "home"],
      ["/usr/local/go/src/runtime/proc.go", "goroot"],
      ["/app/cmd/server/main.go", "source"],
      ["/tmp/go-build12345/b001/_pkg_.a", "tmp"],
      ["/root/go/pkg/mod/golang.org/x/sys@v0.20.0/unix/syscall.go", "gomodcache"],
    ],
  };
  for (const chunkSize of [128, 129, 150, 200, 1 << 20]) {
    const got = await findBuildPaths(bytesRandomAccess(bytes), { chunkSize, maxExamples: 10 });
    assert.equal(got.count, want.count, `chunk ${chunkSize}`);
    assert.deepEqual(got.examples.map((e) => [e.path, e.kind]), want.paths, `chunk ${chunkSize}`);
    for (const e of got.examples) {
      assert.equal(
        new TextDecoder().decode(bytes.subarray(e.offset, e.offset + e.path.length)),
        e.path,
      );
    }
  }
  const few = await findBuildPaths(bytesRandomAccess(bytes), { maxExamples: 2, chunkSize: 128 });
  assert.equal(few.count, 6);
  assert.equal(few.examples.length, 2);
});

// ---------------------------------------------------------------------------
// Comparison of build info values

Deno.test("diffGoBuildInfo lists each differing field", () => {
  const a: GoBuildInfo = { goVersion: "go1.26.8", ...parseGoModInfo(MOD_TEXT) };
  const b: GoBuildInfo = structuredClone(a);
  b.goVersion = "go1.26.9";
  b.deps[0].version = "v0.21.0";
  b.deps[0].sum = "h1:def=";
  b.deps.splice(1, 1);
  b.deps.push({ path: "example.com/new", version: "v0.1.0", sum: "h1:n=" });
  b.settings = b.settings.filter((s) => s.key !== "-tags").map((s) =>
    s.key === "vcs.modified" ? { ...s, value: "false" } : s
  );
  b.settings.push({ key: "GOAMD64", value: "v3" });
  const want: BuildInfoDifference[] = [
    { field: "go", key: "go", change: "changed", a: "go1.26.8", b: "go1.26.9" },
    {
      field: "dep",
      key: "example.com/dep",
      change: "removed",
      a: "v1.0.0 => ./dep (devel)",
      b: null,
    },
    { field: "dep", key: "example.com/new", change: "added", a: null, b: "v0.1.0 h1:n=" },
    {
      field: "dep",
      key: "golang.org/x/sys",
      change: "changed",
      a: "v0.20.0 h1:abc=",
      b: "v0.21.0 h1:def=",
    },
    { field: "build", key: "-tags", change: "removed", a: "netgo,osusergo", b: null },
    { field: "build", key: "vcs.modified", change: "changed", a: "true", b: "false" },
    { field: "build", key: "GOAMD64", change: "added", a: null, b: "v3" },
  ];
  assert.deepEqual(diffGoBuildInfo(a, b), want);
  assert.deepEqual(diffGoBuildInfo(a, structuredClone(a)), []);
});

// ---------------------------------------------------------------------------
// Real binaries

interface Variant {
  /** Project copy: "a" and "b" are two directories of the same project. */
  dir: "a" | "b" | "dep11" | "git";
  options: GoBuildOptions;
  /** Make the git tree dirty before building. */
  dirty?: boolean;
}

const BASE_FLAGS = ["-trimpath", "-buildvcs=false", "-ldflags=-X main.version=1.0.0"];
const VARIANTS: Record<string, Variant> = {
  base: { dir: "a", options: { flags: BASE_FLAGS } },
  otherDir: { dir: "b", options: { flags: BASE_FLAGS } },
  noTrimpath: {
    dir: "a",
    options: { flags: ["-buildvcs=false", "-ldflags=-X main.version=1.0.0"] },
  },
  version2: {
    dir: "a",
    options: { flags: ["-trimpath", "-buildvcs=false", "-ldflags=-X main.version=2.0.0"] },
  },
  amd64v3: { dir: "a", options: { flags: BASE_FLAGS, env: { GOAMD64: "v3" } } },
  cgo: { dir: "a", options: { flags: BASE_FLAGS, env: { CGO_ENABLED: "1" } } },
  dep11: { dir: "dep11", options: { flags: BASE_FLAGS } },
  vcsClean: { dir: "git", options: { flags: ["-trimpath", "-buildvcs=true"] } },
  vcsDirty: { dir: "git", options: { flags: ["-trimpath", "-buildvcs=true"] }, dirty: true },
  pie: { dir: "a", options: { flags: [...BASE_FLAGS, "-buildmode=pie"] } },
  stripped: { dir: "a", options: { flags: ["-trimpath", "-buildvcs=false", "-ldflags=-s -w"] } },
  arm64: { dir: "a", options: { flags: BASE_FLAGS, env: { GOARCH: "arm64" } } },
  i386: { dir: "a", options: { flags: BASE_FLAGS, env: { GOARCH: "386" } } },
};

async function open(path: string): Promise<{ src: RandomAccess; close: () => void }> {
  const file = await Deno.open(path);
  return { src: fileRandomAccess(file, (await file.stat()).size), close: () => file.close() };
}

async function compareFiles(a: string, b: string) {
  const x = await open(a);
  const y = await open(b);
  try {
    return await compareGoBinaries(x.src, y.src);
  } finally {
    x.close();
    y.close();
  }
}

Deno.test({
  name:
    "real Go binaries: build info and build ID as go version -m and go tool buildid say, and their differences",
  ignore: !GO,
  fn: async (t) => {
    const tmp = await Deno.makeTempDir({ prefix: "r10e-gobin-" });
    const bin: Record<string, string> = {};
    try {
      await copyHello(`${tmp}/a`);
      await copyHello(`${tmp}/b`);
      await copyHello(`${tmp}/dep11`, { depVersion: "v1.1.0" });
      await copyHello(`${tmp}/git`);
      await gitCommitAll(`${tmp}/git`);
      const gcc = await new Deno.Command("gcc", {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      })
        .output().then((o) => o.success, () => false);
      for (const [name, v] of Object.entries(VARIANTS)) {
        if (name === "cgo" && !gcc) {
          console.log("gcc not found: the CGO_ENABLED=1 variant is not built");
          continue;
        }
        if (v.dirty) await Deno.writeTextFile(`${tmp}/${v.dir}/untracked.txt`, "dirty\n");
        bin[name] = `${tmp}/bin/${name}`;
        await goBuild(`${tmp}/${v.dir}`, bin[name], v.options);
      }

      // Versioned dependencies with h1: sums, from a module proxy on disk.
      const proxy = await writeDepProxy(`${tmp}/proxy`, ["v1.0.0", "v1.1.0"]);
      for (const version of ["v1.0.0", "v1.1.0"]) {
        bin[`proxy-${version}`] = `${tmp}/bin/proxy-${version}`;
        await buildWithProxy(`${tmp}/proxy-${version}`, bin[`proxy-${version}`], {
          proxy,
          version,
          modCache: `${tmp}/modcache`,
          flags: BASE_FLAGS,
        });
      }

      for (const name of Object.keys(bin)) {
        await t.step(`${name}: same as go version -m and go tool buildid`, async () => {
          const { src, close } = await open(bin[name]);
          try {
            const info = await readGoBuildInfo(src);
            assert.ok(info);
            assert.equal(formatGoBuildInfo(info), await goVersionM(bin[name]));
            assert.equal(await readGoBuildId(src), await goToolBuildId(bin[name]));
          } finally {
            close();
          }
        });
      }

      await t.step("same flags in another directory with -trimpath: identical", async () => {
        const d = await compareFiles(bin.base, bin.otherDir);
        assert.equal(d.identical, true);
        assert.deepEqual(d.bytes.offset, null);
        assert.deepEqual(d.buildInfoDifferences, []);
        assert.deepEqual(d.sections, []);
        assert.equal(d.onlyBuildIdDiffers, false);
        assert.equal(d.buildPaths.a.count, 0);
        assert.deepEqual(d.problems, []);
      });

      await t.step("without -trimpath: the setting and the leaked paths", async () => {
        const d = await compareFiles(bin.base, bin.noTrimpath);
        assert.equal(d.identical, false);
        // Go records -ldflags only without -trimpath (they may hold paths).
        assert.deepEqual(d.buildInfoDifferences, [
          { field: "build", key: "-trimpath", change: "removed", a: "true", b: null },
          { field: "build", key: "-ldflags", change: "added", a: null, b: "-X main.version=1.0.0" },
        ]);
        assert.notEqual(d.buildId.a, d.buildId.b);
        assert.equal(d.buildPaths.a.count, 0);
        assert.ok(d.buildPaths.b.count > 10, `count ${d.buildPaths.b.count}`);
        const examples = d.buildPaths.b.examples;
        assert.ok(examples.length <= 5);
        assert.ok(examples.some((e) => e.kind === "goroot"), JSON.stringify(examples));
        assert.ok(examples.some((e) => e.path === `${tmp}/a/main.go`), JSON.stringify(examples));
        assert.ok(d.sections.some((s) => s.name === ".gopclntab" && s.change === "changed"));
      });

      const settingCases: Array<[string, string, BuildInfoDifference[]]> = [
        ["amd64v3", "GOAMD64=v3", [{
          field: "build",
          key: "GOAMD64",
          change: "changed",
          a: "v1",
          b: "v3",
        }]],
        ["dep11", "dependency version", [{
          field: "dep",
          key: "example.com/dep",
          change: "changed",
          a: "v1.0.0 => ./dep (devel)",
          b: "v1.1.0 => ./dep (devel)",
        }]],
      ];
      for (const [name, what, want] of settingCases) {
        await t.step(`${what}: exactly that field differs`, async () => {
          const d = await compareFiles(bin.base, bin[name]);
          assert.equal(d.identical, false);
          assert.deepEqual(d.buildInfoDifferences, want);
          assert.equal(d.onlyBuildIdDiffers, false);
          assert.ok(
            d.sections.some((s) => s.name === ".go.buildinfo"),
            d.sections.map((s) => s.name).join(),
          );
        });
      }

      await t.step(
        "-buildmode=pie: the setting; a position-independent ELF is read too",
        async () => {
          const d = await compareFiles(bin.base, bin.pie);
          assert.deepEqual(d.buildInfoDifferences, [
            { field: "build", key: "-buildmode", change: "changed", a: "exe", b: "pie" },
          ]);
          const { src, close } = await open(bin.pie);
          try {
            assert.equal((await parseElf(src))!.type, 3, "ET_DYN");
          } finally {
            close();
          }
        },
      );

      await t.step("-ldflags=-s -w: symbol and debug sections removed", async () => {
        const d = await compareFiles(bin.base, bin.stripped);
        const removed = d.sections.filter((s) => s.change === "removed").map((s) => s.name);
        assert.ok(removed.includes(".symtab"), removed.join());
        assert.ok(removed.includes(".debug_info"), removed.join());
        assert.ok(d.sections.every((s) => s.change !== "added"));
        assert.equal(d.buildInfo.b!.goVersion, d.buildInfo.a!.goVersion);
      });

      await t.step("a dependency at another version from a proxy: version and sum", async () => {
        const d = await compareFiles(bin["proxy-v1.0.0"], bin["proxy-v1.1.0"]);
        // Golden sums: the h1: hash of the module files writeDepProxy serves.
        assert.deepEqual(d.buildInfoDifferences, [{
          field: "dep",
          key: "example.com/dep",
          change: "changed",
          a: "v1.0.0 h1:whLaiLPrQG6VJKSxoUqSJeVd+Bgb381J/mm9tejuNvQ=",
          b: "v1.1.0 h1:HtRnxekEQRVLg4eKKHsM1YH6n8h4ay8XFWWI2nHM/Q4=",
        }]);
        assert.deepEqual(d.buildInfo.a!.deps, [{
          path: "example.com/dep",
          version: "v1.0.0",
          sum: "h1:whLaiLPrQG6VJKSxoUqSJeVd+Bgb381J/mm9tejuNvQ=",
        }]);
        // The greeting differs too, so the data does.
        assert.ok(d.sections.some((s) => s.name === ".rodata"));
      });

      await t.step(
        "-ldflags=-X main.version=…: not in the build info under -trimpath",
        async () => {
          const d = await compareFiles(bin.base, bin.version2);
          assert.equal(d.identical, false);
          assert.deepEqual(d.buildInfoDifferences, []);
          assert.notEqual(d.buildId.a, d.buildId.b);
          assert.equal(d.onlyBuildIdDiffers, false);
          assert.deepEqual(d.sections.map((s) => s.name), [
            ".note.go.buildid",
            ".note.gnu.build-id",
            ".rodata",
          ]);
        },
      );

      await t.step("GOAMD64=v3 changes the code", async () => {
        const d = await compareFiles(bin.base, bin.amd64v3);
        assert.ok(d.sections.some((s) => s.name === ".text"));
      });

      if (bin.cgo) {
        await t.step("CGO_ENABLED=1: the setting and the CGO_* flags it brings", async () => {
          const d = await compareFiles(bin.base, bin.cgo);
          const cgo = d.buildInfoDifferences.find((x) => x.key === "CGO_ENABLED");
          assert.deepEqual(cgo, {
            field: "build",
            key: "CGO_ENABLED",
            change: "changed",
            a: "0",
            b: "1",
          });
          assert.ok(d.buildInfoDifferences.every((x) => x.field === "build"));
        });
      }

      await t.step("dirty git tree: vcs.modified", async () => {
        const d = await compareFiles(bin.vcsClean, bin.vcsDirty);
        // Go 1.24+ also stamps the main module with a pseudo-version from the commit.
        assert.deepEqual(d.buildInfoDifferences, [
          {
            field: "mod",
            key: "example.com/hello",
            change: "changed",
            a: d.buildInfo.a!.main!.version,
            b: d.buildInfo.a!.main!.version + "+dirty",
          },
          { field: "build", key: "vcs.modified", change: "changed", a: "false", b: "true" },
        ]);
        assert.match(d.buildInfo.a!.main!.version, /^v0\.0\.0-20240102030405-[0-9a-f]{12}$/);
        const settings = new Map(d.buildInfo.a!.settings.map((s) => [s.key, s.value]));
        assert.equal(settings.get("vcs"), "git");
        assert.equal(settings.get("vcs.time"), "2024-01-02T03:04:05Z");
        assert.match(settings.get("vcs.revision") ?? "", /^[0-9a-f]{40}$/);
      });

      await t.step("another GOARCH: GOARCH and the feature level settings", async () => {
        const d = await compareFiles(bin.base, bin.arm64);
        assert.deepEqual(
          d.buildInfoDifferences.map((x) => [x.key, x.a, x.b]),
          [["GOARCH", "amd64", "arm64"], ["GOAMD64", "v1", null], ["GOARM64", null, "v8.0"]],
        );
        const d32 = await compareFiles(bin.base, bin.i386);
        assert.deepEqual(
          d32.buildInfoDifferences.map((x) => [x.key, x.a, x.b]),
          [["GOARCH", "amd64", "386"], ["GOAMD64", "v1", null], ["GO386", null, "sse2"]],
        );
      });

      await t.step("only the build ID differs", async () => {
        const bytes = await Deno.readFile(bin.base);
        const id = await goToolBuildId(bin.base);
        const at = indexOf(bytes, encoder.encode(id));
        assert.ok(at > 0);
        // Change the last character of the ID, and the GNU build ID derived from it, as a
        // real rebuild would.
        const other = id.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
        const patched = bytes.slice();
        patched.set(encoder.encode(other), at);
        const elf = (await parseElf(bytesRandomAccess(bytes)))!;
        const gnu = elf.sections.find((s) => s.name === ".note.gnu.build-id")!;
        patched[gnu.offset + gnu.size - 1] ^= 0xff;
        // Chunk boundaries before, inside and after the ID.
        for (const chunkSize of [256 << 10, at + 5, at + id.length, 4096]) {
          const d = await compareGoBinaries(bytesRandomAccess(bytes), bytesRandomAccess(patched), {
            chunkSize,
          });
          assert.equal(d.identical, false);
          assert.deepEqual(d.buildId, { a: id, b: other });
          assert.deepEqual(d.buildInfoDifferences, []);
          assert.equal(d.onlyBuildIdDiffers, true, `chunk ${chunkSize}`);
          assert.equal(d.bytes.offset, at + id.length - 1);
          assert.deepEqual(d.sections.map((s) => [s.name, s.change]), [
            [".note.go.buildid", "changed"],
            [".note.gnu.build-id", "changed"],
          ]);
        }

        // One more byte elsewhere (in .rodata) and it is no longer the build ID only.
        const ro = elf.sections.find((s) => s.name === ".rodata")!;
        patched[ro.offset + 10] ^= 1;
        const d2 = await compareGoBinaries(bytesRandomAccess(bytes), bytesRandomAccess(patched));
        assert.equal(d2.onlyBuildIdDiffers, false);
        assert.deepEqual(d2.sections.map((s) => s.name), [
          ".note.go.buildid",
          ".note.gnu.build-id",
          ".rodata",
        ]);
      });

      await t.step(
        "corrupted headers or build info never crash: problems or SyntaxError",
        async () => {
          const bytes = await Deno.readFile(bin.base);
          const elf = (await parseElf(bytesRandomAccess(bytes)))!;
          const info = elf.sections.find((s) => s.name === ".go.buildinfo")!;
          // Deterministic PRNG (mulberry32): the same corruptions on every run.
          let seed = 42;
          const random = () => {
            seed = (seed + 0x6d2b79f5) | 0;
            let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
            x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
            return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
          };
          const original = bytesRandomAccess(bytes);
          const outcomes = { ok: 0, syntaxError: 0 };
          let problems = 0;
          for (let i = 0; i < 200; i++) {
            // Headers and notes live in the first 4 KiB; then the build info blob.
            const corrupt = bytes.slice();
            for (let k = 0; k < 3; k++) {
              const at = random() < 0.5
                ? Math.floor(random() * 4096)
                : info.offset + Math.floor(random() * info.size);
              corrupt[at] = Math.floor(random() * 256);
            }
            const src = bytesRandomAccess(corrupt);
            for (const read of [readGoBuildInfo, readGoBuildId]) {
              try {
                await read(src);
                outcomes.ok++;
              } catch (e) {
                assert.ok(e instanceof SyntaxError, String(e));
                outcomes.syntaxError++;
              }
            }
            if (i % 10 === 0) {
              problems += (await compareGoBinaries(original, src)).problems.length;
            }
          }
          assert.ok(outcomes.ok > 0 && outcomes.syntaxError > 0, JSON.stringify(outcomes));
          assert.ok(problems > 0, "some corruptions were reported as problems");
        },
      );

      await t.step("not Go, not ELF, or broken: bytes compared, problems listed", async () => {
        const d = await compareGoBinaries(
          bytesRandomAccess(encoder.encode("abc")),
          bytesRandomAccess(encoder.encode("abd")),
        );
        assert.deepEqual(d.bytes, { sizeA: 3, sizeB: 3, offset: 2 });
        assert.deepEqual(d.buildInfo, { a: null, b: null });
        assert.deepEqual(d.buildId, { a: null, b: null });
        assert.deepEqual([d.sections, d.problems, d.buildInfoDifferences], [[], [], []]);

        const bytes = await Deno.readFile(bin.base);
        const cut = bytes.slice(0, 100_000);
        const broken = await compareGoBinaries(bytesRandomAccess(bytes), bytesRandomAccess(cut));
        assert.deepEqual(broken.bytes, {
          sizeA: bytes.length,
          sizeB: cut.length,
          offset: cut.length,
        });
        assert.equal(broken.buildInfo.b, null);
        assert.equal(broken.problems.length, 1);
        assert.match(
          broken.problems[0],
          /^Cannot read the headers of b: Cannot read ELF: section \d+ .* is outside the file/,
        );
        await assert.rejects(readGoBuildInfo(bytesRandomAccess(cut)), SyntaxError);
      });
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("buildPathVerdict: build-machine paths that differ or were not trimmed", async (t) => {
  const info = (trimpath: boolean): GoBuildInfo => ({
    goVersion: "go1.26.8",
    path: "example.com/hello",
    main: null,
    deps: [],
    settings: trimpath ? [{ key: "-trimpath", value: "true" }] : [],
  });
  const leaks = (...paths: Array<[string, BuildPathKind]>): BuildPathLeaks => ({
    count: paths.length,
    examples: paths.map(([path, kind]) => ({ offset: 0, path, kind })),
    paths: paths.map(([path, kind]) => ({ path, kind })),
  });
  await t.step("a literal both -trimpath binaries hold is no build path", () => {
    const l = leaks(["/home/user/x", "home"]);
    assert.deepEqual(buildPathVerdict(info(true), info(true), { a: l, b: l }), {
      paths: [],
      reason: null,
    });
  });
  await t.step("a path only one binary holds differs", () => {
    const a = leaks(["/home/user/x", "home"], ["/tmp/build-1/main.go", "tmp"]);
    const b = leaks(["/home/user/x", "home"], ["/tmp/build-2/main.go", "tmp"]);
    assert.deepEqual(buildPathVerdict(info(true), info(true), { a, b }), {
      paths: ["/tmp/build-1/main.go", "/tmp/build-2/main.go"],
      reason: "differ",
    });
  });
  await t.step("without -trimpath every build-machine path counts, GOROOT last", () => {
    const l = leaks(["/usr/local/go/src/runtime/proc.go", "goroot"], [
      "/src/app/main.go",
      "source",
    ]);
    assert.deepEqual(buildPathVerdict(info(false), info(true), { a: l, b: l }), {
      paths: ["/src/app/main.go", "/usr/local/go/src/runtime/proc.go"],
      reason: "not trimmed",
    });
  });
});
