import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { describeByteDifference, placeInTar } from "./archive_bytes.ts";

// Two entries: "a" (header 0-511, 3 bytes of content at 512, padding to 1024), "b" (header
// 1024-1535, 600 bytes at 1536, padding to 2560), then the end-of-archive blocks.
const spans = [
  { name: "a", dataOffset: 512, size: 3 },
  { name: "b", dataOffset: 1536, size: 600 },
];

Deno.test("placeInTar names header, content, padding and end blocks", async (t) => {
  for (
    const [offset, want] of [
      [0, 'in the header of "a"'],
      [513, 'in the content of "a"'],
      [515, 'in the padding after "a" (tar readers skip it)'],
      [1023, 'in the padding after "a" (tar readers skip it)'],
      [1024, 'in the header of "b"'],
      [2136, 'in the padding after "b" (tar readers skip it)'],
      [2560, "in the end-of-archive blocks (tar readers stop before them)"],
    ] as const
  ) {
    await t.step(`offset ${offset}`, () => assertEquals(placeInTar(offset, spans), want));
  }
});

Deno.test("describeByteDifference", async (t) => {
  await t.step("appended bytes", () => {
    assertEquals(
      describeByteDifference(
        { sizeA: 10240, sizeB: 10248, first: 10240, count: 0, tail: "other" },
        spans,
      ),
      "B has 8 more bytes after offset 10240, where A ends: bytes after the end of the archive (tar readers ignore them)",
    );
  });
  await t.step("doubled", () => {
    assertEquals(
      describeByteDifference(
        { sizeA: 20480, sizeB: 10240, first: 10240, count: 0, tail: "copy" },
        null,
      ),
      "A has 10240 more bytes after offset 10240, where B ends: a second copy of B (the archive written twice; tar readers stop at the first end-of-archive)",
    );
  });
  await t.step("a flipped padding byte", () => {
    assertEquals(
      describeByteDifference({ sizeA: 10240, sizeB: 10240, first: 600, count: 1 }, spans),
      '1 byte differs, the first at offset 600 in the padding after "a" (tar readers skip it)',
    );
  });
});
