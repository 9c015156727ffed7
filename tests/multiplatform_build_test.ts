/**
 * Several platforms in one image, through the real entry point with real Go
 * cross-compiles on the host: per-platform manifests that do not depend on the other
 * platforms, one image index blob, shared layers stored once, manifest.json's platform,
 * the config, pins and audit errors, and cp/verify --platform.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { r10eInProcess } from "./_cli.ts";
import {
  ARCHIVE,
  archiveEntries,
  buildJson,
  multiplatformProject,
  setPlatforms,
} from "./_multiplatform.ts";

const dec = new TextDecoder();
const json = (bytes: Uint8Array | undefined) => JSON.parse(dec.decode(bytes!));
const blob = (digest: string) => `blobs/sha256/${digest.slice("sha256:".length)}`;

Deno.test("multiplatform build: each platform's manifest is the one it has alone; one index; shared blobs once", async (t) => {
  const both = await multiplatformProject(["linux/amd64", "linux/arm64"]);
  const arm = await multiplatformProject(["linux/arm64"]);
  const amd = await multiplatformProject(["linux/amd64"]);
  try {
    const [b, a, m] = [await buildJson(both), await buildJson(arm), await buildJson(amd)];
    await t.step("the same per-platform digests as a one-platform build of each", () => {
      assertEquals(b.images.map((i) => i.platform), ["linux/amd64", "linux/arm64"]);
      assertEquals(b.images[0].manifestDigest, m.manifestDigest);
      assertEquals(b.images[1].manifestDigest, a.manifestDigest);
      assertEquals(b.images[0].imageId, m.imageId);
      assertEquals(b.images[1].imageId, a.imageId);
      assertEquals(a.images.length, 1);
      assertEquals(a.indexDigest, undefined);
      // The binaries differ; the CA and extern_data layers are the same blobs.
      assertEquals(b.images[0].artifacts[0].sha256 === b.images[1].artifacts[0].sha256, false);
      assertEquals(
        b.images[0].layers.slice(0, 2).map((l) => l.digest),
        b.images[1].layers.slice(0, 2).map((l) => l.digest),
      );
      // Top-level fields: the image docker load gets (linux/amd64).
      assertEquals([b.imageId, b.manifestDigest], [m.imageId, m.manifestDigest]);
      assertEquals(b.audit?.map((x) => [x.platform, x.status]), [
        ["linux/amd64", "checked"],
        ["linux/arm64", "checked"],
      ]);
    });
    await t.step(
      "index.json points at one index blob listing both manifests with platforms",
      async () => {
        const entries = await archiveEntries(`${both}/${ARCHIVE}`);
        const index = json(entries.get("index.json"));
        // The image index and nothing else: the documents are beside the archive.
        assertEquals(index.manifests.length, 1);
        assertEquals(index.manifests[0].digest, b.indexDigest);
        assertEquals(index.manifests[0].mediaType, "application/vnd.oci.image.index.v1+json");
        assertEquals(index.manifests[0].annotations, {
          "io.containerd.image.name": "docker.io/library/r10e-hello:latest",
          "org.opencontainers.image.ref.name": "latest",
        });
        const nested = entries.get(blob(b.indexDigest!))!;
        const { createHash } = await import("node:crypto");
        assertEquals(`sha256:${createHash("sha256").update(nested).digest("hex")}`, b.indexDigest);
        assertEquals(
          json(nested).manifests.map((
            d: { digest: string; platform: unknown },
          ) => [d.digest, d.platform]),
          [
            [m.manifestDigest, { architecture: "amd64", os: "linux" }],
            [a.manifestDigest, { architecture: "arm64", os: "linux" }],
          ],
        );
        // Every manifest's bytes are those of the one-platform archive.
        const alone = await archiveEntries(`${arm}/${ARCHIVE}`);
        assertEquals(entries.get(blob(a.manifestDigest)), alone.get(blob(a.manifestDigest)));
        // CA + extern_data + 2 artifacts + 2 configs + 2 manifests + the index: shared layers once.
        const blobs = [...entries.keys()].filter((n) => /^blobs\/sha256\/[0-9a-f]{64}$/.test(n));
        assertEquals(blobs.length, 9);
        // manifest.json (docker load before Docker 25) carries linux/amd64 only.
        const docker = json(entries.get("manifest.json"));
        assertEquals(docker.length, 1);
        assertEquals(docker[0].Config, blob(m.imageId));
        assertEquals(docker[0].RepoTags, ["r10e-hello:latest"]);
      },
    );
    await t.step(
      "text output: each platform's digests, then the index digest to deploy",
      async () => {
        const r = await r10eInProcess(["build", "--no-build-cmd", "--in", "host", "-q"], {
          cwd: both,
          env: { SOURCE_DATE_EPOCH: "1700000000" },
        });
        assertEquals(r.code, 0, r.stderr);
        const lines = r.stdout.trimEnd().split("\n");
        assertEquals(lines.slice(3), [
          "PLATFORM linux/amd64",
          `  IMAGE ID: ${m.imageId}`,
          `  MANIFEST DIGEST: ${m.manifestDigest}`,
          `  ARTIFACT /app/hello(sha256:${b.images[0].artifacts[0].sha256})`,
          "PLATFORM linux/arm64",
          `  IMAGE ID: ${a.imageId}`,
          `  MANIFEST DIGEST: ${a.manifestDigest}`,
          `  ARTIFACT /app/hello(sha256:${b.images[1].artifacts[0].sha256})`,
          "DOCKER LOAD: linux/amd64",
          `INDEX DIGEST: ${b.indexDigest}`,
          // Where the SBOMs and the provenance went.
          `SBOM (SPDX 2.3) linux/amd64: ${both}/r10e-docker/out/r10e-hello-latest.linux-amd64.spdx.json`,
          `SBOM (CycloneDX 1.6) linux/amd64: ${both}/r10e-docker/out/r10e-hello-latest.linux-amd64.cdx.json`,
          `SBOM (SPDX 2.3) linux/arm64: ${both}/r10e-docker/out/r10e-hello-latest.linux-arm64.spdx.json`,
          `SBOM (CycloneDX 1.6) linux/arm64: ${both}/r10e-docker/out/r10e-hello-latest.linux-arm64.cdx.json`,
          `PROVENANCE (in-toto, SLSA v1): ${both}/r10e-docker/out/r10e-hello-latest.provenance.json`,
        ]);
      },
    );
    await t.step("--record writes the index digest and each platform's digests", async () => {
      const r = await r10eInProcess(["build", "--no-build-cmd", "--in", "host", "-q", "--record"], {
        cwd: both,
        env: { SOURCE_DATE_EPOCH: "1700000000" },
      });
      assertEquals(r.code, 0, r.stderr);
      const recorded = JSON.parse(await Deno.readTextFile(`${both}/r10e-docker/digests.json`));
      assertEquals(
        [recorded.index_digest, recorded.manifest_digest, recorded.platforms],
        [b.indexDigest, m.manifestDigest, {
          "linux/amd64": { image_id: m.imageId, manifest_digest: m.manifestDigest },
          "linux/arm64": { image_id: a.imageId, manifest_digest: a.manifestDigest },
        }],
      );
    });
    await t.step(
      "cp --platform picks a platform; without it cp names the platforms (exit 2)",
      async () => {
        const out = await Deno.makeTempDir({ prefix: "r10e-mp-cp-" });
        try {
          const r = await r10eInProcess([
            "cp",
            "--platform",
            "linux/arm64",
            ARCHIVE,
            "/app/hello",
            out,
          ], {
            cwd: both,
          });
          assertEquals(r.code, 0, r.stderr);
          assertEquals(r.stdout, `${out}/hello(sha256:${b.images[1].artifacts[0].sha256})\n`);
          const none = await r10eInProcess(["cp", ARCHIVE, "/app/hello", out], { cwd: both });
          assertEquals(none.code, 2);
          assertEquals(none.stdout, "");
          assertStringIncludes(
            none.stderr,
            `it holds images for linux/amd64, linux/arm64: choose one with --platform`,
          );
        } finally {
          await Deno.remove(out, { recursive: true });
        }
      },
    );
    await t.step(
      "verify: every platform pairwise; a platform on one side only is a difference",
      async () => {
        const same = await r10eInProcess([
          "verify",
          "-q",
          `${both}/${ARCHIVE}`,
          `${both}/${ARCHIVE}`,
        ]);
        assertEquals(same.code, 0, same.stdout + same.stderr);
        const r = await r10eInProcess([
          "verify",
          "-q",
          "--json",
          `${both}/${ARCHIVE}`,
          `${arm}/${ARCHIVE}`,
        ]);
        assertEquals(r.code, 1, r.stderr);
        const report = JSON.parse(r.stdout);
        assertEquals([report.a.platform, report.b.platform], [
          "linux/amd64, linux/arm64",
          "linux/arm64",
        ]);
        const only = report.findings.filter((f: { cause: string }) => f.cause === "platform");
        assertEquals(
          only.map((f: { a: unknown; b: unknown; platform: string }) => [f.platform, f.a, f.b]),
          [
            ["linux/amd64", "linux/amd64", null],
          ],
        );
        const picked = await r10eInProcess([
          "verify",
          "-q",
          "--platform",
          "linux/arm64",
          `${both}/${ARCHIVE}`,
          `${arm}/${ARCHIVE}`,
        ]);
        assertEquals(picked.code, 0, picked.stdout + picked.stderr);
      },
    );
  } finally {
    for (const d of [both, arm, amd]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("multiplatform build: config, pins and audit errors name what and where", async (t) => {
  const dir = await multiplatformProject(["linux/amd64", "linux/arm64"]);
  const build = (args: string[] = []) =>
    r10eInProcess(["build", "--in", "host", ...args], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "1700000000" },
    });
  try {
    await t.step(
      "an artifact src without placeholder is a config error naming the artifact",
      async () => {
        await setPlatforms(dir, ["linux/amd64", "linux/arm64"], { src: "build/hello" });
        const r = await build();
        assertEquals([r.code, r.stdout], [2, ""], r.stderr);
        assertStringIncludes(
          r.stderr,
          `config.json:7:26: artifacts[0].src: expected a path with {os}, {arch} or {variant} (e.g. "build/{os}-{arch}/server"), found "build/hello": with 2 platforms it would put the same file in every platform's image`,
        );
      },
    );
    await t.step("platform and platforms together is a config error", async () => {
      await setPlatforms(dir, ["linux/amd64", "linux/arm64"], { both: true });
      const r = await build();
      assertEquals([r.code, r.stdout], [2, ""], r.stderr);
      assertStringIncludes(
        r.stderr,
        `config.json:6:43: platforms: expected either "platform" (one platform) or "platforms" (several), found both: remove "platform"`,
      );
    });
    await t.step("a platform list that drifted from pins.json names both lists", async () => {
      await setPlatforms(dir, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
      const r = await build();
      assertEquals([r.code, r.stdout], [2, ""], r.stderr);
      assertStringIncludes(
        r.stderr,
        `config.json asks for platforms ["linux/amd64","linux/arm64","linux/arm/v7"] but "${dir}/r10e-docker/pins.json" pins platforms ["linux/amd64","linux/arm64"]`,
      );
    });
    await t.step(
      "a binary of another architecture fails the audit, naming platform and field",
      async () => {
        // build_cmd ignores GOARCH for its output: the arm64 image would get an amd64 binary.
        await setPlatforms(dir, ["linux/amd64", "linux/arm64"], {
          buildCmd: "GOARCH=amd64 go build -o build/$R10E_OS-$R10E_ARCH/hello .",
        });
        const r = await build();
        assertEquals([r.code, r.stdout], [1, ""], r.stderr);
        assertStringIncludes(
          r.stderr,
          `linux/arm64 /app/hello ("build/linux-arm64/hello"): GOARCH: expected "arm64", found "amd64": the artifact is not built for linux/arm64`,
        );
        assertEquals(r.stderr.includes(`linux/amd64 /app/hello`), false, r.stderr);
        assertEquals(
          await Deno.stat(`${dir}/${ARCHIVE}`).then(() => true, () => false),
          false,
          "no archive is written",
        );
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
