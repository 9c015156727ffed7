import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { hashFileRanges, hashRanges } from "./_hash_ranges.ts";

Deno.test("hashRanges hashes ranges on workers like in one thread", async () => {
  const path = await Deno.makeTempFile();
  try {
    const size = 80 << 20; // above the parallel threshold
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) bytes[i] = (i >> 12) & 0xff;
    await Deno.writeFile(path, bytes);
    const ranges: [number, number][] = [[0, 30 << 20], [30 << 20, 40 << 20], [70 << 20, 10 << 20], [
      5,
      0,
    ], [123, 4567]];
    const want = ranges.map(([o, s]) =>
      createHash("sha256").update(bytes.subarray(o, o + s)).digest("hex")
    );
    assert.deepEqual(await hashRanges(path, ranges), want);
    assert.deepEqual(await hashFileRanges(path, ranges), want);
    // Workers that cannot load (as in a binary that does not embed the worker): same result.
    // Deno prints the worker's error even though it is handled: that line is expected.
    const broken = "data:application/javascript,throw new Error('this worker cannot run')";
    assert.deepEqual(await hashRanges(path, ranges, { workerUrl: broken }), want);
    await assert.rejects(
      hashRanges(path, [[0, 40 << 20], [size - 10, 20], [0, 40 << 20]]),
      /ended before offset/,
    );
  } finally {
    await Deno.remove(path);
  }
});
