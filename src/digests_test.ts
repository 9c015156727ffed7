import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { Digests } from "./digests.ts";

const hexA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const hexB = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856";

Deno.test("Digests keeps each digest by index, past its first buffer, and gives it back as hex", () => {
  const d = new Digests();
  const indexes = [];
  for (let i = 0; i < 200; i++) indexes.push(d.addHex(i % 2 ? hexB : hexA));
  assertEquals(indexes, [...Array(200).keys()]);
  assertEquals(d.hex(0), hexA);
  assertEquals(d.hex(199), hexB);
  assertEquals(d.hex(-1), "");
});

Deno.test("Digests.same compares bytes across two stores; -1 equals only -1", () => {
  const a = new Digests();
  const b = new Digests();
  const a0 = a.addHex(hexA);
  b.addHex(hexB);
  const b1 = b.addHex(hexA);
  assertEquals(a.same(a0, b, b1), true);
  assertEquals(a.same(a0, b, 0), false);
  assertEquals(a.same(-1, b, -1), true);
  assertEquals(a.same(-1, b, 0), false);
  assertEquals(a.same(a0, b, -1), false);
});

Deno.test("Digests refuses what is not a sha256", () => {
  assertThrows(() => new Digests().add(new Uint8Array(31)), /32 bytes, not 31/);
  assertThrows(() => new Digests().addHex("aa"), /Not a sha256 hex digest: "aa"/);
  assertThrows(() => new Digests().addHex("g".repeat(64)), /Not a sha256 hex digest/);
  assertThrows(() => new Digests().addHex(hexA.toUpperCase()), /Not a sha256 hex digest/);
  // U+0130 and U+0161: their low bytes are the digits "0" and "a".
  assertThrows(() => new Digests().addHex("\u0130\u0161" + hexA.slice(2)), /Not a sha256 hex/);
});
