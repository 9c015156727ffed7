// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { parseExecutable } from "./executable.ts";
import {
  compareGoBinaries,
  formatGoBuildInfo,
  readGoBuildId,
  readGoBuildInfo,
} from "./go_binary.ts";
import { isMachOMagic, parseMachO } from "./macho.ts";
import { readPclntab } from "./pclntab.ts";
import { bytesRandomAccess } from "./random_access.ts";
import { readSymbols } from "./symbols.ts";
import {
  copyHello,
  goBuild,
  goToolBuildId,
  goVersion,
  goVersionM,
  run,
} from "../../tests/fixtures/go/build.ts";

const GO = await goVersion();

/** One line of `go tool nm -size -sort address`. */
interface NmSymbol {
  addr: number;
  size: number;
  code: string;
  name: string;
}

async function goToolNm(binary: string): Promise<NmSymbol[]> {
  const out = await run("go", ["tool", "nm", "-size", "-sort", "address", binary]);
  const syms: NmSymbol[] = [];
  for (const line of out.split("\n")) {
    const m = /^\s*([0-9a-f]+)\s+(\d+)\s+([A-Za-z])\s+(.+)$/.exec(line);
    if (m) syms.push({ addr: parseInt(m[1], 16), size: Number(m[2]), code: m[3], name: m[4] });
  }
  return syms;
}

const TARGETS = [
  { goos: "linux", goarch: "amd64", format: "elf", machine: "x86_64" },
  { goos: "linux", goarch: "arm64", format: "elf", machine: "aarch64" },
  { goos: "darwin", goarch: "arm64", format: "macho", machine: "arm64" },
  { goos: "darwin", goarch: "amd64", format: "macho", machine: "x86_64" },
] as const;

Deno.test({
  name:
    "symbols, pclntab and Mach-O headers of real Go binaries, as go tool nm and go version -m read them",
  ignore: GO === null,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-symbols-" });
    try {
      await copyHello(`${dir}/src`);
      for (const target of TARGETS) {
        const env = { GOOS: target.goos, GOARCH: target.goarch };
        const full = `${dir}/${target.goos}-${target.goarch}`;
        const stripped = `${full}-stripped`;
        await goBuild(`${dir}/src`, full, { flags: ["-trimpath"], env });
        await goBuild(`${dir}/src`, stripped, { flags: ["-trimpath", "-ldflags=-s -w"], env });
        const bytes = await Deno.readFile(full);
        const src = bytesRandomAccess(bytes);
        const exe = (await parseExecutable(src))!;
        const nm = await goToolNm(full);
        const label = `${target.goos}/${target.goarch}`;

        await t.step(`${label}: format, build info and build ID`, async () => {
          assert.equal(exe.format, target.format);
          assert.equal(exe.machine, target.machine);
          assert.equal(isMachOMagic(bytes), target.format === "macho");
          assert.equal(formatGoBuildInfo((await readGoBuildInfo(src))!), await goVersionM(full));
          assert.equal(await readGoBuildId(src), await goToolBuildId(full));
          const s = bytesRandomAccess(await Deno.readFile(stripped));
          assert.equal(await readGoBuildId(s), await goToolBuildId(stripped));
        });

        await t.step(`${label}: every symbol go tool nm lists, same address and size`, async () => {
          const syms = await readSymbols(src, exe);
          assert.equal(syms.source, "symtab");
          const ours = new Map<string, { addr: number; size: number; section: number }>();
          for (let i = 0; i < syms.count; i++) {
            ours.set(await syms.name(i), {
              addr: syms.addr(i),
              size: syms.size(i),
              section: syms.section(i),
            });
          }
          const defined = nm.filter((s) => s.code !== "U");
          assert.ok(defined.length > 1000, `${defined.length} symbols`);
          for (const s of defined) {
            const o = ours.get(s.name);
            assert.ok(o, `${s.name} is missing`);
            assert.equal(o.addr, s.addr, s.name);
            // Mach-O sizes are inferred; ours stop at the end of the symbol's section.
            if (target.format === "elf") assert.equal(o.size, s.size, s.name);
            else {assert.ok(
                o.size === s.size || o.size < s.size,
                `${s.name}: ${o.size} vs ${s.size}`,
              );}
            // Code symbols are in the text section, as nm's T says.
            if (s.code === "T") {
              assert.match(exe.sections[o.section].name, /^(\.text|__TEXT,__text)$/, s.name);
            }
          }
          // find() names the bytes inside a function.
          for (const s of defined.filter((x) => x.code === "T" && ours.get(x.name)!.size > 4)) {
            const i = syms.find(s.addr + 2);
            assert.ok(i >= 0, s.name);
            assert.equal(syms.addr(i), s.addr, `${s.name}: found ${await syms.name(i)}`);
          }
          assert.equal(syms.find(0), -1);
        });

        await t.step(
          `${label}: pclntab functions are nm's T symbols, stripped or not`,
          async () => {
            const tab = (await readPclntab(src, exe))!;
            assert.equal(tab.version, "go1.20");
            // Names by address: an ABI wrapper shares its function's address; nm keeps
            // the "_" the linker puts before Mach-O names without a dot (_go:buildid).
            const text = new Map<number, Set<string>>();
            for (const s of nm.filter((x) => x.code === "T" || x.code === "t")) {
              const names = text.get(s.addr) ?? new Set();
              // The symbol table names assembly functions with their ABI (.abi0), the pclntab does not.
              const name = s.name.replace(/\.abi0$/, "");
              names.add(target.format === "macho" ? name.replace(/^_/, "") : name);
              text.set(s.addr, names);
            }
            assert.ok(tab.count > 1000);
            for (let i = 0; i < tab.count; i++) {
              // Symbol tables spell "·" as "." (the pclntab keeps it).
              const name = (await tab.name(i)).replaceAll("·", ".");
              assert.ok(
                text.get(tab.entry(i))?.has(name),
                `function ${i} at ${tab.entry(i)}: ${name} is not among ${[
                  ...text.get(tab.entry(i)) ?? [],
                ]}`,
              );
            }
            const s = bytesRandomAccess(await Deno.readFile(stripped));
            const symsS = await readSymbols(s, (await parseExecutable(s))!);
            assert.equal(symsS.source, "pclntab");
            assert.equal(symsS.count, tab.count);
            const main = await symsS.lookup("main.main");
            assert.equal(symsS.addr(main), nm.find((x) => x.name === "main.main")!.addr);
          },
        );

        if (target.format === "macho") {
          await t.step(`${label}: Mach-O load commands`, async () => {
            const m = (await parseMachO(src))!;
            assert.equal(m.class, 64);
            assert.equal(m.endian, "little");
            assert.deepEqual(
              m.segments.map((s) => s.name),
              ["__PAGEZERO", "__TEXT", "__DATA_CONST", "__DATA", "__DWARF", "__LINKEDIT"],
            );
            const text = m.sections.find((s) => s.name === "__text")!;
            assert.equal(text.addr, nm.find((s) => s.name === "runtime.text")!.addr);
            assert.ok(m.uuid && m.symtab);
            assert.equal(m.codeSignature !== null, target.goarch === "arm64", "arm64 is signed");
          });
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "readPclntab: a corrupt header is an exact error",
  ignore: GO === null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-pclntab-" });
    try {
      await copyHello(`${dir}/src`);
      await goBuild(`${dir}/src`, `${dir}/app`, { flags: ["-trimpath", "-ldflags=-s -w"] });
      const bytes = await Deno.readFile(`${dir}/app`);
      const exe = (await parseExecutable(bytesRandomAccess(bytes)))!;
      const section = exe.sections.find((s) => s.name === ".gopclntab")!;
      bytes.set([0x12, 0x34, 0x56, 0x78], section.offset);
      const src = bytesRandomAccess(bytes);
      await assert.rejects(readPclntab(src, exe), {
        name: "SyntaxError",
        message: "Cannot read the Go pclntab: unknown magic 0x78563412",
      });
      bytes.set([0xf1, 0xff, 0xff, 0xff, 0, 0, 3, 8], section.offset);
      await assert.rejects(readPclntab(src, exe), {
        name: "SyntaxError",
        message: "Cannot read the Go pclntab: bad header (quantum 3, pointer size 8)",
      });
      // compareGoBinaries reports it and still compares the rest.
      const good = bytesRandomAccess(await Deno.readFile(`${dir}/app`));
      const diff = await compareGoBinaries(good, src);
      assert.equal(diff.identical, false);
      assert.deepEqual(diff.sections.map((s) => s.name), [".gopclntab"]);
      assert.deepEqual(diff.problems, [
        "Cannot read the symbols: Cannot read the Go pclntab: bad header (quantum 3, pointer size 8)",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
