import assert from "node:assert/strict";
import type { FsNode } from "../image/merged_fs.ts";
import { type HostEntry, LinkChecker } from "./containment.ts";

function dir(children: Record<string, FsNode>): FsNode {
  return {
    kind: "dir",
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: 0,
    linkname: "",
    xattrs: {},
    layer: 0,
    children: new Map(Object.entries(children)),
  };
}

function link(target: string): FsNode {
  return { ...dir({}), kind: "symlink", linkname: target, children: undefined };
}

function file(): FsNode {
  return { ...dir({}), kind: "file", children: undefined };
}

/** A host with only what `entries` lists (absolute paths). */
function host(entries: Record<string, HostEntry> = {}) {
  return (path: string) => Promise.resolve(entries[path] ?? { kind: "missing" } as HostEntry);
}

Deno.test("LinkChecker: relative links resolved against the copy, links followed", async (t) => {
  // The copy lands as /d/out (extraction directory /d), like `cp IMG /app /d/out`.
  const tree = dir({
    a: link("."),
    b: link("a/../.."), // a is out itself: a/.. is /d, and /d/.. is above it
    c: link("a/../x"), // /d/x: inside /d
    up: link(".."), // /d: the boundary itself
    sub: dir({ deep: link("../../../etc") }),
    loop: link("loop/x"),
    abs: link("/etc/passwd"),
    viaAbs: link("abs/../../.."), // reaches an absolute link: judged like it (kept)
    f: file(),
    notDir: link("f/../../.."), // f is a file: ENOTDIR, resolves to nothing
  });
  const cases: [string[], string, boolean][] = [
    [["out"], "../a", false],
    [["out"], "../../a", true],
    [["out"], "b/x", true],
    [["out"], "c", false],
    [["out"], "up/..", true],
    [["out"], "a/a/a/../..", true],
    [["out", "sub"], "deep", true],
    [["out", "sub"], "../..", false],
    [["out"], "loop", false],
    [["out"], "/etc", false],
    [["out"], "viaAbs", false],
    [["out"], "notDir", false],
  ];
  for (const [dirParts, target, want] of cases) {
    await t.step(`${dirParts.join("/")}: -> ${target}`, async () => {
      const checker = new LinkChecker("/d", { node: tree, name: "out" }, { host: host() });
      assert.equal(await checker.leadsOut(dirParts, target), want);
    });
  }
  await t.step("a merge follows what is already on the host", async () => {
    // Merging into /d itself: /d/old is an existing host link to "..".
    const checker = new LinkChecker("/d", { node: dir({ x: link("old/y") }), name: "" }, {
      host: host({ "/d/old": { kind: "symlink", linkname: ".." } }),
    });
    assert.equal(await checker.leadsOut([], "x"), true);
    assert.equal(await checker.leadsOut([], "old"), true);
    assert.equal(await checker.leadsOut([], "missing/../x"), true);
    assert.equal(await checker.leadsOut([], "missing/../missing2"), false);
  });
  await t.step("a budget bounds the work of hostile chains", async () => {
    const checker = new LinkChecker("/d", { node: tree, name: "out" }, {
      host: host(),
      maxSteps: 10,
    });
    await assert.rejects(checker.leadsOut(["out"], "x/".repeat(20)), RangeError);
  });
});
