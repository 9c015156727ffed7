/**
 * Real loaders read r10e's image (STYLE: round trip with real tools): Docker
 * loads and runs it, skopeo and umoci read the OCI layout and report the
 * digests r10e printed. Needs the engine CI starts; skipped visibly without one.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, r10e } from "./_cli.ts";
import { docker, dockerTest, requireTool, run } from "./_docker.ts";

interface Built {
  dir: string;
  /** The image's name (project_name). */
  name: string;
  archive: string;
  summary: {
    archiveSha256: string;
    imageId: string;
    manifestDigest: string;
    layers: { digest: string }[];
  };
}

async function buildExample(format: "tar.gz" | "tar"): Promise<Built> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-loaders-" });
  await copyExample(dir);
  // A name of its own: the engine is shared with the test files running beside this one.
  const name = `r10e-loaders-${crypto.randomUUID().slice(0, 8)}`;
  const config = await Deno.readTextFile(`${dir}/config.json`);
  await Deno.writeTextFile(
    `${dir}/config.json`,
    config.replace('"project_name": "r10e-hello"', `"project_name": "${name}"`),
  );
  const r = await r10e(["build", "--in", "host", "--json", "-q", "--format", format], {
    cwd: dir,
    env: { SOURCE_DATE_EPOCH: "1700000000" },
  });
  if (r.code !== 0) throw new Error(`r10e build failed: ${r.stderr}`);
  return {
    dir,
    name,
    archive: `${dir}/r10e-docker/out/${name}-latest.${format}`,
    summary: JSON.parse(r.stdout),
  };
}

dockerTest(
  "loaders: docker load, then docker run --network none prints the example's output",
  async () => {
    const built = await buildExample("tar.gz");
    try {
      await docker(["rmi", "-f", `${built.name}:latest`], { allowFail: true });
      const load = await docker(["load", "-i", built.archive]);
      assertStringIncludes(load.stdout, `Loaded image: ${built.name}:latest`);
      const inspect = await docker([
        "image",
        "inspect",
        "--format",
        "{{.Id}} {{.Created}} {{json .Config.Entrypoint}}",
        `${built.name}:latest`,
      ]);
      assertEquals(
        inspect.stdout.trim(),
        `${built.summary.imageId} 2023-11-14T22:13:20Z ["/app/hello"]`,
      );
      const out = await docker(["run", "--rm", "--network", "none", `${built.name}:latest`]);
      assertEquals(
        out.stdout,
        "Hello from a reproducible image!\nCA bundle: 142 certificates\nBuilt with go1.26.8\n",
      );
      // FROM scratch: nothing but what r10e staged (no shell to run).
      const shell = await docker([
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "/bin/sh",
        `${built.name}:latest`,
      ], {
        allowFail: true,
      });
      assertEquals(shell.code !== 0, true);
    } finally {
      await docker(["rmi", "-f", `${built.name}:latest`], { allowFail: true });
      await Deno.remove(built.dir, { recursive: true });
    }
  },
);

dockerTest("loaders: skopeo and umoci read the OCI layout and report r10e's digests", async (t) => {
  const skopeo = requireTool(t, "skopeo");
  const umoci = requireTool(t, "umoci");
  if (!skopeo || !umoci) return;
  const built = await buildExample("tar");
  // Without a name: index.json lists the image alone, as skopeo wants then.
  const oci = `oci-archive:${built.archive}`;
  try {
    const raw = await run(skopeo, ["inspect", "--raw", oci]);
    assertEquals(raw.code, 0, raw.stderr);
    const { createHash } = await import("node:crypto");
    assertEquals(
      `sha256:${createHash("sha256").update(raw.stdout).digest("hex")}`,
      built.summary.manifestDigest,
    );
    const inspect = await run(skopeo, ["inspect", oci]);
    const info = JSON.parse(inspect.stdout);
    assertEquals(info.Digest, built.summary.manifestDigest);
    assertEquals(info.Layers, built.summary.layers.map((l) => l.digest));
    const config = await run(skopeo, [
      "inspect",
      "--config",
      "--raw",
      oci,
    ]);
    assertEquals(
      `sha256:${createHash("sha256").update(config.stdout).digest("hex")}`,
      built.summary.imageId,
    );
    // skopeo's docker-archive transport reads manifest.json.
    const dockerArchive = await run(skopeo, [
      "inspect",
      "--config",
      "--raw",
      `docker-archive:${built.archive}`,
    ]);
    assertEquals(dockerArchive.code, 0, dockerArchive.stderr);
    assertEquals(
      `sha256:${createHash("sha256").update(dockerArchive.stdout).digest("hex")}`,
      built.summary.imageId,
    );

    // umoci unpacks the layout (extracted from the archive) by its ref.name.
    const layout = `${built.dir}/layout`;
    await Deno.mkdir(layout);
    const untar = await run("tar", ["-xf", built.archive, "-C", layout]);
    assertEquals(untar.code, 0, untar.stderr);
    const unpack = await run(umoci, [
      "unpack",
      "--rootless",
      "--image",
      `${layout}:latest`,
      `${built.dir}/bundle`,
    ]);
    assertEquals(unpack.code, 0, unpack.stderr);
    const rootfs = `${built.dir}/bundle/rootfs`;
    assertEquals(
      await Deno.readTextFile(`${rootfs}/app/data/greeting.txt`),
      "Hello from a reproducible image!\n",
    );
    assertEquals((await Deno.stat(`${rootfs}/app/hello`)).mode! & 0o777, 0o755);
    assertStringIncludes(
      await Deno.readTextFile(`${rootfs}/etc/ssl/certs/ca-certificates.crt`),
      "BEGIN CERTIFICATE",
    );
  } finally {
    await Deno.remove(built.dir, { recursive: true });
  }
});
