/**
 * Hostile archives: each is made here, byte by byte, and `r10e cp` either refuses it
 * with a clear message or contains it; a scan of the sandbox around DEST then shows that
 * nothing was written outside DEST (and, when refused, nothing at all).
 */
import assert from "node:assert/strict";
import {
  concat,
  type RawEntry,
  rawTar,
  runR10e,
  sha256,
  snapshot,
  writeTestImage,
} from "./cp_images.ts";
import { docker, dockerTest, importImage } from "./_docker.ts";

/**
 * A sandbox: `box/` holds the image, a file and a directory that hostile entries aim at, and
 * `box/dest/` is where cp writes. Returns the differences outside `dest/` after `fn`.
 */
async function inSandbox(
  layers: Uint8Array[],
  fn: (box: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "r10e-cp-hostile-" });
  const box = `${root}/box`;
  try {
    await Deno.mkdir(`${box}/dest`, { recursive: true });
    await Deno.mkdir(`${box}/target`);
    await Deno.writeTextFile(`${box}/target/victim`, "victim");
    await Deno.writeTextFile(`${box}/outside.txt`, "outside");
    await writeTestImage(`${box}/img.tar`, layers);
    const before = await snapshot(root);
    await fn(box);
    const after = await snapshot(root);
    const outside = (m: Map<string, string>) =>
      new Map([...m].filter(([p]) => p !== "box/dest" && !p.startsWith("box/dest/")));
    assert.deepEqual(outside(after), outside(before), "something was written outside DEST");
    const temps = [...after.keys()].filter((p) => p.includes(".r10e-cp-"));
    assert.deepEqual(temps, [], "a temporary file was left");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function expectRefused(box: string, args: string[], stderr: string | RegExp): Promise<void> {
  const before = await snapshot(`${box}/dest`);
  const r = await runR10e(["cp", "img.tar", ...args], box);
  if (typeof stderr === "string") assert.equal(r.stderr, stderr);
  else assert.match(r.stderr, stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.code, 2);
  assert.deepEqual(await snapshot(`${box}/dest`), before, "DEST changed although cp was refused");
}

const APP: RawEntry[] = [
  { name: "app/", type: "dir", mode: 0o755 },
  { name: "app/ok", content: "ok" },
];

Deno.test("path traversal names are refused", async (t) => {
  for (const name of ["../../outside.txt", "app/../../../box/outside.txt", "./../x"]) {
    await t.step(name, async () => {
      await inSandbox([rawTar([...APP, { name, content: "evil" }])], async (box) => {
        await expectRefused(
          box,
          ["/app", "dest"],
          new RegExp(
            `^r10e: Cannot read image "img\\.tar": layer "blobs/sha256/[0-9a-f]{64}": entry "${
              name.replaceAll(".", "\\.")
            }" at offset \\d+ leads outside the image root\\n$`,
          ),
        );
      });
    });
  }
  await t.step("a PAX path with ..", async () => {
    await inSandbox(
      [rawTar([...APP, { name: "x", pax: { path: "../../../outside.txt" }, content: "evil" }])],
      async (box) => {
        await expectRefused(
          box,
          ["/app", "dest"],
          /entry "\.\.\/\.\.\/\.\.\/outside\.txt" at offset \d+ leads outside the image root/,
        );
      },
    );
  });
});

Deno.test("absolute names are contained in the image root", async () => {
  await inSandbox([
    rawTar([...APP, { name: "/app/abs", content: "abs" }, {
      name: "/box/outside.txt",
      content: "evil",
    }]),
  ], async (box) => {
    const r = await runR10e(["cp", "img.tar", "/app", "dest"], box);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...(await snapshot(`${box}/dest/app`)).keys()], ["abs", "ok"]);
    const r2 = await runR10e(["cp", "img.tar", "/box/outside.txt", "dest"], box);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(await Deno.readTextFile(`${box}/dest/outside.txt`), "evil");
  });
});

Deno.test("symlinks that point out of the root resolve inside it", async (t) => {
  const layer = rawTar([
    ...APP,
    { name: "app/rel", type: "symlink", linkname: "../../../../../../../box/outside.txt" },
    { name: "app/abs", type: "symlink", linkname: "/box/target" },
    { name: "app/dir", type: "symlink", linkname: "../../../.." },
  ]);
  await inSandbox([layer], async (box) => {
    await t.step("a relative escape is not the host's file", async () => {
      await expectRefused(
        box,
        ["/app/rel", "dest"],
        'r10e: Cannot find "/app/rel" in image "img.tar": "/box" does not exist\n',
      );
    });
    await t.step("an absolute target is the image's path", async () => {
      await expectRefused(
        box,
        ["/app/abs/victim", "dest"],
        'r10e: Cannot find "/app/abs/victim" in image "img.tar": "/box" does not exist\n',
      );
    });
    await t.step(".. stops at the root", async () => {
      const r = await runR10e(["cp", "img.tar", "/app/dir/app/ok", "dest"], box);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await Deno.readTextFile(`${box}/dest/ok`), "ok");
    });
    await t.step(
      "in a copied directory, a relative symlink out of DEST is refused, as docker cp does",
      async () => {
        await expectRefused(
          box,
          ["/app", "dest"],
          'r10e: Cannot copy to "dest/app": symlink "dir" -> "../../../.." would point outside "dest" (and 1 more)\n',
        );
      },
    );
  });
  // Without the relative escapes: absolute targets are kept as they are (docker cp does too).
  await inSandbox(
    [rawTar([...APP, { name: "app/abs", type: "symlink", linkname: "/box/target" }])],
    async (box) => {
      await t.step(
        "in a copied directory, symlinks are copied as symlinks, never followed",
        async () => {
          const r = await runR10e(["cp", "img.tar", "/app", "dest"], box);
          assert.equal(r.code, 0, r.stderr);
          assert.equal((await snapshot(`${box}/dest/app`)).get("abs"), "symlink -> /box/target");
        },
      );
      await t.step(
        "copying again over those symlinks replaces them, writes nothing through them",
        async () => {
          const r = await runR10e(["cp", "img.tar", "/app", "dest"], box);
          assert.equal(r.code, 0, r.stderr);
          assert.equal((await snapshot(`${box}/dest/app`)).get("abs"), "symlink -> /box/target");
        },
      );
    },
  );
});

Deno.test("a symlinked parent directory cannot lead a write out", async (t) => {
  // Layer 1 makes app/sub a symlink to the host's box/target; layer 2 puts a file under app/sub.
  const layers = [
    rawTar([...APP, { name: "app/sub", type: "symlink", linkname: "../../target" }]),
    rawTar([{ name: "app/sub/evil", content: "evil" }]),
  ];
  await inSandbox(layers, async (box) => {
    await t.step("in the image: the directory replaces the symlink", async () => {
      const r = await runR10e(["cp", "img.tar", "/app", "dest"], box);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await snapshot(`${box}/dest/app`)).get("sub"), "dir 755");
      assert.equal(await Deno.readTextFile(`${box}/dest/app/sub/evil`), "evil");
    });
  });
  await inSandbox(layers, async (box) => {
    await t.step("on the host: a symlink where a directory goes is refused", async () => {
      await Deno.mkdir(`${box}/dest/app`);
      await Deno.symlink("../../target", `${box}/dest/app/sub`);
      await expectRefused(
        box,
        ["/app", "dest"],
        'r10e: Cannot copy to "dest/app/sub": cannot overwrite a non-directory with a directory\n',
      );
    });
  });
});

Deno.test("a hardlink out of the root is refused", async () => {
  await inSandbox(
    [rawTar([...APP, { name: "app/h", type: "hardlink", linkname: "../../../box/outside.txt" }])],
    async (box) => {
      await expectRefused(
        box,
        ["/app", "dest"],
        /^r10e: Cannot read image "img\.tar": layer "blobs\/sha256\/[0-9a-f]{64}": entry "app\/h" at offset \d+ is a hardlink to "\.\.\/\.\.\/\.\.\/box\/outside\.txt", outside the image root\n$/,
      );
    },
  );
});

Deno.test("a symlink loop ends with an error", async () => {
  await inSandbox(
    [rawTar([
      ...APP,
      { name: "app/a", type: "symlink", linkname: "b" },
      { name: "app/b", type: "symlink", linkname: "/app/a" },
    ])],
    async (box) => {
      await expectRefused(
        box,
        ["/app/a", "dest"],
        'r10e: Cannot find "/app/a" in image "img.tar": too many levels of symbolic links (a loop?)\n',
      );
    },
  );
});

Deno.test("a truncated layer is refused", async () => {
  const full = rawTar([...APP, { name: "app/big", content: "x".repeat(5000) }], { end: false });
  // Cut inside app/big's content; the digests are of the truncated bytes, so only the tar is bad.
  const cut = full.subarray(0, full.length - 2000);
  const offset = 512 + 512 + 512; // app/, app/ok + its content block
  await inSandbox([concat([cut])], async (box) => {
    await expectRefused(
      box,
      ["/app", "dest"],
      `r10e: Cannot read image "img.tar": layer "blobs/sha256/${
        sha256(cut)
      }" is not a valid tar\n` +
        `  caused by: Cannot read tar "blobs/sha256/${
          sha256(cut)
        }": entry "app/big" at offset ${offset} is truncated\n`,
    );
  });
});

Deno.test("devices and FIFOs are refused", async () => {
  await inSandbox(
    [rawTar([...APP, { name: "app/fifo", type: "fifo" }, { name: "app/disk", type: "block" }])],
    async (box) => {
      await expectRefused(
        box,
        ["/app", "dest"],
        'r10e: Cannot copy from image "img.tar": "/app/disk" is a block device, "/app/fifo" is a FIFO; r10e cp copies only files, directories and symlinks\n',
      );
    },
  );
});

/** A layer with a directory /app holding a file, a subdirectory and a relative symlink. */
const LINKED_DEST: RawEntry[] = [
  { name: "app/", type: "dir", mode: 0o755 },
  { name: "app/f", content: "f\n" },
  { name: "app/sub/", type: "dir", mode: 0o750 },
  { name: "app/sub/g", content: "g\n" },
  { name: "app/sub/up", type: "symlink", linkname: "../f" },
];

/** `cp SRC link` for each SRC, where `link` is a symlink to an empty directory `real`. */
async function copyIntoLink(
  dir: string,
  sources: string[],
  copy: (src: string, dest: string) => Promise<void>,
): Promise<Map<string, string>[]> {
  const out: Map<string, string>[] = [];
  for (const [i, src] of sources.entries()) {
    await Deno.mkdir(`${dir}/${i}/real`, { recursive: true });
    await Deno.symlink("real", `${dir}/${i}/link`);
    await copy(src, `${dir}/${i}/link`);
    out.push(await snapshot(`${dir}/${i}`));
  }
  return out;
}

Deno.test("cp: a symlinked DEST directory is followed by cp /app DEST and cp /app/. DEST alike", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-cp-linked-" });
  try {
    await writeTestImage(`${dir}/img.tar`, [rawTar(LINKED_DEST)]);
    const [app, contents] = await copyIntoLink(`${dir}/r10e`, ["/app", "/app/."], async (s, d) => {
      const r = await runR10e(["cp", "img.tar", s, d], dir);
      assert.equal(r.code, 0, r.stderr);
    });
    // The link stays a link; the copy is inside the directory it names, in both forms: /app
    // as real/app, its contents as real/*.
    assert.equal(app.get("link"), "symlink -> real");
    assert.equal(contents.get("link"), "symlink -> real");
    const under = (m: Map<string, string>, prefix: string) =>
      new Map(
        [...m].filter(([p]) => p.startsWith(prefix)).map(([p, v]) => [p.slice(prefix.length), v]),
      );
    assert.deepEqual(under(contents, "real/"), under(app, "real/app/"));
    assert.equal(app.get("real/app/sub/up"), "symlink -> ../f");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

dockerTest("cp: a symlinked DEST directory as docker cp -L treats it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-cp-linked-docker-" });
  const tag = `r10e-cp-linked:${crypto.randomUUID().slice(0, 8)}`;
  let container = "";
  try {
    const layer = rawTar(LINKED_DEST);
    await Deno.mkdir(`${dir}/rootfs`);
    await Deno.writeFile(`${dir}/layer.tar`, layer);
    const untar = await new Deno.Command("tar", {
      args: ["-C", `${dir}/rootfs`, "-xf", `${dir}/layer.tar`],
    }).output();
    assert.equal(untar.code, 0);
    await importImage(`${dir}/rootfs`, tag);
    await docker(["save", "-o", `${dir}/img.tar`, tag]);
    container = (await docker(["create", "--network", "none", tag, "/none"])).stdout.trim();
    const sources = ["/app", "/app/."];
    const want = await copyIntoLink(`${dir}/docker`, sources, async (s, d) => {
      await docker(["cp", "-L", `${container}:${s}`, d]);
    });
    const got = await copyIntoLink(`${dir}/r10e`, sources, async (s, d) => {
      const r = await runR10e(["cp", "img.tar", s, d], dir);
      assert.equal(r.code, 0, r.stderr);
    });
    assert.deepEqual(got, want);
    assert.ok(want[1].has("real/f"), "docker cp did not follow the link");
  } finally {
    if (container) await docker(["rm", "-f", container], { allowFail: true });
    await docker(["rmi", "-f", tag], { allowFail: true });
    await Deno.remove(dir, { recursive: true });
  }
});
