import assert from "node:assert/strict";
import { escapes } from "./cp.ts";

Deno.test("escapes: relative symlinks that lead out of the extraction directory", () => {
  const cases: [string, string, boolean][] = [
    ["/d/out/up", "../a", false], // /d/a: inside /d
    ["/d/out/up", "../../a", true],
    ["/d/out/sub/x", "../../b", false],
    ["/d/out/x", "/etc/passwd", false], // absolute: docker cp joins it under the link's directory
    ["/d/out/x", "./y/../../..", true],
    ["/d/out/x", "..", false], // /d itself
    ["/d/out/x", "../../d2", true], // a sibling whose name starts like the root
  ];
  for (const [link, target, want] of cases) {
    assert.equal(escapes(link, target, "/d"), want, `${link} -> ${target}`);
  }
});
