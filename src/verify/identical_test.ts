import assert from "node:assert/strict";
import { sameBytes } from "./identical.ts";

Deno.test("sameBytes: one file, copies, and files that differ", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    // Several compared blocks (4 MiB each) and a short last one.
    const bytes = new Uint8Array((9 << 20) + 123).map((_, i) => (i * 7919) >> 3);
    await Deno.writeFile(`${dir}/a`, bytes);
    await Deno.writeFile(`${dir}/copy`, bytes);
    const last = bytes.slice();
    last[last.length - 1] ^= 1;
    await Deno.writeFile(`${dir}/last`, last);
    const first = bytes.slice();
    first[0] ^= 1;
    await Deno.writeFile(`${dir}/first`, first);
    await Deno.writeFile(`${dir}/short`, bytes.subarray(1));
    await Deno.mkdir(`${dir}/d`);
    const cases: [string, string, string, boolean][] = [
      ["a file with itself", "a", "a", true],
      ["a copy", "a", "copy", true],
      ["the last byte differs", "a", "last", false],
      ["the first byte differs", "a", "first", false],
      ["another size", "a", "short", false],
      ["a directory", "d", "d", false],
      ["a missing file", "a", "missing", false],
    ];
    for (const [name, a, b, want] of cases) {
      await t.step(name, async () => {
        assert.equal(await sameBytes(`${dir}/${a}`, `${dir}/${b}`), want);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
