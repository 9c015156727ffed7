import { gunzipSync } from "node:zlib";
import { assertEquals } from "../../tests/_assert.ts";
import { gzip, rechunk } from "./gzip.ts";
import { sha256Hex } from "./digest.ts";

async function all(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c.slice());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function* chunks(data: Uint8Array, size: number) {
  for (let i = 0; i < data.length; i += size) yield data.slice(i, i + size);
}

/** 1 MB of half-compressible bytes from a fixed linear congruential generator. */
function sample(): Uint8Array {
  const out = new Uint8Array(1_000_000);
  let x = 12345;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 2 ? x >>> 24 : 65 + (i % 7);
  }
  return out;
}

Deno.test("gzip: the bytes do not depend on how the input is chunked, and zlib reads them back", async () => {
  const data = sample();
  const a = await all(gzip(chunks(data, 7)));
  const b = await all(gzip(chunks(data, 65536)));
  const c = await all(gzip(chunks(data, 1_000_000)));
  assertEquals(sha256Hex(a), sha256Hex(b));
  assertEquals(sha256Hex(b), sha256Hex(c));
  assertEquals(sha256Hex(new Uint8Array(gunzipSync(a))), sha256Hex(data));
});

Deno.test("gzip: golden digest at the pinned level (a change means fflate or the level changed)", async () => {
  assertEquals(
    sha256Hex(await all(gzip(chunks(sample(), 100_000)))),
    "64e411ad7aac2d2775de31ccfd001ddd635f79cc71d3e2324f1ca946a401b4f5",
  );
});

Deno.test("rechunk: fixed-size blocks, last one shorter", async () => {
  const sizes: number[] = [];
  for await (const b of rechunk(chunks(new Uint8Array(10), 3), 4)) sizes.push(b.length);
  assertEquals(sizes, [4, 4, 2]);
});
