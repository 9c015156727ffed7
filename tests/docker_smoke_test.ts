/**
 * Smoke test of the Docker test setup (scripts/dockerd.sh, tests/_docker.ts):
 * an image made with `docker import` runs with `--network none` and gets a real
 * digest from the local registry. Skipped, visibly, without an engine.
 */
import assert from "node:assert/strict";
import {
  docker,
  dockerTest,
  importImage,
  pushToLocalRegistry,
  requireTool,
  run,
  writeBusyboxRootfs,
} from "./_docker.ts";

dockerTest("docker smoke: import a busybox rootfs, run it, push it", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-smoke-" });
  const tag = `r10e-smoke:${crypto.randomUUID().slice(0, 8)}`;
  try {
    await writeBusyboxRootfs(dir);
    const id = await importImage(dir, tag);
    assert.match(id, /^sha256:[0-9a-f]{64}$/);

    await t.step("runs with --network none", async () => {
      const r = await docker([
        "run",
        "--rm",
        "--network",
        "none",
        tag,
        "/bin/sh",
        "-c",
        "echo hello from $(uname -s); ls /sys/class/net",
      ]);
      assert.match(r.stdout, /^hello from Linux$/m);
      // --network none: only loopback inside
      assert.deepEqual(r.stdout.trim().split("\n").slice(1), ["lo"]);
    });

    await t.step("push gives a pinned reference", async () => {
      const ref = await pushToLocalRegistry(tag);
      assert.match(ref, /^127\.0\.0\.1:\d+\/r10e-smoke@sha256:[0-9a-f]{64}$/);
      // pulling by that digest works (the local registry is insecure-allowed)
      await docker(["rmi", ref], { allowFail: true });
      const pull = await docker(["pull", ref]);
      assert.match(pull.stdout, /Digest: sha256:/);
      const skopeo = requireTool(t, "skopeo");
      if (skopeo) {
        const insp = await run(skopeo, [
          "inspect",
          "--tls-verify=false",
          "--raw",
          `docker://${ref}`,
        ]);
        assert.equal(insp.code, 0, insp.stderr);
        const digest = ref.slice(ref.indexOf("@") + 1);
        const got = "sha256:" + Array.from(
          new Uint8Array(
            await crypto.subtle.digest("SHA-256", new TextEncoder().encode(insp.stdout)),
          ),
        ).map((b) => b.toString(16).padStart(2, "0")).join("");
        assert.equal(got, digest);
      }
    });
  } finally {
    await docker(["image", "ls", "-q", "--filter", `reference=*r10e-smoke*`], { allowFail: true })
      .then((r) => {
        const ids = [...new Set(r.stdout.split("\n").filter(Boolean))];
        return ids.length ? docker(["rmi", "-f", ...ids], { allowFail: true }) : undefined;
      });
    await Deno.remove(dir, { recursive: true });
  }
});
