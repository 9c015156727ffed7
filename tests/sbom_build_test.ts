/**
 * `r10e build` writes SPDX 2.3, CycloneDX 1.6 and the provenance statement beside the archive
 * and never inside it, through the real entry point on copies of the example project: the same
 * bytes as `r10e sbom` reads back from the archive, byte for byte from two builds in other
 * places, and the archive's bytes unchanged by them.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, fileSha256, git, listTree, r10e } from "./_cli.ts";
import { docker, dockerTest, requireTool, run } from "./_docker.ts";

const OUT = "r10e-docker/out";
const STEM = "r10e-hello-latest";
const KINDS = [
  ["spdx", "spdx.json", "application/spdx+json"],
  ["cyclonedx", "cdx.json", "application/vnd.cyclonedx+json"],
  ["provenance", "provenance.json", "application/vnd.in-toto+json"],
] as const;

interface Built {
  archiveSha256: string;
  manifestDigest: string;
  imageId: string;
  archivePath: string;
  documents: { kind: string; platform: string | null; path: string; sha256: string }[];
}

/** A copy of the example in a git repository of its own (the same commit in every copy). */
async function project(options: { reverse?: boolean } = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-build-" });
  await copyExample(dir, options);
  await Deno.writeTextFile(`${dir}/.gitignore`, "/build/\n/r10e-docker/out/\n");
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "example");
  return dir;
}

async function build(dir: string, env: Record<string, string> = {}, umask?: string) {
  const r = await r10e(["build", "--in", "host", "--json", "-q"], { cwd: dir, env, umask });
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Built;
}

/** Unpacks the archive; returns a reader of its JSON entries and blobs. */
async function unpack(archive: string) {
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-layout-" });
  const r = await run("tar", ["-xzf", archive, "-C", dir]);
  assertEquals(r.code, 0, r.stderr);
  const text = (name: string) => Deno.readTextFile(`${dir}/${name}`);
  return {
    dir,
    text,
    json: async (name: string) => JSON.parse(await text(name)),
    blob: (digest: string) => text(`blobs/sha256/${digest.slice(7)}`),
  };
}

Deno.test("build: SBOMs and provenance beside the archive, not inside it, the same as `r10e sbom` reads back", async (t) => {
  const dir = await project();
  try {
    const human = await r10e(["build", "--in", "host"], { cwd: dir });
    assertEquals(human.code, 0, human.stderr);
    for (
      const line of [
        `SBOM (SPDX 2.3) linux/amd64: ${dir}/${OUT}/${STEM}.spdx.json`,
        `SBOM (CycloneDX 1.6) linux/amd64: ${dir}/${OUT}/${STEM}.cdx.json`,
        `PROVENANCE (in-toto, SLSA v1): ${dir}/${OUT}/${STEM}.provenance.json`,
      ]
    ) assertStringIncludes(human.stdout, line + "\n");
    const built = await build(dir);
    await Deno.writeTextFile(`${dir}/build.json`, JSON.stringify(built));
    const archive = `${dir}/${OUT}/${STEM}.tar.gz`;

    await t.step("--json lists the three documents with their sha256", async () => {
      assertEquals(
        built.documents.map((d) => [d.kind, d.platform, d.path]),
        KINDS.map(([kind, suffix]) => [
          kind,
          kind === "provenance" ? null : "linux/amd64",
          `${dir}/${OUT}/${STEM}.${suffix}`,
        ]),
      );
      for (const d of built.documents) assertEquals(await fileSha256(d.path), d.sha256);
      // Nothing else beside the archive: no temporary left.
      assertEquals(await listTree(`${dir}/${OUT}`), [
        `${STEM}.cdx.json`,
        `${STEM}.provenance.json`,
        `${STEM}.spdx.json`,
        `${STEM}.tar.gz`,
      ]);
    });

    await t.step("`r10e sbom` of the archive gives the same bytes", async () => {
      for (
        const [format, suffix] of [["spdx", "spdx.json"], ["cyclonedx", "cdx.json"]] as const
      ) {
        const r = await r10e(["sbom", "--format", format, archive], { cwd: dir });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, await Deno.readTextFile(`${dir}/${OUT}/${STEM}.${suffix}`));
      }
      const p = await r10e(["sbom", "--format", "provenance", "--build", "build.json", archive], {
        cwd: dir,
      });
      assertEquals(p.code, 0, p.stderr);
      assertEquals(p.stdout, await Deno.readTextFile(`${dir}/${OUT}/${STEM}.provenance.json`));
    });

    await t.step("what the documents say: files, modules, packages, subjects", async () => {
      const spdx = JSON.parse(await Deno.readTextFile(`${dir}/${OUT}/${STEM}.spdx.json`));
      const files = Object.fromEntries(
        spdx.files.map((
          f: { fileName: string; checksums: { algorithm: string; checksumValue: string }[] },
        ) => [
          f.fileName,
          f.checksums.find((c) => c.algorithm === "SHA256")!.checksumValue,
        ]),
      );
      assertEquals(files["/app/hello"], await fileSha256(`${dir}/build/hello`));
      assertEquals(files["/LICENSE"], await fileSha256(`${dir}/LICENSE`));
      assertEquals(files["/app/data/greeting.txt"], await fileSha256(`${dir}/data/greeting.txt`));
      const names = spdx.packages.map((p: { name: string }) => p.name);
      for (const n of ["ca-certificates", "stdlib", "example.com/hello"]) {
        assertEquals(names.includes(n), true, `${n} in ${names}`);
      }
      assertEquals(spdx.creationInfo.created, "2023-11-14T22:13:20Z"); // the commit time
      const prov = JSON.parse(await Deno.readTextFile(`${dir}/${OUT}/${STEM}.provenance.json`));
      assertEquals(prov.subject, [
        { name: "r10e-hello:latest", digest: { sha256: built.manifestDigest.slice(7) } },
        { name: "/app/hello", digest: { sha256: await fileSha256(`${dir}/build/hello`) } },
      ]);
      const commit = (await git(dir, "rev-parse", "HEAD")).trim();
      const source = prov.predicate.buildDefinition.resolvedDependencies[0];
      assertEquals(source.digest, { gitCommit: commit });
      assertEquals(source.annotations, { clean: true });
      assertEquals(prov.predicate.buildDefinition.externalParameters.mode, "host");
    });

    await t.step(
      "inside the archive: the image alone (index.json lists its manifest only), no document blob",
      async () => {
        const layout = await unpack(archive);
        try {
          const index = await layout.json("index.json");
          assertEquals(index.manifests.length, 1);
          assertEquals(index.manifests[0].digest, built.manifestDigest);
          const blobs = [...Deno.readDirSync(`${layout.dir}/blobs/sha256`)].map((e) => e.name);
          for (const [, suffix] of KINDS) {
            const hex = await fileSha256(`${dir}/${OUT}/${STEM}.${suffix}`);
            assertEquals(blobs.includes(hex), false, `${suffix} is inside the archive`);
          }
          const dockerManifest = await layout.json("manifest.json");
          assertEquals(dockerManifest.length, 1);
          assertEquals(
            dockerManifest[0].Config,
            `blobs/sha256/${built.imageId.slice(7)}`,
          );
        } finally {
          await Deno.remove(layout.dir, { recursive: true });
        }
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: two reproducible builds give byte-identical SBOMs and provenance", async () => {
  const a = await project();
  const b = await project({ reverse: true });
  try {
    const ba = await build(a, { TZ: "UTC", LANG: "C.UTF-8" }, "022");
    const bb = await build(b, { TZ: "Asia/Kolkata", LC_ALL: "de_DE.UTF-8" }, "077");
    assertEquals(ba.manifestDigest, bb.manifestDigest);
    assertEquals(ba.documents.map((d) => d.sha256), bb.documents.map((d) => d.sha256));
    for (const [i, d] of ba.documents.entries()) {
      assertEquals(await Deno.readTextFile(d.path), await Deno.readTextFile(bb.documents[i].path));
    }
    assertEquals(
      await fileSha256(ba.archivePath),
      await fileSha256(bb.archivePath),
      "the archives, documents included",
    );
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("build: the archive is the same bytes with and without the documents beside it", async () => {
  const dir = await project();
  try {
    const withDocs = await build(dir);
    // bench/sbom.ts's switch: the same build, no documents made.
    const without = await build(dir, { R10E_BENCH_SKIP_SBOM: "1" });
    assertEquals(without.documents, []);
    assertEquals(without.archiveSha256, withDocs.archiveSha256);
    assertEquals(without.manifestDigest, withDocs.manifestDigest);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: a document that cannot be written fails the build with exit 2, nothing half-written", async () => {
  const dir = await project();
  try {
    // A directory where the CycloneDX document goes: its rename fails.
    await Deno.mkdir(`${dir}/${OUT}/${STEM}.cdx.json/x`, { recursive: true });
    const r = await r10e(["build", "--in", "host", "-q"], { cwd: dir });
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, `Cannot write the SBOM and provenance beside "${dir}/${OUT}/`);
    const left = (await listTree(`${dir}/${OUT}`)).filter((n) => n.startsWith("."));
    assertEquals(left, [], "no temporary left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

dockerTest(
  "build with documents: docker load loads exactly one image; skopeo and umoci read the layout",
  async (t) => {
    const dir = await project();
    const name = `r10e-sbom-${crypto.randomUUID().slice(0, 8)}`;
    try {
      const config = (await Deno.readTextFile(`${dir}/config.json`))
        .replace('"project_name": "r10e-hello"', `"project_name": "${name}"`);
      await Deno.writeTextFile(`${dir}/config.json`, config);
      await git(dir, "commit", "-q", "-am", "name");
      const built = await build(dir);
      await t.step("docker load", async () => {
        const r = await docker(["load", "-i", built.archivePath]);
        assertEquals(r.stdout.trim().split("\n").filter((l) => l.startsWith("Loaded")), [
          `Loaded image: ${name}:latest`,
        ]);
        const id = await docker(["image", "inspect", "--format", "{{.Id}}", `${name}:latest`]);
        assertEquals(id.stdout.trim(), built.imageId);
        const listed = await docker(["images", "--format", "{{.Repository}}:{{.Tag}}", name]);
        assertEquals(listed.stdout.trim(), `${name}:latest`);
      });
      const layout = await unpack(built.archivePath);
      try {
        const skopeo = requireTool(t, "skopeo");
        if (skopeo) {
          await t.step("skopeo inspect oci:", async () => {
            const r = await run(skopeo, ["inspect", "--raw", `oci:${layout.dir}:latest`]);
            assertEquals(r.code, 0, r.stderr);
            assertEquals(r.stdout, await layout.blob(built.manifestDigest));
          });
        }
        const umoci = requireTool(t, "umoci");
        if (umoci) {
          await t.step("umoci ls and stat", async () => {
            const ls = await run(umoci, ["ls", "--layout", layout.dir]);
            assertEquals(ls.code, 0, ls.stderr);
            assertEquals(ls.stdout.trim(), "latest");
            const stat = await run(umoci, ["stat", "--image", `${layout.dir}:latest`]);
            assertEquals(stat.code, 0, stat.stderr);
            assertStringIncludes(stat.stdout, "r10e: artifacts");
          });
        }
      } finally {
        await Deno.remove(layout.dir, { recursive: true });
      }
    } finally {
      await docker(["rmi", `${name}:latest`], { allowFail: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
);
