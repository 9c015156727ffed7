import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { isText, unifiedDiff } from "./text_diff.ts";

Deno.test("unifiedDiff", async (t) => {
  await t.step("equal texts give no diff", () => {
    assertEquals(unifiedDiff("a\nb\n", "a\nb\n"), { diff: "", truncated: false });
  });
  await t.step("one changed line with context, like diff -u", () => {
    const a = "1\n2\n3\n4\n5\n6\n7\n8\n";
    const b = "1\n2\n3\n4\nfive\n6\n7\n8\n";
    assertEquals(
      unifiedDiff(a, b, { labelA: "a/x", labelB: "b/x" }).diff,
      [
        "--- a/x",
        "+++ b/x",
        "@@ -2,7 +2,7 @@",
        " 2",
        " 3",
        " 4",
        "-5",
        "+five",
        " 6",
        " 7",
        " 8",
        "",
      ].join("\n"),
    );
  });
  await t.step("insertion and deletion in separate hunks", () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`).join("\n") + "\n";
    const b = a.replace("l2\n", "").replace("l17\n", "l17\nnew\n");
    const { diff } = unifiedDiff(a, b);
    assertEquals(diff.split("\n").filter((l) => l.startsWith("@@")), [
      "@@ -1,6 +1,5 @@",
      "@@ -16,5 +15,6 @@",
    ]);
  });
  await t.step("missing final newline is marked", () => {
    const { diff } = unifiedDiff("a\n", "a");
    ok(diff.includes("\\ No newline at end of file"), diff);
  });
  await t.step("truncated to maxLines", () => {
    const a = Array.from({ length: 100 }, (_, i) => `a${i}`).join("\n") + "\n";
    const b = Array.from({ length: 100 }, (_, i) => `b${i}`).join("\n") + "\n";
    const r = unifiedDiff(a, b, { maxLines: 10 });
    ok(r.truncated);
    assertEquals(r.diff.trimEnd().split("\n").length, 2 + 10 + 1);
    ok(r.diff.includes("… 191 more diff lines"), r.diff);
  });
  await t.step("a whole one-line file replaced", () => {
    assertEquals(unifiedDiff("x\n", "y\n").diff, "--- a\n+++ b\n@@ -1,1 +1,1 @@\n-x\n+y\n");
  });
  await t.step("empty to text", () => {
    assertEquals(unifiedDiff("", "x\n").diff, "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
  });
});

Deno.test("isText", () => {
  ok(isText(new TextEncoder().encode("héllo\n")));
  ok(!isText(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0])));
  ok(!isText(new Uint8Array([0xff, 0xfe, 0x41])));
});

Deno.test("unifiedDiff: a 200 KB file of short lines does not overflow the stack", () => {
  // 100,000 one-character lines on each side, all different: far above the LCS limit, so the
  // middle is one run of 200,000 changes (a spread of it into push() overflowed the stack).
  const a = "a\n".repeat(100_000);
  const b = "b\n".repeat(100_000);
  const r = unifiedDiff(a, b, { maxLines: 5 });
  assertEquals(r.truncated, true);
  assertEquals(r.diff.split("\n").slice(0, 5), [
    "--- a",
    "+++ b",
    "@@ -1,100000 +1,100000 @@",
    "-a",
    "-a",
  ]);
  ok(r.diff.endsWith("… 199996 more diff lines\n"), r.diff.slice(-60));
});
