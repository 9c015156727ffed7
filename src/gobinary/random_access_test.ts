// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import {
  bytesRandomAccess,
  fileRandomAccess,
  firstDifference,
  type RandomAccess,
  readChunks,
} from "./random_access.ts";

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of it) out.push(...chunk);
  return out;
}

Deno.test("bytesRandomAccess reads, clamps at the end and rejects bad ranges", async () => {
  const src = bytesRandomAccess(new Uint8Array([1, 2, 3, 4, 5]));
  assert.equal(src.size, 5);
  assert.deepEqual([...await src.read(1, 3)], [2, 3, 4]);
  assert.deepEqual([...await src.read(3, 10)], [4, 5]);
  assert.deepEqual([...await src.read(5, 1)], []);
  assert.deepEqual([...await src.read(99, 1)], []);
  assert.throws(() => src.read(-1, 1), RangeError);
  assert.throws(() => src.read(0, 1.5), RangeError);
});

Deno.test("fileRandomAccess reads the same bytes as memory, also concurrently", async () => {
  const bytes = pattern(300_000);
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, bytes);
    using file = await Deno.open(path);
    const src = fileRandomAccess(file, bytes.length);
    const reads = [[0, 10], [299_990, 100], [123_456, 70_000], [300_000, 5], [17, 0]];
    const got = await Promise.all(reads.map(([o, n]) => src.read(o, n)));
    for (const [i, [o, n]] of reads.entries()) {
      assert.deepEqual(got[i], bytes.slice(o, o + n), `read(${o}, ${n})`);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readChunks yields the range in bounded chunks", async () => {
  const bytes = pattern(1000);
  const src = bytesRandomAccess(bytes);
  const sizes: number[] = [];
  for await (const c of readChunks(src, 10, 500, 128)) sizes.push(c.length);
  assert.deepEqual(sizes, [128, 128, 128, 116]);
  assert.deepEqual(await collect(readChunks(src, 900, 500, 64)), [...bytes.slice(900)]);
});

Deno.test("firstDifference", async (t) => {
  const base = pattern(5000);
  const changed = (at: number) => {
    const c = base.slice();
    c[at] ^= 0xff;
    return c;
  };
  const cases: Array<[string, Uint8Array, Uint8Array, number | null]> = [
    ["identical", base, base.slice(), null],
    ["first byte", base, changed(0), 0],
    ["inside a later chunk", base, changed(4097), 4097],
    ["last byte", base, changed(4999), 4999],
    ["b is a prefix of a", base, base.slice(0, 3000), 3000],
    ["a is a prefix of b", base.slice(0, 1024), base, 1024],
    ["both empty", new Uint8Array(), new Uint8Array(), null],
  ];
  for (const [name, a, b, offset] of cases) {
    await t.step(name, async () => {
      const got = await firstDifference(bytesRandomAccess(a), bytesRandomAccess(b), {
        chunkSize: 1024,
      });
      assert.deepEqual(got, { sizeA: a.length, sizeB: b.length, offset });
    });
  }
  await t.step("a source that returns short reads is a difference, not a hang", async () => {
    const short: RandomAccess = {
      size: 100,
      read: (o, n) => Promise.resolve(base.slice(o, Math.min(o + n, 50))),
    };
    const got = await firstDifference(short, bytesRandomAccess(base.slice(0, 100)));
    assert.deepEqual(got, { sizeA: 100, sizeB: 100, offset: 50 });
  });
});
