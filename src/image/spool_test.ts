import { assertEquals } from "../../tests/_assert.ts";
import { collectBytes } from "../../tests/_bytes.ts";
import { registeredTemporaries } from "../signals.ts";
import { openLayerSpool, tempLayerSpool } from "./spool.ts";

Deno.test("openLayerSpool: appends, reads ranges back, is a registered temporary removed when done", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-spool-" });
  const path = `${dir}/.layers.tmp`;
  try {
    const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
    {
      await using spool = openLayerSpool(path);
      // Nothing is created before the first write.
      assertEquals(await Deno.stat(path).then(() => true, () => false), false);
      await spool.write(new Uint8Array(0));
      assertEquals(registeredTemporaries().includes(path), true);
      await spool.write(new TextEncoder().encode("abc"));
      const at = spool.size;
      await spool.write(big);
      assertEquals(spool.size, 3 + big.length);
      assertEquals(new TextDecoder().decode(await collectBytes(spool.read(1, 2))), "bc");
      assertEquals(await collectBytes(spool.read(at, big.length)), big);
      // Reading and writing interleave: every read and write seeks where it goes.
      await spool.write(new TextEncoder().encode("z"));
      assertEquals(
        new TextDecoder().decode(await collectBytes(spool.read(at + big.length, 1))),
        "z",
      );
    }
    assertEquals(registeredTemporaries().includes(path), false);
    assertEquals(await Deno.stat(path).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tempLayerSpool: a file of TMPDIR made at the first write, removed when done", async () => {
  let made: string | undefined;
  {
    await using spool = tempLayerSpool();
    const before = registeredTemporaries();
    await spool.write(new TextEncoder().encode("layer"));
    made = registeredTemporaries().find((p) => !before.includes(p));
    assertEquals(made?.includes("r10e-layers-"), true);
    assertEquals(await Deno.readTextFile(made!), "layer");
  }
  assertEquals(await Deno.stat(made!).then(() => true, () => false), false);
});
