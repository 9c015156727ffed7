/**
 * `r10e cp` through the real entry point: docker cp's destination rules, `-`, `--json`,
 * `--platform`, every input packaging, and errors (exit code, stdout and stderr apart).
 */
import assert from "node:assert/strict";
import { readTar } from "../src/tar/reader.ts";
import {
  type RawEntry,
  rawTar,
  runR10e,
  sha256,
  snapshot,
  type TestImageOptions,
  writeTestImage,
} from "./cp_images.ts";

const SERVER = "#!/bin/sh\necho server\n";
const LAYERS: RawEntry[][] = [
  [
    { name: "app/", type: "dir", mode: 0o755, mtime: 1600000000 },
    { name: "app/server", content: SERVER, mode: 0o755, mtime: 1600000001 },
    { name: "app/conf/", type: "dir", mode: 0o750 },
    { name: "app/conf/a.txt", content: "A\n", mode: 0o640 },
    { name: "app/ro/", type: "dir", mode: 0o555 },
    { name: "app/ro/r.txt", content: "read only dir\n", mode: 0o444 },
    { name: "app/link", type: "symlink", linkname: "server" },
    { name: "bin", type: "symlink", linkname: "/app" },
    { name: "dev/", type: "dir", mode: 0o755 },
    { name: "dev/null", type: "char" },
    { name: "empty", content: "" },
  ],
  [
    // A hardlink's header sets the shared inode's mode and mtime (as Docker applies it).
    { name: "app/hard", type: "hardlink", linkname: "app/server", mode: 0o755, mtime: 1600000001 },
    { name: "app/conf/.wh.a.txt" },
    { name: "app/conf/b.txt", content: "B\n", mode: 0o600 },
  ],
];
const SERVER_SHA = sha256(new TextEncoder().encode(SERVER));

async function setup(options: TestImageOptions = {}, name = "img.tar") {
  const dir = await Deno.makeTempDir({ prefix: "r10e-cp-cli-" });
  await writeTestImage(`${dir}/${name}`, LAYERS.map((l) => rawTar(l)), options);
  return dir;
}

Deno.test("cp copies a file as docker cp -L does", async (t) => {
  const dir = await setup();
  try {
    await t.step("to a new name, through a symlinked directory", async () => {
      const r = await runR10e(["cp", "img.tar", "/bin/server", "out"], dir);
      assert.equal(r.stderr, "");
      assert.equal(r.stdout, `out(sha256:${SERVER_SHA})\n`);
      assert.equal(r.code, 0);
      const st = await Deno.stat(`${dir}/out`);
      assert.equal(st.mode! & 0o7777, 0o755);
      assert.equal(st.mtime!.getTime(), 1600000001000);
      assert.equal(await Deno.readTextFile(`${dir}/out`), SERVER);
    });
    await t.step("a symlink SRC is followed and keeps its own name", async () => {
      await Deno.mkdir(`${dir}/d`);
      const r = await runR10e(["cp", "img.tar", "/app/link", "d"], dir);
      assert.equal(r.stdout, `d/link(sha256:${SERVER_SHA})\n`);
      assert.equal(await Deno.readTextFile(`${dir}/d/link`), SERVER);
      assert.ok((await Deno.lstat(`${dir}/d/link`)).isFile);
    });
    await t.step(
      "over an existing file, and over a symlink (the link is replaced, not followed)",
      async () => {
        await Deno.writeTextFile(`${dir}/old`, "old");
        await Deno.writeTextFile(`${dir}/victim`, "victim");
        await Deno.symlink("victim", `${dir}/d/hard`);
        assert.equal((await runR10e(["cp", "img.tar", "/app/hard", "old"], dir)).code, 0);
        assert.equal(await Deno.readTextFile(`${dir}/old`), SERVER);
        assert.equal((await runR10e(["cp", "img.tar", "/app/hard", "d"], dir)).code, 0);
        assert.ok((await Deno.lstat(`${dir}/d/hard`)).isFile);
        assert.equal(await Deno.readTextFile(`${dir}/victim`), "victim");
      },
    );
    await t.step("an empty file", async () => {
      const r = await runR10e(["cp", "img.tar", "/empty", "e"], dir);
      assert.equal(r.stdout, `e(sha256:${sha256(new Uint8Array(0))})\n`);
      assert.equal((await Deno.stat(`${dir}/e`)).size, 0);
    });
    await t.step("no temporary file is left", async () => {
      const names = [...(await snapshot(dir)).keys()];
      assert.deepEqual(names.filter((n) => n.includes(".r10e-cp-")), []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp copies a directory as docker cp does", async (t) => {
  const dir = await setup();
  const expected = new Map([
    ["conf", "dir 750"],
    ["conf/b.txt", `file 600 ${sha256(new TextEncoder().encode("B\n"))}`],
    ["hard", `file 755 ${SERVER_SHA}`],
    ["link", "symlink -> server"],
    ["ro", "dir 555"],
    ["ro/r.txt", `file 444 ${sha256(new TextEncoder().encode("read only dir\n"))}`],
    ["server", `file 755 ${SERVER_SHA}`],
  ]);
  try {
    await t.step("to a new directory", async () => {
      const r = await runR10e(["cp", "img.tar", "/app", "new"], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.split("\n"), [
        `new/conf/b.txt(sha256:${sha256(new TextEncoder().encode("B\n"))})`,
        `new/hard(sha256:${SERVER_SHA})`,
        `new/ro/r.txt(sha256:${sha256(new TextEncoder().encode("read only dir\n"))})`,
        `new/server(sha256:${SERVER_SHA})`,
        "",
      ]);
      assert.deepEqual(await snapshot(`${dir}/new`), expected);
      // A hard link in the image is a hard link here, as docker cp -L keeps it.
      const [hard, server] = [
        await Deno.stat(`${dir}/new/hard`),
        await Deno.stat(`${dir}/new/server`),
      ];
      assert.equal(hard.ino, server.ino);
      assert.equal(hard.nlink, 2);
      assert.equal((await Deno.stat(`${dir}/new`)).mode! & 0o777, 0o755);
      assert.equal((await Deno.stat(`${dir}/new`)).mtime!.getTime(), 1600000000000);
    });
    await t.step("into an existing directory, through a symlink SRC", async () => {
      await Deno.mkdir(`${dir}/into`);
      const r = await runR10e(["cp", "img.tar", "/bin", "into"], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await snapshot(`${dir}/into/bin`), expected);
      assert.equal(
        (await Deno.stat(`${dir}/into/bin/hard`)).ino,
        (await Deno.stat(`${dir}/into/bin/server`)).ino,
      );
    });
    await t.step("its contents with /.", async () => {
      await Deno.mkdir(`${dir}/contents`);
      await Deno.chmod(`${dir}/contents`, 0o700);
      await Deno.writeTextFile(`${dir}/contents/keep`, "kept");
      const r = await runR10e(["cp", "img.tar", "/app/.", "contents"], dir);
      assert.equal(r.code, 0, r.stderr);
      // The existing directory keeps its own mode (docker cp skips the "." entry).
      assert.equal((await Deno.stat(`${dir}/contents`)).mode! & 0o777, 0o700);
      const snap = await snapshot(`${dir}/contents`);
      assert.equal(snap.get("keep"), `file 644 ${sha256(new TextEncoder().encode("kept"))}`);
      snap.delete("keep");
      assert.deepEqual(snap, expected);
    });
    await t.step("refuses to put a directory over a file", async () => {
      await Deno.writeTextFile(`${dir}/afile`, "x");
      const r = await runR10e(["cp", "img.tar", "/app", "afile"], dir);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, 'r10e: Cannot copy a directory to "afile": it is a file\n');
    });
  } finally {
    await Deno.chmod(`${dir}/new/ro`, 0o755).catch(() => {});
    await Deno.chmod(`${dir}/into/bin/ro`, 0o755).catch(() => {});
    await Deno.chmod(`${dir}/contents/ro`, 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp writes a tar stream for -, and JSON with --json", async () => {
  const dir = await setup();
  try {
    const r = await runR10e(["cp", "--json", "img.tar", "/app/conf", "-"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stderr), [
      { path: "conf/b.txt", size: 2, sha256: sha256(new TextEncoder().encode("B\n")) },
    ]);
    const seen: string[] = [];
    for await (const e of readTar(ReadableStream.from([r.stdoutBytes]))) {
      let text = "";
      for await (const c of e.body) text += new TextDecoder().decode(c);
      seen.push(`${e.header.name} ${e.header.mode.toString(8)} ${text}`);
    }
    assert.deepEqual(seen, ["conf/ 750 ", "conf/b.txt 600 B\n"]);
    const j = await runR10e(["cp", "--json", "img.tar", "/app/server", "s"], dir);
    assert.deepEqual(JSON.parse(j.stdout), [{
      path: "s",
      size: SERVER.length,
      sha256: SERVER_SHA,
    }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp - streams files of compressed layers in path order, and a single file", async () => {
  const dir = await setup({ outer: "gzip", layerCompression: "zstd" }, "img.tar.gz");
  try {
    const r = await runR10e(["cp", "img.tar.gz", "/bin", "-"], dir);
    assert.equal(r.code, 0, r.stderr);
    const seen: string[] = [];
    for await (const e of readTar(ReadableStream.from([r.stdoutBytes]))) {
      let text = "";
      for await (const c of e.body) text += new TextDecoder().decode(c);
      seen.push(`${e.header.name} ${e.header.kind} ${sha256(new TextEncoder().encode(text))}`);
    }
    const empty = sha256(new Uint8Array(0));
    assert.deepEqual(seen, [
      `bin/ dir ${empty}`,
      `bin/conf/ dir ${empty}`,
      `bin/conf/b.txt file ${sha256(new TextEncoder().encode("B\n"))}`,
      `bin/hard file ${SERVER_SHA}`,
      `bin/link symlink ${empty}`,
      `bin/ro/ dir ${empty}`,
      `bin/ro/r.txt file ${sha256(new TextEncoder().encode("read only dir\n"))}`,
      `bin/server file ${SERVER_SHA}`,
    ]);
    assert.equal(r.stderr.split("\n").length, 5); // four files listed on stderr
    const f = await runR10e(["cp", "img.tar.gz", "/app/server", "-"], dir);
    const names: string[] = [];
    for await (const e of readTar(ReadableStream.from([f.stdoutBytes]))) names.push(e.header.name);
    assert.deepEqual(names, ["server"]);
    assert.equal(f.stderr, `server(sha256:${SERVER_SHA})\n`);
    const left = [];
    for await (const d of Deno.readDir(dir)) left.push(d.name);
    assert.deepEqual(left, ["img.tar.gz"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp reads every packaging the same way", async (t) => {
  const variants: [string, TestImageOptions, string][] = [
    ["tar.gz with gzip layers", { outer: "gzip", layerCompression: "gzip" }, "img.tar.gz"],
    ["tar.zst with zstd layers", { outer: "zstd", layerCompression: "zstd" }, "img.tar.zst"],
    ["OCI layout directory", { outer: "dir", layout: "oci-only" }, "img"],
    ["docker-archive before Docker 25", { layout: "docker-legacy" }, "img.tar"],
  ];
  for (const [what, options, name] of variants) {
    await t.step(what, async () => {
      const dir = await setup(options, name);
      try {
        const r = await runR10e(["cp", name, "/app/.", "out"], dir);
        assert.equal(r.code, 0, r.stderr);
        assert.equal((await snapshot(`${dir}/out`)).get("hard"), `file 755 ${SERVER_SHA}`);
      } finally {
        await Deno.chmod(`${dir}/out/ro`, 0o755).catch(() => {});
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});

Deno.test("cp --platform chooses among platforms", async () => {
  const dir = await setup({ platforms: ["linux/amd64", "linux/arm64"] });
  try {
    const none = await runR10e(["cp", "img.tar", "/app/server", "x"], dir);
    assert.equal(none.code, 2);
    assert.equal(
      none.stderr,
      'r10e: Cannot read image "img.tar": it holds images for linux/amd64, linux/arm64: choose one with --platform\n',
    );
    const r = await runR10e(
      ["cp", "--platform", "linux/arm64", "img.tar", "/app/server", "x"],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/x`), SERVER);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp errors: exit 2, a message naming what is wrong, nothing written", async (t) => {
  const dir = await setup();
  try {
    const cases: [string, string[], string][] = [
      [
        "a missing path component",
        ["/app/nope/x", "out"],
        'r10e: Cannot find "/app/nope/x" in image "img.tar": "/app/nope" does not exist\n',
      ],
      [
        "a whited-out file",
        ["/bin/conf/a.txt", "out"],
        'r10e: Cannot find "/bin/conf/a.txt" in image "img.tar": "/app/conf/a.txt" does not exist; did you mean "/app/conf/b.txt"?\n',
      ],
      [
        "a device",
        ["/dev/null", "out"],
        'r10e: Cannot copy from image "img.tar": "/dev/null" is a character device; r10e cp copies only files, directories and symlinks\n',
      ],
      [
        "a directory holding a device",
        ["/dev", "out"],
        'r10e: Cannot copy from image "img.tar": "/dev/null" is a character device; r10e cp copies only files, directories and symlinks\n',
      ],
      [
        "a missing image",
        ["/app", "out"],
        'r10e: Cannot read image "nope.tar": file not found\n',
      ],
      [
        "a destination whose directory is missing",
        ["/app/server", "no/such/dir/x"],
        'r10e: Cannot copy to "no/such/dir/x": its parent directory does not exist\n',
      ],
    ];
    for (const [what, args, stderr] of cases) {
      await t.step(what, async () => {
        const before = await snapshot(dir);
        const image = what === "a missing image" ? "nope.tar" : "img.tar";
        const r = await runR10e(["cp", image, ...args], dir);
        assert.equal(r.stderr, stderr);
        assert.equal(r.stdout, "");
        assert.equal(r.code, 2);
        assert.deepEqual(await snapshot(dir), before);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
