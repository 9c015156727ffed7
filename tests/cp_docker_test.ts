/**
 * Ground truth from a real engine: the bytes, modes and symlinks that `r10e cp`
 * writes equal what `docker create` + `docker cp -L` writes, for files and directories.
 *
 * Two images, both `docker save`d to a tar that r10e reads:
 * 1. built with `docker build` from a base this test makes with `docker import`: whiteouts
 *    (deleted files and directories), a directory emptied and refilled, relative and absolute
 *    symlinks, symlinked directories, hardlinks, modes;
 * 2. made byte by byte here and `docker load`ed, for what `docker build` on the vfs driver does
 *    not write: opaque directories (`.wh..wh..opq`) and hardlinks across layers. Docker applies
 *    those layers itself on load, so `docker cp` shows its reading of them.
 */
import assert from "node:assert/strict";
import { docker, dockerTest, importImage, writeBusyboxRootfs } from "./_docker.ts";
import { rawTar, runR10e, snapshot, writeTestImage } from "./cp_images.ts";

const DOCKERFILE = `FROM r10e-cp-base:test
RUN mkdir -p /data/sub /data/gone-dir/x /opq/lowerdir \\
 && echo one > /data/a && echo gone > /data/gone && echo y > /data/gone-dir/x/y \\
 && echo lower > /opq/lower && echo f > /opq/lowerdir/f \\
 && echo deep > /data/sub/deep && chmod 0600 /data/sub/deep && chmod 0750 /data/sub \\
 && printf '#!/bin/sh\\necho app\\n' > /app && chmod 0755 /app && chmod 4711 /data/a
RUN rm /data/gone && rm -rf /data/gone-dir && rm -rf /opq && mkdir /opq && echo new > /opq/new \\
 && ln -s /data/a /abslink && ln -s ../data/sub /etc/rellink && ln -s /data /datalink \\
 && ln -s datalink /link2 && ln /data/a /data/hard && ln -s ../a /data/sub/up \\
 && ln -s /etc/rellink/deep /data/chain
RUN echo more >> /data/sub/deep && mkdir -p /ro && echo r > /ro/f && chmod 0444 /ro/f && chmod 0555 /ro
`;

/** SRC paths to copy, each to a new DEST, with docker cp -L and with r10e cp. */
const SOURCES_BUILT = [
  "/app",
  "/data/a",
  "/data/hard",
  "/abslink",
  "/etc/rellink/deep",
  "/datalink/sub/up",
  "/link2/sub/deep",
  "/data/chain",
  "/data",
  "/datalink",
  "/etc/rellink",
  "/opq",
  "/ro",
  "/data/sub/.",
];

async function compare(
  t: Deno.TestContext,
  dir: string,
  archive: string,
  container: string,
  sources: string[],
  options: { into?: boolean } = {},
): Promise<void> {
  for (const [n, src] of sources.entries()) {
    await t.step(`${src}${options.into ? " into an existing directory" : ""}`, async () => {
      const i = `${n}${options.into ? "-into" : ""}`;
      await Deno.mkdir(`${dir}/docker-${i}`);
      await Deno.mkdir(`${dir}/r10e-${i}`);
      if (options.into) {
        // Into an existing directory (mode 0700, holding a file of its own).
        for (const side of ["docker", "r10e"]) {
          await Deno.mkdir(`${dir}/${side}-${i}/out`, { mode: 0o700 });
          await Deno.chmod(`${dir}/${side}-${i}/out`, 0o700);
          await Deno.writeTextFile(`${dir}/${side}-${i}/out/mine`, "mine");
        }
      }
      await docker(["cp", "-L", `${container}:${src}`, `${dir}/docker-${i}/out`]);
      const r = await runR10e(["cp", archive, src, `${dir}/r10e-${i}/out`], dir);
      assert.equal(r.code, 0, r.stderr);
      const want = await snapshot(`${dir}/docker-${i}`, { mtime: true });
      const got = await snapshot(`${dir}/r10e-${i}`, { mtime: true });
      if (options.into) {
        // The existing directory's mtime is the time of the last write into it, on each side.
        for (const m of [want, got]) {
          for (const p of ["out", "out/mine"]) m.set(p, m.get(p)!.replace(/ @[\d.]+/, ""));
        }
      }
      assert.deepEqual(got, want);
      assert.ok(want.size > 0);
    });
  }
}

async function cleanup(dir: string): Promise<void> {
  // Read-only directories copied out must be made writable to be removed.
  await new Deno.Command("chmod", { args: ["-R", "u+rwx", dir] }).output();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

dockerTest("r10e cp equals docker cp -L on an image from docker build", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-cp-docker-" });
  const tag = "r10e-cp-built:test";
  let container = "";
  try {
    await Deno.mkdir(`${dir}/rootfs`);
    await writeBusyboxRootfs(`${dir}/rootfs`);
    await importImage(`${dir}/rootfs`, "r10e-cp-base:test");
    await Deno.mkdir(`${dir}/ctx`);
    await Deno.writeTextFile(`${dir}/ctx/Dockerfile`, DOCKERFILE);
    await docker(["build", "--network", "none", "-q", "-t", tag, `${dir}/ctx`]);
    await docker(["save", "-o", `${dir}/built.tar`, tag]);
    container = (await docker(["create", "--network", "none", tag, "/app"])).stdout.trim();
    await compare(t, dir, "built.tar", container, SOURCES_BUILT);
    await compare(t, dir, "built.tar", container, ["/datalink", "/data/a", "/opq/."], {
      into: true,
    });
    await t.step("a relative symlink out of DEST is refused by both", async () => {
      // /data/sub/up -> ../a: outside DEST when the contents of /data/sub are merged into it.
      for (const side of ["docker", "r10e"]) await Deno.mkdir(`${dir}/${side}-up`);
      const d = await docker(["cp", "-L", `${container}:/data/sub/.`, `${dir}/docker-up`], {
        allowFail: true,
      });
      const r = await runR10e(["cp", "built.tar", "/data/sub/.", "r10e-up"], dir);
      assert.match(d.stderr, /invalid symlink/);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        'r10e: Cannot copy to "r10e-up": symlink "up" -> "../a" would point outside "r10e-up"\n',
      );
      assert.deepEqual([...(await snapshot(`${dir}/r10e-up`)).keys()], []);
    });
    await t.step("a missing path fails in both", async () => {
      const d = await docker(["cp", "-L", `${container}:/data/gone`, `${dir}/x`], {
        allowFail: true,
      });
      const r = await runR10e(["cp", "built.tar", "/data/gone", "x"], dir);
      assert.notEqual(d.code, 0);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        'r10e: Cannot find "/data/gone" in image "built.tar": "/data/gone" does not exist\n',
      );
    });
  } finally {
    if (container) await docker(["rm", "-f", container], { allowFail: true });
    await docker(["rmi", "-f", tag, "r10e-cp-base:test"], { allowFail: true });
    await cleanup(dir);
  }
});

dockerTest(
  "r10e cp equals docker cp -L on opaque directories and cross-layer hardlinks (docker load)",
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-cp-docker-" });
    const tag = "r10e-cp-opaque:test";
    let container = "";
    try {
      const layers = [
        rawTar([
          { name: "d/", type: "dir", mode: 0o755 },
          { name: "d/lower", content: "lower\n" },
          { name: "d/sub/", type: "dir", mode: 0o700 },
          { name: "d/sub/x", content: "x\n", mode: 0o640 },
          { name: "k/", type: "dir", mode: 0o755 },
          { name: "k/keep", content: "keep\n" },
          { name: "k/gone", content: "gone\n" },
          { name: "f", content: "first\n", mode: 0o600 },
          { name: "s", type: "symlink", linkname: "d" },
        ]),
        rawTar([
          { name: "d/", type: "dir", mode: 0o751 },
          { name: "d/.wh..wh..opq" },
          { name: "d/upper", content: "upper\n" },
          { name: "k/.wh.gone" },
          { name: "h", type: "hardlink", linkname: "f" },
        ]),
        rawTar([
          { name: "f", content: "second\n", mode: 0o644 },
          { name: "k/", type: "dir", mode: 0o700 },
        ]),
      ];
      await writeTestImage(`${dir}/made.tar`, layers, { layout: "docker-legacy" });
      await docker(["load", "-i", `${dir}/made.tar`]);
      await docker(["tag", "t:latest", tag]);
      container = (await docker(["create", "--network", "none", tag, "/x"])).stdout.trim();
      await compare(t, dir, "made.tar", container, ["/d", "/k", "/f", "/h", "/s", "/s/upper"]);
    } finally {
      if (container) await docker(["rm", "-f", container], { allowFail: true });
      await docker(["rmi", "-f", tag, "t:latest"], { allowFail: true });
      await cleanup(dir);
    }
  },
);
