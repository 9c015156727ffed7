import { assertEquals } from "../../tests/_assert.ts";
import { compareGoVersions, parseGoModVersions } from "./go_mod.ts";

Deno.test("parseGoModVersions: the go and toolchain lines, comments ignored", () => {
  assertEquals(
    parseGoModVersions("module x // go 1.99\n\ngo 1.25.0 // oldest\n\ntoolchain go1.25.3\n"),
    { go: "1.25.0", toolchain: "1.25.3" },
  );
  assertEquals(parseGoModVersions("module x\n"), { go: null, toolchain: null });
  assertEquals(parseGoModVersions("module x\ngo 1.27rc1\n").go, "1.27rc1");
});

Deno.test("compareGoVersions: numeric, a missing patch is 0, init and build compare alike", () => {
  const cases: [string, string, number][] = [
    ["1.26", "1.26.0", 0],
    ["1.26.10", "1.26.9", 1],
    ["1.9", "1.26", -1],
    ["1.27rc1", "1.26.8", 1],
  ];
  for (const [a, b, sign] of cases) assertEquals(Math.sign(compareGoVersions(a, b)), sign);
});
