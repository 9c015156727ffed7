/**
 * The archive is the image and nothing else (image format 5), so the tools people use take it
 * as it is, for one platform and for two: podman load, skopeo `oci-archive:FILE` without a ref
 * name, crane push of the unpacked layout (the digest r10e printed), docker load and
 * containerd's `ctr import` of the `.tar`. Every store is a temporary one of this test (podman's
 * root, a containerd namespace, a registry), removed at the end.
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample } from "./_cli.ts";
import { docker, dockerHost, dockerTest, requireTool, run } from "./_docker.ts";
import { buildJson, multiplatformProject } from "./_multiplatform.ts";
import { findCrane, startRegistry, suffix } from "./_registry.ts";

/** The example (one platform) or a two-platform copy, built as a plain .tar. */
async function built(platforms: string[]) {
  let dir: string;
  if (platforms.length === 1) {
    dir = await Deno.makeTempDir({ prefix: "r10e-tools-" });
    await copyExample(dir);
  } else {
    dir = await multiplatformProject(platforms);
  }
  // A name of its own: the engine is shared with the test files running beside this one.
  const name = `r10e-tools-${suffix()}`;
  const config = await Deno.readTextFile(`${dir}/config.json`);
  await Deno.writeTextFile(
    `${dir}/config.json`,
    config.replace('"project_name": "r10e-hello"', `"project_name": "${name}"`),
  );
  // The .tar.gz too (the default output), then the .tar that ctr import wants.
  const gz = (await buildJson(dir)).archivePath;
  const b = await buildJson(dir, ["--format", "tar"]);
  // What people deploy: the manifest, or the index of several platforms.
  return { dir, b, gz, top: b.indexDigest ?? b.manifestDigest, name };
}

/** containerd's socket beside the engine's (scripts/dockerd.sh: <state>/exec/containerd/). */
function containerdAddress(): string {
  const host = dockerHost() ?? "unix:///var/run/docker.sock";
  const state = dirname(host.replace(/^unix:\/\//, ""));
  const own = `${state}/exec/containerd/containerd.sock`;
  try {
    Deno.statSync(own);
    return own;
  } catch {
    return "/run/containerd/containerd.sock";
  }
}

for (const platforms of [["linux/amd64"], ["linux/amd64", "linux/arm64"]]) {
  dockerTest(`every tool takes the archive as it is: ${platforms.join(" + ")}`, async (t) => {
    const podman = requireTool(t, "podman");
    const skopeo = requireTool(t, "skopeo");
    const ctr = requireTool(t, "ctr");
    const crane = findCrane();
    if (!podman || !skopeo || !ctr || !crane) {
      if (!crane && Deno.env.get("R10E_REQUIRE_DOCKER") === "1") throw new Error("no crane");
      return;
    }
    const { dir, b, gz, top, name } = await built(platforms);
    const archive = b.archivePath;
    const scratch = await Deno.makeTempDir({ prefix: "r10e-tools-scratch-" });
    try {
      const index = JSON.parse(
        (await run("tar", ["-xOf", archive, "index.json"])).stdout,
      );
      assertEquals(index.manifests.map((m: { digest: string }) => m.digest), [top]);

      await t.step("podman load: one image, named, with r10e's digest", async () => {
        // podman wants a runroot shorter than 50 characters: a short folder of its own.
        const pm = await Deno.makeTempDir({ prefix: "r10e-pm-" });
        const store = ["--root", `${pm}/root`, "--runroot", `${pm}/run`, "--storage-driver", "vfs"];
        for (const file of [gz, archive]) {
          const load = await run(podman, [...store, "load", "-i", file]);
          assertEquals(load.code, 0, load.stderr);
          assertStringIncludes(load.stdout, `Loaded image: docker.io/library/${name}:latest`);
        }
        const images = await run(podman, [
          ...store,
          "images",
          "--no-trunc",
          "--format",
          "{{.Digest}}",
        ]);
        assertEquals(images.stdout.trim(), top);
        await run(podman, [...store, "rmi", "-a", "-f"]);
        await Deno.remove(pm, { recursive: true });
      });

      await t.step("skopeo inspect oci-archive:FILE without a name", async () => {
        for (const file of [gz, archive]) {
          const raw = await run(skopeo, ["inspect", "--raw", `oci-archive:${file}`]);
          assertEquals(raw.code, 0, raw.stderr);
          assertEquals(`sha256:${createHash("sha256").update(raw.stdout).digest("hex")}`, top);
        }
      });

      await t.step("crane push of the unpacked layout: the digest r10e printed", async () => {
        const layout = `${scratch}/layout`;
        await Deno.mkdir(layout);
        const x = await run("tar", ["-xf", archive, "-C", layout]);
        assertEquals(x.code, 0, x.stderr);
        const registry = await startRegistry(`${scratch}/registry`);
        try {
          const p = await run(crane, [
            "push",
            "--insecure",
            layout,
            `${registry.host}/tools/app:v1`,
          ]);
          assertEquals(p.code, 0, p.stderr);
          assertEquals(p.stdout.trim(), `${registry.host}/tools/app@${top}`);
        } finally {
          await registry.stop();
        }
      });

      await t.step("docker load: the image ID r10e printed", async () => {
        await docker(["rmi", "-f", `${name}:latest`], { allowFail: true });
        const load = await docker(["load", "-i", archive]);
        assertStringIncludes(load.stdout, `Loaded image: ${name}:latest`);
        const id = await docker(["image", "inspect", "--format", "{{.Id}}", `${name}:latest`]);
        // Docker loads the linux/amd64 image (manifest.json's, or the containerd store's index).
        assertEquals([b.imageId, top].includes(id.stdout.trim()), true, id.stdout);
        await docker(["rmi", "-f", `${name}:latest`], { allowFail: true });
      });

      await t.step("ctr import of the .tar: the name and digest r10e wrote", async () => {
        const ns = `r10e-tools-${suffix()}`;
        const base = ["--address", containerdAddress(), "-n", ns];
        try {
          const imp = await run(ctr, [...base, "images", "import", "--all-platforms", archive]);
          assertEquals(imp.code, 0, imp.stderr + imp.stdout);
          const ls = await run(ctr, [...base, "images", "ls", "-q"]);
          assertEquals(ls.stdout.trim(), `docker.io/library/${name}:latest`);
          const check = await run(ctr, [...base, "images", "ls"]);
          assertStringIncludes(check.stdout, top);
        } finally {
          await run(ctr, [
            ...base,
            "images",
            "rm",
            "--sync",
            `docker.io/library/${name}:latest`,
          ]);
          await run(ctr, [...base, "namespaces", "rm", ns]);
        }
      });
    } finally {
      await Deno.remove(scratch, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  });
}
