import { assertEquals } from "../tests/_assert.ts";
import { collectBytes, concatBytes } from "./bytes.ts";

Deno.test("concatBytes joins the parts in order, into a new array", () => {
  const a = new Uint8Array([1, 2]);
  assertEquals(concatBytes([a, new Uint8Array(0), new Uint8Array([3])]), new Uint8Array([1, 2, 3]));
  assertEquals(concatBytes([]), new Uint8Array(0));
  const one = concatBytes([a]);
  assertEquals(one, a);
  assertEquals(one === a, false, "a new array, not the part itself");
});

Deno.test("collectBytes copies each chunk as it comes", async () => {
  const buf = new Uint8Array([7, 7]);
  async function* reused() {
    yield buf;
    buf.fill(9);
    yield buf;
  }
  assertEquals(await collectBytes(reused()), new Uint8Array([7, 7, 9, 9]));
});
