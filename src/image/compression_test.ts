import assert from "node:assert/strict";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { collectBytes, concatBytes } from "../bytes.ts";
import { decompress, detectCompression } from "./compression.ts";

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("detectCompression looks at magic bytes only", () => {
  assert.equal(detectCompression(new Uint8Array([0x1f, 0x8b, 8])), "gzip");
  assert.equal(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd])), "zstd");
  assert.equal(detectCompression(new Uint8Array([0x28, 0xb5])), "none");
  assert.equal(detectCompression(new TextEncoder().encode("etc/")), "none");
});

Deno.test("decompress reads every member of a gzip file and every frame of a zstd one", async () => {
  const gz = concatBytes([gzipSync(text("one,")), gzipSync(text("two"))]);
  assert.equal(
    new TextDecoder().decode(await collectBytes(decompress(once(gz), "gzip"))),
    "one,two",
  );
  const zst = concatBytes([zstdCompressSync(text("three,")), zstdCompressSync(text("four"))]);
  assert.equal(
    new TextDecoder().decode(await collectBytes(decompress(once(zst), "zstd"))),
    "three,four",
  );
  assert.equal(
    new TextDecoder().decode(await collectBytes(decompress(once(text("plain")), "none"))),
    "plain",
  );
});

Deno.test("decompress with max throws what tooLarge makes once more comes out", async () => {
  const gz = gzipSync(new Uint8Array(10_000));
  assert.equal((await collectBytes(decompress(once(gz), "gzip", { max: 10_000 }))).length, 10_000);
  await assert.rejects(
    collectBytes(decompress(once(gz), "gzip", { max: 9_999, tooLarge: () => new Error("big") })),
    /^Error: big$/,
  );
  await assert.rejects(
    collectBytes(decompress(once(gz), "gzip", { max: 100 })),
    (e: Error) => e instanceof RangeError && e.message === "it inflates to more than 100 bytes",
  );
});
