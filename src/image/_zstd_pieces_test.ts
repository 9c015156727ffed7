import assert from "node:assert/strict";
import { constants, zstdCompressSync } from "node:zlib";
import { Decompress } from "fzstd";
import { PIECE_OUTPUT, WINDOW_MAX, ZstdPieces } from "./_zstd_pieces.ts";
import { decompress } from "./compression.ts";
import { collectBytes, concatBytes } from "../bytes.ts";
import { zstdOf } from "../../tests/_hostile.ts";

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, o + size);
}

async function inflate(bytes: Uint8Array, size: number): Promise<Uint8Array> {
  return await collectBytes(decompress(chunks(bytes, size), "zstd"));
}

function cat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

Deno.test("zstd pieces: every frame of a stream is inflated whole, however it is chunked", async (t) => {
  const data = new Uint8Array(3 << 20);
  for (let o = 0; o < 1 << 20; o += 65536) crypto.getRandomValues(data.subarray(o, o + 65536));
  data.fill(7, 2 << 20); // compressible: RLE and compressed blocks beside raw ones
  const withSum = new Uint8Array(
    zstdCompressSync(data, { params: { [constants.ZSTD_c_checksumFlag]: 1 } }),
  );
  const plain = new Uint8Array(zstdCompressSync(data.subarray(0, 5000)));
  // A skippable frame (magic 0x184D2A5E, 4 bytes of size, content) between the two.
  const skippable = new Uint8Array([0x5e, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  const stream = cat(withSum, skippable, plain);
  const want = cat(data, data.subarray(0, 5000));
  for (const size of [7, 4096, 1 << 20, stream.length]) {
    await t.step(`chunks of ${size} bytes`, async () => {
      assert.deepEqual(await inflate(stream, size), want);
    });
  }
});

Deno.test("zstd pieces: fzstd fed piece by piece holds about 1 MiB of output at a time", () => {
  // 64 MiB of zeros in 2 KiB: 512 RLE blocks of 4 bytes, one chunk.
  const bomb = zstdOf([{ zeros: 64 << 20 }]);
  let pending = 0;
  let most = 0;
  let total = 0;
  const d = new Decompress((chunk) => {
    pending += chunk.length;
    total += chunk.length;
  });
  const pieces = new ZstdPieces();
  for (const piece of pieces.cut(bomb)) {
    d.push(piece);
    most = Math.max(most, pending);
    pending = 0; // what the reader yields before the next push
  }
  pieces.end();
  d.push(new Uint8Array(0), true);
  assert.equal(total, 64 << 20);
  assert.ok(most <= PIECE_OUTPUT + (256 << 10), `${most} bytes inflated by one push`);
});

Deno.test("zstd pieces: what zstd's limits refuse", async (t) => {
  const frame = (fhd: number, ...rest: number[]) =>
    new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, fhd, ...rest]);
  const cases: [string, Uint8Array, RegExp][] = [
    ["not zstd", new Uint8Array(16), /^no zstd frame at offset 0$/],
    [
      "a window above 128 MiB",
      frame(0, 18 << 3, 1, 0, 0),
      new RegExp(
        `needs a window of ${2 ** 28} bytes, more than zstd's default limit of ${WINDOW_MAX}`,
      ),
    ],
    [
      "a single-segment frame of 4 GiB (its content is its window)",
      frame(0xe0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0),
      /^zstd frame at offset 0 needs a window of 4294967296 bytes/,
    ],
    [
      "a block larger than 128 KiB",
      frame(
        0,
        10 << 3,
        ...[((128 << 10) + 1) << 3 | 3].flatMap((h) => [h & 255, (h >> 8) & 255, h >> 16]),
      ),
      /^zstd block at offset 6 is larger than 128 KiB \(131073 bytes\)$/,
    ],
    [
      "the reserved block type",
      frame(0, 10 << 3, 7, 0, 0),
      /^zstd block at offset 6 has the reserved type 3$/,
    ],
  ];
  for (const [name, bytes, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => new ZstdPieces().cut(bytes), { name: "RangeError", message });
    });
  }
  await t.step("a stream that ends inside a frame", () => {
    const p = new ZstdPieces();
    p.cut(zstdOf([new Uint8Array(100)]).subarray(0, 50));
    assert.throws(() => p.end(), { message: /^zstd stream ends inside a frame, at offset 50$/ });
  });
});

Deno.test("decompress: more output than `max` is refused with the caller's error", async () => {
  // What no header announced: zeros after a stream's last tar entry inflate all the same.
  const stream = zstdOf([{ zeros: 8 << 20 }]);
  await assert.rejects(
    async () => {
      const out = decompress(chunks(stream, 1 << 20), "zstd", {
        max: 3 << 20,
        tooLarge: () => new RangeError("it inflates to more than 3 MiB"),
      });
      for await (const _ of out) { /* read */ }
    },
    { name: "RangeError", message: "it inflates to more than 3 MiB" },
  );
});
