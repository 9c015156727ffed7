import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { copiesContents, placeCopy, sourceBaseName } from "./destination.ts";

const none = { exists: false, isDir: false, parentExists: true };
const file = { exists: true, isDir: false, parentExists: true };
const dir = { exists: true, isDir: true, parentExists: true };

Deno.test("placeCopy follows docker cp's rules", async (t) => {
  const cases: [string, string, boolean, typeof none, string | [string, "file" | "dir"]][] = [
    // [what, src, src is dir, dest state, dest arg → expected]
    ["file to a new name", "/app/bin", false, none, ["out", "file"]],
    ["file to a new name ending in /", "/app/bin", false, none, "the directory does not exist"],
    ["file over a file", "/app/bin", false, file, ["out", "file"]],
    ["file into a directory", "/app/bin", false, dir, ["out/bin", "file"]],
    ["file through a symlink name", "/link", false, dir, ["out/link", "file"]],
    ["file named with a trailing slash", "/app/bin/", false, dir, "it is not a directory"],
    ["directory to a new name", "/app", true, none, ["out", "dir"]],
    ["directory over a file", "/app", true, file, "it is a file"],
    ["directory into a directory", "/app", true, dir, ["out/app", "dir"]],
    ["directory contents into a directory", "/app/.", true, dir, ["out", "dir"]],
    ["root into a directory", "/", true, dir, ["out", "dir"]],
  ];
  for (const [what, src, isDir, state, want] of cases) {
    await t.step(what, () => {
      const arg = what.endsWith("ending in /") ? "out/" : "out";
      const run = () => placeCopy({ arg: src, isDir }, { arg, ...state });
      if (typeof want === "string") {
        assert.throws(run, (e: unknown) => {
          assert.ok(e instanceof UsageError);
          assert.ok(e.message.endsWith(want), e.message);
          return true;
        });
      } else {
        const got = run();
        assert.deepEqual([got.target, got.mode], want);
      }
    });
  }
  await t.step("a missing parent directory", () => {
    assert.throws(
      () =>
        placeCopy({ arg: "/a", isDir: false }, { arg: "no/such/x", ...none, parentExists: false }),
      new UsageError('Cannot copy to "no/such/x": its parent directory does not exist'),
    );
  });
  await t.step("a new directory given with a trailing slash", () => {
    assert.deepEqual(placeCopy({ arg: "/app", isDir: true }, { arg: "new/", ...none }), {
      target: "new",
      mode: "dir",
    });
  });
});

Deno.test("sourceBaseName and copiesContents", () => {
  assert.equal(sourceBaseName("/usr/bin/"), "bin");
  assert.equal(sourceBaseName("/"), "");
  assert.equal(copiesContents("/usr/."), true);
  assert.equal(copiesContents("/"), true);
  assert.equal(copiesContents("/usr"), false);
});
