// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type ElfSection,
  findSection,
  hashSections,
  parseElf,
  PT_LOAD,
  readSection,
  readVirtual,
  SectionHasher,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHT_NOBITS,
  SHT_PROGBITS,
} from "./elf.ts";
import { bytesRandomAccess, fileRandomAccess, type RandomAccess } from "./random_access.ts";
import { copyHello, goBuild, goVersion, run } from "../../tests/fixtures/go/build.ts";

const GO = await goVersion();
const READELF = await run("readelf", ["--version"]).then(() => true, () => false);

interface Target {
  name: string;
  env: Record<string, string>;
  class: 32 | 64;
  endian: "little" | "big";
  machine: string;
}

// One per ELF class and byte order, plus the two architectures images use most.
const TARGETS: Target[] = [
  { name: "amd64", env: {}, class: 64, endian: "little", machine: "x86_64" },
  { name: "arm64", env: { GOARCH: "arm64" }, class: 64, endian: "little", machine: "aarch64" },
  { name: "386", env: { GOARCH: "386" }, class: 32, endian: "little", machine: "i386" },
  { name: "s390x", env: { GOARCH: "s390x" }, class: 64, endian: "big", machine: "s390" },
  {
    name: "mips",
    env: { GOARCH: "mips", GOMIPS: "softfloat" },
    class: 32,
    endian: "big",
    machine: "mips",
  },
];

async function openFile(path: string): Promise<{ src: RandomAccess; file: Deno.FsFile }> {
  const file = await Deno.open(path);
  return { src: fileRandomAccess(file, (await file.stat()).size), file };
}

/** Section headers as `readelf -SW` prints them (index 0 left out). */
async function readelfSections(path: string) {
  const out = await run("readelf", ["-SW", path]);
  const re = /^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)/;
  return out.split("\n").map((l) => l.match(re)).filter((m) => m && m[1] !== "0").map((m) => ({
    index: Number(m![1]),
    name: m![2],
    addr: parseInt(m![4], 16),
    offset: parseInt(m![5], 16),
    size: parseInt(m![6], 16),
  }));
}

/** LOAD program headers as `readelf -lW` prints them. */
async function readelfLoads(path: string) {
  const out = await run("readelf", ["-lW", path]);
  const re =
    /^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)/;
  return out.split("\n").map((l) => l.match(re)).filter((m) => m).map((m) => ({
    offset: parseInt(m![1], 16),
    vaddr: parseInt(m![2], 16),
    filesz: parseInt(m![3], 16),
    memsz: parseInt(m![4], 16),
  }));
}

Deno.test("parseElf returns null for what is not ELF", async () => {
  for (const bytes of [new Uint8Array(), new TextEncoder().encode("#!/bin/sh\necho hi\n")]) {
    assert.equal(await parseElf(bytesRandomAccess(bytes)), null);
  }
});

Deno.test({
  name: "parseElf reads real Go binaries of every class and byte order like readelf",
  ignore: !GO,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-elf-" });
    try {
      await copyHello(`${dir}/src`);
      for (const target of TARGETS) {
        await t.step(`${target.name}: ${target.class}-bit ${target.endian} endian`, async () => {
          const bin = `${dir}/hello-${target.name}`;
          await goBuild(`${dir}/src`, bin, { flags: ["-trimpath"], env: target.env });
          const { src, file } = await openFile(bin);
          try {
            const elf = await parseElf(src);
            assert.ok(elf);
            assert.equal(elf.class, target.class);
            assert.equal(elf.endian, target.endian);
            assert.equal(elf.machineName, target.machine);
            assert.equal(elf.type, 2, "ET_EXEC");

            const text = findSection(elf, ".text");
            assert.ok(text);
            assert.equal(text.type, SHT_PROGBITS);
            assert.equal(text.flags & (SHF_ALLOC | SHF_EXECINSTR), SHF_ALLOC | SHF_EXECINSTR);
            assert.equal(findSection(elf, ".bss")?.type, SHT_NOBITS);
            assert.ok(findSection(elf, ".go.buildinfo"));

            if (READELF) {
              const want = await readelfSections(bin);
              const got = elf.sections.slice(1).map(({ index, name, addr, offset, size }) => ({
                index,
                name,
                addr,
                offset,
                size,
              }));
              assert.deepEqual(got, want);
              const loads = elf.programs.filter((p) => p.type === PT_LOAD)
                .map(({ offset, vaddr, filesz, memsz }) => ({ offset, vaddr, filesz, memsz }));
              assert.deepEqual(loads, await readelfLoads(bin));
            }

            // A section's bytes and a virtual address read the file where readelf says.
            const whole = await Deno.readFile(bin);
            const info = findSection(elf, ".go.buildinfo")!;
            assert.deepEqual(
              await readSection(src, info),
              whole.slice(info.offset, info.offset + info.size),
            );
            assert.deepEqual(
              await readVirtual(src, elf, info.addr, 16),
              whole.slice(info.offset, info.offset + 16),
            );
            assert.equal(await readVirtual(src, elf, 1, 16), null, "unmapped address");

            const hashes = await hashSections(src, elf, { chunkSize: 4096 });
            assert.equal(hashes.length, elf.sections.length);
            for (const h of hashes) {
              const s: ElfSection = elf.sections[h.index];
              if (s.type === SHT_NOBITS || s.type === 0) {
                assert.equal(h.sha256, null, s.name);
              } else {
                const want = createHash("sha256").update(
                  whole.subarray(s.offset, s.offset + s.size),
                ).digest("hex");
                assert.equal(h.sha256, want, s.name);
              }
            }
            // Fed the whole file in odd-sized chunks, as compareGoBinaries does: same hashes.
            const hasher = new SectionHasher(elf);
            for (let pos = 0; pos < whole.length; pos += 77_777) {
              hasher.update(pos, whole.subarray(pos, pos + 77_777));
            }
            assert.deepEqual(hasher.digest(), hashes);
          } finally {
            file.close();
          }
        });
      }

      await t.step("extended section numbering (e_shnum 0, SHN_XINDEX)", async () => {
        const bytes = await Deno.readFile(`${dir}/hello-amd64`);
        const plain = await parseElf(bytesRandomAccess(bytes));
        const v = new DataView(bytes.buffer);
        const shoff = Number(v.getBigUint64(40, true));
        const shnum = v.getUint16(60, true);
        const shstrndx = v.getUint16(62, true);
        v.setUint16(60, 0, true);
        v.setUint16(62, 0xffff, true);
        v.setBigUint64(shoff + 32, BigInt(shnum), true); // section 0 sh_size
        v.setUint32(shoff + 40, shstrndx, true); // section 0 sh_link
        const extended = await parseElf(bytesRandomAccess(bytes));
        assert.deepEqual(
          extended!.sections.slice(1),
          plain!.sections.slice(1),
        );
      });

      await t.step("malformed headers are a SyntaxError naming the part", async () => {
        const bytes = await Deno.readFile(`${dir}/hello-386`);
        const cases: Array<[string, (b: Uint8Array) => Uint8Array, RegExp]> = [
          ["truncated header", (b) => b.slice(0, 40), /ELF header .* is outside the file/],
          ["bad class", (b) => withByte(b, 4, 9), /unknown class 9/],
          ["bad data encoding", (b) => withByte(b, 5, 0), /unknown data encoding 0/],
          [
            "cut before the end of the last section",
            (b) => b.slice(0, b.length - 100),
            /section \d+ \(offset \d+, \d+ bytes\) is outside the file/,
          ],
          [
            "section table past the end",
            (b) => withU32(b, 32, b.length - 10),
            /section header table .* is outside the file/,
          ],
          ["section header size too small", (b) => withU16(b, 46, 20), /section header size 20/],
        ];
        for (const [name, corrupt, message] of cases) {
          await assert.rejects(
            parseElf(bytesRandomAccess(corrupt(bytes.slice()))),
            (e: Error) => e instanceof SyntaxError && message.test(e.message),
            name,
          );
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function withByte(b: Uint8Array, at: number, value: number): Uint8Array {
  b[at] = value;
  return b;
}

function withU16(b: Uint8Array, at: number, value: number): Uint8Array {
  new DataView(b.buffer, b.byteOffset).setUint16(at, value, true);
  return b;
}

function withU32(b: Uint8Array, at: number, value: number): Uint8Array {
  new DataView(b.buffer, b.byteOffset).setUint32(at, value, true);
  return b;
}
