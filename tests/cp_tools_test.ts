/**
 * Cross-checks with other tools (no daemon needed): skopeo converts a multi-layer image with
 * whiteouts, an opaque directory and hardlinks into other layouts (OCI layout directory with
 * gzip layers, oci-archive), and r10e cp reads the same files from each; umoci applies the layers
 * itself (`umoci unpack`), and its rootfs equals what `r10e cp IMAGE /. DEST` writes.
 */
import assert from "node:assert/strict";
import { requireTool, run } from "./_docker.ts";
import { type RawEntry, rawTar, runR10e, snapshot, writeTestImage } from "./cp_images.ts";

const LAYERS: RawEntry[][] = [
  [
    { name: "etc/", type: "dir", mode: 0o755 },
    { name: "etc/conf", content: "conf\n", mode: 0o640 },
    { name: "etc/old", content: "old\n" },
    { name: "opt/", type: "dir", mode: 0o755 },
    { name: "opt/lower", content: "lower\n" },
    { name: "opt/sub/", type: "dir", mode: 0o700 },
    { name: "opt/sub/x", content: "x\n" },
    { name: "bin/", type: "dir", mode: 0o755 },
    { name: "bin/app", content: "#!/bin/sh\n", mode: 0o755 },
  ],
  [
    { name: "etc/.wh.old" },
    { name: "opt/", type: "dir", mode: 0o750 },
    { name: "opt/.wh..wh..opq" },
    { name: "opt/upper", content: "upper\n", mode: 0o600 },
    { name: "bin/app2", type: "hardlink", linkname: "bin/app", mode: 0o755 },
    { name: "bin/sh", type: "symlink", linkname: "app" },
    { name: "etc/abs", type: "symlink", linkname: "/etc/conf" },
  ],
];

async function imageDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-cp-tools-" });
  await writeTestImage(`${dir}/img.tar`, LAYERS.map((l) => rawTar(l)), { layout: "docker-legacy" });
  return dir;
}

Deno.test("r10e cp reads skopeo's conversions of an image the same way", async (t) => {
  const skopeo = requireTool(t, "skopeo");
  if (!skopeo) return;
  const dir = await imageDir();
  try {
    const conversions: [string, string[], string][] = [
      ["OCI layout directory, gzip layers", ["docker-archive:img.tar", "oci:oci-dir:t"], "oci-dir"],
      ["oci-archive", ["docker-archive:img.tar", "oci-archive:oci.tar:t"], "oci.tar"],
      ["docker-archive written by skopeo", [
        "docker-archive:img.tar",
        "docker-archive:sk.tar:t:latest",
      ], "sk.tar"],
    ];
    const base = await runR10e(["cp", "img.tar", "/.", "from-original"], dir);
    assert.equal(base.code, 0, base.stderr);
    const want = await snapshot(`${dir}/from-original`, { mtime: true });
    for (const [what, args, input] of conversions) {
      await t.step(what, async () => {
        const r = await run(skopeo, ["copy", "--quiet", ...args], { cwd: dir });
        assert.equal(r.code, 0, r.stderr);
        const out = `from-${input.replace(/\W/g, "-")}`;
        const c = await runR10e(["cp", input, "/.", out], dir);
        assert.equal(c.code, 0, c.stderr);
        assert.deepEqual(await snapshot(`${dir}/${out}`, { mtime: true }), want);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("r10e cp of / equals umoci unpack's rootfs", async (t) => {
  const skopeo = requireTool(t, "skopeo");
  const umoci = requireTool(t, "umoci");
  if (!skopeo || !umoci) return;
  const dir = await imageDir();
  try {
    const conv = await run(skopeo, ["copy", "--quiet", "docker-archive:img.tar", "oci:oci-dir:t"], {
      cwd: dir,
    });
    assert.equal(conv.code, 0, conv.stderr);
    const u = await run(umoci, ["unpack", "--image", "oci-dir:t", "bundle"], { cwd: dir });
    assert.equal(u.code, 0, u.stderr);
    const r = await runR10e(["cp", "oci-dir", "/.", "rootfs"], dir);
    assert.equal(r.code, 0, r.stderr);
    const want = await snapshot(`${dir}/bundle/rootfs`);
    const got = await snapshot(`${dir}/rootfs`);
    assert.deepEqual(got, want);
    assert.equal(got.get("opt/upper"), want.get("opt/upper"));
    assert.equal(got.has("opt/lower"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
