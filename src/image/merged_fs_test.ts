import assert from "node:assert/strict";
import { InputError } from "../errors.ts";
import {
  buildMergedFs,
  cleanName,
  type FsNode,
  type MergedFs,
  nearestName,
  readContents,
} from "./merged_fs.ts";
import { type ImageInfo, type ImageInput, openImage } from "./reader.ts";
import { type RawEntry, rawTar, writeTestImage } from "../../tests/cp_images.ts";

interface Opened {
  input: ImageInput;
  image: ImageInfo;
  fs: MergedFs;
  path: string;
}

async function withFs(
  layers: RawEntry[][],
  fn: (o: Opened) => unknown,
  layerCompression: "none" | "gzip" | "zstd" = "none",
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/img.tar`;
    await writeTestImage(path, layers.map((l) => rawTar(l)), { layerCompression });
    await using input = await openImage(path);
    const image = input.image();
    const fs = await buildMergedFs(input, image);
    await fn({ input, image, fs, path });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function tree(fs: MergedFs): string[] {
  return [...fs.walk(fs.root)].map(([p, n]) =>
    `${p} ${n.kind} ${n.mode.toString(8)}${n.kind === "symlink" ? " -> " + n.linkname : ""}`
  );
}

async function text(o: Opened, path: string): Promise<string> {
  const node = o.fs.resolve(path).node;
  let out = "";
  await readContents(o.input, o.image, {
    nodes: [node],
    onContent: async (_nodes, body) => {
      for await (const c of body) out += new TextDecoder().decode(c);
    },
  });
  return out;
}

const BASE: RawEntry[] = [
  { name: "a/", type: "dir", mode: 0o755 },
  { name: "a/keep", content: "keep" },
  { name: "a/gone", content: "gone" },
  { name: "a/sub/", type: "dir", mode: 0o700 },
  { name: "a/sub/deep", content: "deep" },
  { name: "o/", type: "dir", mode: 0o755 },
  { name: "o/lower", content: "lower" },
  { name: "r/", type: "dir", mode: 0o755 },
  { name: "r/x", content: "x" },
  { name: "f", content: "first" },
];

Deno.test("whiteouts, opaque directories and replacement", async (t) => {
  for (const compression of ["none", "gzip"] as const) {
    await t.step(`layers ${compression}`, async () => {
      await withFs([BASE, [
        { name: "a/.wh.gone" },
        { name: "a/.wh.sub" },
        { name: "o/", type: "dir", mode: 0o750 },
        { name: "o/.wh..wh..opq" },
        { name: "o/upper", content: "upper" },
        { name: "r", content: "now a file" }, // a file replaces a directory and its subtree
        { name: "f/", type: "dir", mode: 0o711 }, // a directory replaces a file
        { name: "a/.wh..wh.plnk" }, // aufs metadata: ignored
      ]], async (o) => {
        assert.deepEqual(tree(o.fs), [
          "a dir 755",
          "a/keep file 644",
          "f dir 711",
          "o dir 750",
          "o/upper file 644",
          "r file 644",
        ]);
        assert.equal(await text(o, "/r"), "now a file");
        assert.equal(await text(o, "/a/keep"), "keep");
        assert.equal(await text(o, "/o/upper"), "upper");
      }, compression);
    });
  }
  await t.step("a directory over a directory keeps its children", async () => {
    await withFs([BASE, [{ name: "a/", type: "dir", mode: 0o700 }]], (o) => {
      assert.equal(o.fs.lookup("a")!.mode, 0o700);
      assert.ok(o.fs.lookup("a/sub/deep"));
    });
  });
  await t.step("opaque in the same layer as new children keeps them", async () => {
    await withFs([BASE, [
      { name: "o/new", content: "new" },
      { name: "o/.wh..wh..opq" },
    ]], (o) => {
      assert.deepEqual([...o.fs.lookup("o")!.children!.keys()], ["new"]);
    });
  });
});

Deno.test("hardlinks take the content of their target as it stands", async () => {
  await withFs([
    [{ name: "a", content: "one", mode: 0o600 }],
    [{ name: "b", type: "hardlink", linkname: "a" }, {
      name: "c",
      type: "hardlink",
      linkname: "/a",
    }],
    [{ name: "a", content: "two" }],
  ], async (o) => {
    assert.equal(await text(o, "/a"), "two");
    assert.equal(await text(o, "/b"), "one");
    // The link header's mode (0644 by default in rawTar) applies to the shared inode.
    assert.equal(o.fs.lookup("b")!.mode, 0o644);
    assert.equal(o.fs.lookup("b"), o.fs.lookup("c"), "one inode, two paths");
    // b and c are one node: one body.
    const calls: number[] = [];
    await readContents(o.input, o.image, {
      nodes: [o.fs.lookup("b")!, o.fs.lookup("c")!],
      onContent: async (nodes, body) => {
        calls.push(nodes.length);
        for await (const _ of body) { /* consume */ }
      },
    });
    assert.deepEqual(calls, [1]);
  });
});

Deno.test("resolve follows symlinks inside the root, like docker cp -L", async (t) => {
  const layers: RawEntry[][] = [[
    { name: "usr/", type: "dir", mode: 0o755 },
    { name: "usr/bin/", type: "dir", mode: 0o755 },
    { name: "usr/bin/app", content: "app" },
    { name: "bin", type: "symlink", linkname: "usr/bin" },
    { name: "abs", type: "symlink", linkname: "/usr/bin/app" },
    { name: "usr/bin/rel", type: "symlink", linkname: "../bin/./app" },
    { name: "up", type: "symlink", linkname: "../../../../usr/bin/app" },
    { name: "loop1", type: "symlink", linkname: "loop2" },
    { name: "loop2", type: "symlink", linkname: "/loop1" },
    { name: "dangling", type: "symlink", linkname: "/nowhere/x" },
    { name: "file", content: "f" },
  ]];
  await withFs(layers, async (o) => {
    await t.step("paths", () => {
      for (
        const [path, want] of [
          ["/usr/bin/app", "/usr/bin/app"],
          ["/bin/app", "/usr/bin/app"],
          ["/abs", "/usr/bin/app"],
          ["/usr/bin/rel", "/usr/bin/app"],
          ["/bin/rel", "/usr/bin/app"],
          ["/up", "/usr/bin/app"],
          ["/../../usr/../usr/bin/app", "/usr/bin/app"],
          ["/bin/../bin/app", "/usr/bin/app"], // ".." after a symlink leaves its target
          ["/bin/../../../usr/bin/app", "/usr/bin/app"],
          ["/bin", "/usr/bin"],
          ["/", "/"],
        ]
      ) {
        assert.equal(o.fs.resolve(path).path, want, path);
      }
      assert.equal(o.fs.resolve("/bin", { followLast: false }).node.kind, "symlink");
    });
    await t.step("errors", () => {
      const cases: [string, string][] = [
        ["/loop1", "too many levels of symbolic links (a loop?)"],
        ["/dangling", '"/nowhere" does not exist'],
        ["/usr/nope/x", '"/usr/nope" does not exist'],
        ["/bin/nope", '"/usr/bin/nope" does not exist'],
        ["/file/x", '"/file" is not a directory'],
      ];
      for (const [path, detail] of cases) {
        assert.throws(
          () => o.fs.resolve(path),
          new InputError(`Cannot find "${path}" in image "${o.path}": ${detail}`),
        );
      }
    });
  });
});

Deno.test("hostile names are contained or refused", async (t) => {
  await t.step("absolute names are contained in the root", async () => {
    await withFs(
      [[{ name: "/etc/abs", content: "a" }, { name: "./rel/./x", content: "b" }]],
      (o) => {
        assert.deepEqual(tree(o.fs), [
          "etc dir 755",
          "etc/abs file 644",
          "rel dir 755",
          "rel/x file 644",
        ]);
      },
    );
  });
  const refused: [string, RawEntry[], string][] = [
    [
      "a traversal name",
      [{ name: "a/../../evil", content: "x" }],
      'entry "a/../../evil" at offset 0 leads outside the image root',
    ],
    [
      "a hardlink out of the root",
      [{ name: "h", type: "hardlink", linkname: "../../etc/passwd" }],
      'entry "h" at offset 0 is a hardlink to "../../etc/passwd", outside the image root',
    ],
    [
      "a hardlink to nothing",
      [{ name: "h", type: "hardlink", linkname: "missing" }],
      'entry "h" at offset 0 is a hardlink to "missing", which does not exist',
    ],
  ];
  for (const [what, entries, detail] of refused) {
    await t.step(what, async () => {
      await assert.rejects(
        withFs([entries], () => Promise.resolve()),
        (e: unknown) => {
          assert.ok(e instanceof InputError);
          assert.match(
            e.message,
            /^Cannot read image ".*img\.tar": layer "blobs\/sha256\/[0-9a-f]{64}": /,
          );
          assert.ok(e.message.endsWith(detail), e.message);
          return true;
        },
      );
    });
  }
});

Deno.test("cleanName", () => {
  assert.deepEqual(cleanName("./a//b/"), ["a", "b"]);
  assert.deepEqual(cleanName("/a/../b"), ["b"]);
  assert.deepEqual(cleanName("."), []);
  assert.equal(cleanName("a/../.."), null);
});

Deno.test("devices and FIFOs are kept as such", async () => {
  await withFs([[{ name: "dev/", type: "dir" }, { name: "dev/null", type: "char" }, {
    name: "p",
    type: "fifo",
  }]], (o) => {
    const kinds = tree(o.fs).map((l) => l.split(" ").slice(0, 2).join(" "));
    assert.deepEqual(kinds, ["dev dir", "dev/null char", "p fifo"]);
    const node: FsNode | undefined = o.fs.lookup("p");
    assert.equal(node?.content, undefined);
  });
});

Deno.test("nearestName: a typo or another case is meant, anything farther is not", async (t) => {
  const names = ["server", "config.yaml", "bin", "data"];
  for (
    const [name, want] of [
      ["sever", "server"],
      ["Server", "server"],
      ["config.yml", "config.yaml"],
      ["box", null],
      ["nope", null],
    ] as const
  ) {
    await t.step(name, () => assert.equal(nearestName(name, names), want));
  }
});
