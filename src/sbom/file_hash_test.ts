import assert from "node:assert/strict";
import { hashFile, isExecutable } from "./file_hash.ts";

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

Deno.test("isExecutable: ELF and Mach-O of both widths and byte orders, nothing else", () => {
  assert.equal(isExecutable(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2])), true);
  for (const m of [[0xfe, 0xed, 0xfa, 0xce], [0xfe, 0xed, 0xfa, 0xcf], [0xcf, 0xfa, 0xed, 0xfe]]) {
    assert.equal(isExecutable(new Uint8Array(m)), true, String(m));
  }
  assert.equal(isExecutable(new TextEncoder().encode("#!/bin/sh\n")), false);
  assert.equal(isExecutable(new Uint8Array([0x7f, 0x45, 0x4c])), false);
});

Deno.test("hashFile: sha256, sha1 and size of the chunks; only an executable is spooled", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let asked = 0;
    const spoolTo = () => Promise.resolve(`${dir}/${asked++}`);
    const text = await hashFile(chunks("hello ", "world"), { spoolTo });
    assert.deepEqual(text, {
      // sha256sum and sha1sum of "hello world"
      sha256: "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
      sha1: "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed",
      size: 11,
      spooled: null,
    });
    assert.equal(asked, 0);
    const seen: number[] = [];
    const elf = await hashFile(chunks("\x7fELF", "rest"), {
      spoolTo,
      onChunk: (n) => seen.push(n),
    });
    assert.equal(elf.spooled, `${dir}/0`);
    assert.equal(await Deno.readTextFile(elf.spooled!), "\x7fELFrest");
    assert.deepEqual(seen, [4, 4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
