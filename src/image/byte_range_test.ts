import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { InputError } from "../errors.ts";
import { collectBytes } from "../bytes.ts";
import { bytesSource, FileRange, InflatedRange } from "./byte_range.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("FileRange streams its range of the file; skip steps over bytes without reading them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/f`;
    await Deno.writeTextFile(path, "0123456789");
    assert.equal(text(await collectBytes(new FileRange(path, 2, 5))), "23456");
    const range = new FileRange(path, 2, 5, { reuse: true });
    assert.equal(await range.skip(2), 2);
    assert.equal(text(await collectBytes(range)), "456");
    assert.equal(await new FileRange(path, 8, 2).skip(5), 2);
    await assert.rejects(collectBytes(new FileRange(path, 8, 5)), /ended before offset 13/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bytesSource streams bytes held in memory, and skips", async () => {
  const source = bytesSource(new TextEncoder().encode("abcdef"));
  assert.equal(await source.skip!(4), 4);
  assert.equal(text(await collectBytes(source)), "ef");
});

Deno.test("InflatedRange reads a range of the inflated archive, and refuses an archive that changed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.gz`;
    await Deno.writeFile(path, gzipSync(new TextEncoder().encode("hello, world")));
    const st = await Deno.stat(path);
    const stamp = {
      path,
      compression: "gzip" as const,
      size: st.size,
      mtime: st.mtime?.getTime() ?? null,
    };
    const error = (detail: string) => new InputError(`Cannot read image "a.gz": ${detail}`);
    assert.equal(text(await collectBytes(new InflatedRange(stamp, 7, 5, error))), "world");
    const skipping = new InflatedRange(stamp, 0, 5, error);
    await skipping.skip(3);
    assert.equal(text(await collectBytes(skipping)), "lo");
    await Deno.writeFile(path, gzipSync(new TextEncoder().encode("hello, there, world")));
    await assert.rejects(
      collectBytes(new InflatedRange(stamp, 7, 5, error)),
      (e: Error) => e instanceof InputError && /it changed while it was read/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
