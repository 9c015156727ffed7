import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { assertEquals } from "../../tests/_assert.ts";
import { collectBytes } from "../../tests/_bytes.ts";
import { gzip, GZIP_LEVEL, GzipPool, rechunk, STORED_LEVEL } from "./gzip.ts";
import { sha256Hex } from "./digest.ts";
import { gzipMember, gzipReady } from "./gzip_worker.ts";

const all = collectBytes;

async function* chunks(data: Uint8Array, size: number) {
  for (let i = 0; i < data.length; i += size) yield data.slice(i, i + size);
}

/** 3.5 MB (four gzip blocks) of half-compressible bytes from a fixed linear congruential generator. */
function sample(): Uint8Array {
  const out = new Uint8Array(3_500_000);
  let x = 12345;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 2 ? x >>> 24 : 65 + (i % 7);
  }
  return out;
}

Deno.test("gzip: the bytes do not depend on how the input is chunked, and zlib reads them back", async () => {
  const data = sample();
  const a = await all(gzip(chunks(data, 997), { workers: 0 }));
  const b = await all(gzip(chunks(data, 65536), { workers: 1 }));
  const c = await all(gzip(chunks(data, 1_000_000), { workers: 3 }));
  assertEquals(sha256Hex(a), sha256Hex(b));
  assertEquals(sha256Hex(b), sha256Hex(c));
  assertEquals(sha256Hex(new Uint8Array(gunzipSync(a))), sha256Hex(data));
});

Deno.test("gzip: real binaries at odd offsets round-trip through GNU gzip (regression: fflate's sync flush, format 2)", async () => {
  // A Go toolchain binary (stored and Huffman blocks mixed) behind a prefix that shifts block boundaries.
  const go = await Deno.readFile(
    `${Deno.env.get("GOROOT") ?? "/usr/local/go"}/pkg/tool/linux_amd64/asm`,
  );
  for (const shift of [0, 916_344 % 65_536, 777_777]) {
    const data = new Uint8Array(shift + Math.min(go.length, 4_000_000));
    data.set(go.subarray(0, data.length - shift), shift);
    const out = await all(gzip(chunks(data, 65_536), { workers: 2 }));
    const tested = new Deno.Command("gzip", {
      args: ["-dc"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
    const writer = tested.stdin.getWriter();
    const done = tested.output();
    await writer.write(out);
    await writer.close();
    const result = await done;
    assertEquals(new TextDecoder().decode(result.stderr), "");
    assertEquals(sha256Hex(result.stdout), sha256Hex(data));
  }
});

Deno.test("gzip: empty input and a single short block are valid gzip", async () => {
  for (const data of [new Uint8Array(0), new TextEncoder().encode("hello")]) {
    const out = await all(gzip(chunks(data, 3)));
    assertEquals(sha256Hex(new Uint8Array(gunzipSync(out))), sha256Hex(data));
  }
});

Deno.test("gzip: golden digests at the pinned levels (a change means the compressor or a level changed: a format change)", async () => {
  // GZIP_LEVEL: gzip layers and the outer archive of uncompressed layers.
  assertEquals(GZIP_LEVEL, 2);
  const found = {
    layers: sha256Hex(await all(gzip(chunks(sample(), 100_000)))),
    stored: sha256Hex(await all(gzip(chunks(sample(), 100_000), { level: STORED_LEVEL }))),
  };
  if (Deno.env.get("R10E_PRINT_GOLDEN")) console.log(found);
  assertEquals(found, {
    layers: "8ce62a9da4785aca9e319a693ae50b57bfca8b8681b282f1f4a2c3cdf1621efb",
    stored: "d8b84cdd9a9112ca7a6ade9b39dd259412779c5423fc51386061d952bd4564f4",
  });
});

Deno.test("gzip: stored blocks (the outer archive of gzip layers) are a valid gzip of the input", async () => {
  const data = sample();
  const out = await all(gzip(chunks(data, 65_536), { level: STORED_LEVEL }));
  assertEquals(sha256Hex(new Uint8Array(gunzipSync(out))), sha256Hex(data));
  // Stored: the input plus per-block framing (5 bytes per 64 KiB block, 18 per 1 MiB member).
  assertEquals(out.length < data.length * 1.001 + 100, true, `${out.length} bytes`);
});

Deno.test("gzip: one pool shared by two streams at once gives each its own bytes", async () => {
  const a = sample(), b = sample().reverse();
  const alone = [await all(gzip(chunks(a, 65_536))), await all(gzip(chunks(b, 65_536)))];
  using pool = new GzipPool(1);
  const shared = await Promise.all([
    all(gzip(chunks(a, 65_536), { pool })),
    all(gzip(chunks(b, 65_536), { pool })),
  ]);
  assertEquals(shared.map(sha256Hex), alone.map(sha256Hex));
});

Deno.test("GzipPool: a block's buffer comes back from the worker and is given out again", async () => {
  await gzipReady();
  using pool = new GzipPool(1);
  const data = sample().subarray(0, 1000);
  const first = pool.block(1000);
  first.set(data);
  const out = await pool.run({ data: first, level: GZIP_LEVEL });
  assertEquals(sha256Hex(out), sha256Hex(gzipMember(data, GZIP_LEVEL)));
  // The same memory (a new buffer would be zeros): no allocation per block.
  const again = pool.block(500);
  assertEquals(sha256Hex(again), sha256Hex(data.subarray(0, 500)));
});

Deno.test("rechunk: fixed-size blocks, last one shorter", async () => {
  const sizes: number[] = [];
  for await (const b of rechunk(chunks(new Uint8Array(10), 3), 4)) sizes.push(b.length);
  assertEquals(sizes, [4, 4, 2]);
});

Deno.test("gzip: an abort ends an endless stream at the next block, with the signal's reason", async () => {
  const controller = new AbortController();
  async function* endless() {
    const block = new Uint8Array(1 << 20);
    while (true) yield block;
  }
  let chunks = 0;
  await assert.rejects(async () => {
    for await (const _ of gzip(endless(), { workers: 2, signal: controller.signal })) {
      if (++chunks === 3) controller.abort(new Error("Interrupted by SIGTERM"));
      // Without the signal, an endless input never ends: stop the test instead.
      if (chunks > 50) break;
    }
  }, /^Error: Interrupted by SIGTERM$/);
  assert.equal(chunks, 3);
});
