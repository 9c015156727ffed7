import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { pieces } from "./sbom.ts";

Deno.test("pieces: the whole text, never a surrogate pair cut in two", () => {
  const text = "ab\u{1F600}cd\u{1F600}\u{1F600}e";
  for (const size of [1, 2, 3, 4, 100]) {
    const list = [...pieces(text, size)];
    assertEquals(list.join(""), text, `size ${size}`);
    for (const p of list) {
      // Each piece encodes on its own: no lone surrogate becomes U+FFFD.
      assertEquals(new TextDecoder().decode(new TextEncoder().encode(p)), p, `size ${size}`);
    }
  }
  assertEquals([...pieces("", 4)], []);
  assertEquals([...pieces("abcdef", 4)], ["abcd", "ef"]);
});
