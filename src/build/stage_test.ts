import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { headerName } from "../tar/writer.ts";
import { layerEntries, type StagedItem, symlinkInside } from "./stage.ts";

const f = (dest: string, executable = false): StagedItem => ({
  dest,
  kind: "file",
  executable,
  size: 0,
  content: async function* () {},
  origin: dest,
});

Deno.test("layerEntries: parents emitted explicitly, sorted bytewise, modes from the class", () => {
  const entries = layerEntries([f("/app/z"), f("/app-x"), f("/app/bin/server", true), {
    dest: "/app/link",
    kind: "symlink",
    linkTarget: "bin/server",
    origin: "l",
  }]);
  assertEquals(entries.map((e) => [headerName(e), e.mode.toString(8)]), [
    ["app-x", "644"],
    ["app/", "755"],
    ["app/bin/", "755"],
    ["app/bin/server", "755"],
    ["app/link", "777"],
    ["app/z", "644"],
  ]);
});

Deno.test("layerEntries: the order of the input does not matter", () => {
  const items = ["/b/c", "/a", "/b/a/x", "/c\u00e9", "/ce"].map((d) => f(d));
  const forward = layerEntries(items).map(headerName);
  const backward = layerEntries([...items].reverse()).map(headerName);
  assertEquals(forward, backward);
  assertEquals(forward, ["a", "b/", "b/a/", "b/a/x", "b/c", "ce", "c\u00e9"]);
});

Deno.test("layerEntries: a path claimed twice, or a file used as a directory, is an error", () => {
  assertThrows(
    () => layerEntries([f("/a"), f("/a")]),
    RangeError,
    'Cannot stage "/a" from /a: /a already puts a file there',
  );
  assertThrows(
    () => layerEntries([f("/a"), f("/a/b")]),
    RangeError,
    'Cannot stage "/a" from /a/b: /a already puts a file there',
  );
});

Deno.test("symlinkInside", async (t) => {
  const cases: [string, string, string | null][] = [
    ["x", "y", "y"],
    ["d/x", "../y", "y"],
    ["d/x", "../../y", null],
    ["x", "/etc/passwd", null],
    ["d/e/x", "./../f", "d/f"],
  ];
  for (const [link, target, want] of cases) {
    await t.step(`${link} -> ${target}`, () => assertEquals(symlinkInside(link, target), want));
  }
});
