import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { globMatch } from "./glob.ts";

Deno.test("globMatch", async (t) => {
  const table: [string, string, boolean][] = [
    ["etc/passwd", "etc/passwd", true],
    ["/etc/passwd", "etc/passwd", true],
    ["etc/passwd", "/etc/passwd", true],
    ["etc/*", "etc/passwd", true],
    ["etc/*", "etc/ssl/certs/ca.pem", true], // a matched directory covers its subtree
    ["etc/*.conf", "etc/a.conf", true],
    ["etc/*.conf", "etc/a.confx", false],
    ["*.pyc", "usr/lib/x/y.pyc", true], // no slash: any depth
    ["*.pyc", "usr/lib/x/y.py", false],
    ["**/cache", "var/lib/cache", true],
    ["**/cache", "cache", true],
    ["var/**/log", "var/a/b/log", true],
    ["var/**/log", "var/log", true],
    ["app/server", "app/server2", false],
    ["app/serve?", "app/server", true],
    ["app/[ab]in", "app/bin", true],
    ["app/[!ab]in", "app/bin", false],
    ["a.b", "axb", false],
    ["tmp", "tmp/x/y", true],
    ["/tmp", "var/tmp", false],
  ];
  for (const [glob, path, want] of table) {
    await t.step(`${glob} ~ ${path}`, () => assertEquals(globMatch(glob, path), want));
  }
  await t.step("unterminated class", () => {
    assertThrows(() => globMatch("a[b", "ab"), SyntaxError);
  });
});
