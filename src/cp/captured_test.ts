import assert from "node:assert/strict";
import type { FsNode } from "../image/merged_fs.ts";
import type { TarHeader, TarReaderEntry } from "../tar/reader.ts";
import { Captured } from "./captured.ts";

function entry(name: string, bytes: Uint8Array, headerOffset: number, kind = "file") {
  const header = { name, kind, size: bytes.length, headerOffset } as unknown as TarHeader;
  const body = (async function* () {
    // In two pieces, as a tar reader hands out a body that spans its source's chunks.
    yield bytes.subarray(0, bytes.length >> 1);
    yield bytes.subarray(bytes.length >> 1);
  })();
  return { header, body } as TarReaderEntry;
}

function node(layer: number, headerOffset: number, size: number): FsNode {
  return {
    kind: "file",
    size,
    content: { layer, headerOffset, dataOffset: headerOffset + 512, size },
  } as FsNode;
}

function read(c: Captured, at: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let n = 0;
  for (const chunk of c.read(at, size)) {
    out.set(chunk, n);
    n += chunk.length;
  }
  assert.equal(n, size);
  return out;
}

Deno.test("Captured keeps the files under SRC, by layer and header offset, and gives them back in any order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using c = await Captured.open("/data/", { tempDir: dir });
    const big = new Uint8Array(3 << 20).map((_, i) => (i * 7) >> 3);
    const a = new TextEncoder().encode("a\n");
    const b = new TextEncoder().encode("bb\n");
    await c.take(0, entry("data/a", a, 0));
    await c.take(0, entry("database/x", b, 1024)); // not under /data
    await c.take(0, entry("./data/big", big, 2048));
    await c.take(0, entry("data/empty", new Uint8Array(0), 4096));
    await c.take(0, entry("data/d", new Uint8Array(0), 4608, "dir"));
    await c.take(1, entry("/data/b", b, 0));
    c.flush();
    assert.equal(c.offsetOf(node(0, 1024, 3)), undefined);
    assert.equal(c.offsetOf(node(0, 4096, 0)), undefined);
    assert.equal(c.offsetOf(node(2, 0, 3)), undefined);
    const at = (layer: number, offset: number, size: number) => {
      const found = c.offsetOf(node(layer, offset, size));
      assert.notEqual(found, undefined);
      return found!;
    };
    assert.deepEqual(read(c, at(1, 0, 3), 3), b);
    assert.deepEqual(read(c, at(0, 2048, big.length), big.length), big);
    assert.deepEqual(read(c, at(0, 0, 2), 2), a);
    assert.deepEqual(read(c, at(1, 0, 3), 3), b);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Captured of / keeps every file", async () => {
  await using c = await Captured.open("/");
  await c.take(3, entry("x/y", new Uint8Array([1, 2, 3]), 512));
  c.flush();
  assert.deepEqual(read(c, c.offsetOf(node(3, 512, 3))!, 3), new Uint8Array([1, 2, 3]));
});
