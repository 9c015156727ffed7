/**
 * A multi-platform image has an SBOM per platform: a two-platform build (real Go
 * cross-compiles on the host) writes an SPDX and a CycloneDX document for each platform and
 * one provenance statement naming the index and both manifests, all beside the archive, which
 * holds the image index alone (`r10e push` attaches them: tests/push_documents_test.ts).
 */
import { assertEquals } from "./_assert.ts";
import { fileSha256, r10e } from "./_cli.ts";
import { buildJson, multiplatformProject } from "./_multiplatform.ts";
import { run } from "./_docker.ts";

const PLATFORMS = ["linux/amd64", "linux/arm64"];
const NAME = "r10e-hello:latest";

Deno.test("two-platform build: one SBOM per platform, beside the archive, not inside it", async (t) => {
  const dir = await multiplatformProject(PLATFORMS);
  const layout = await Deno.makeTempDir({ prefix: "r10e-sbom-platforms-" });
  try {
    const built = await buildJson(dir) as Awaited<ReturnType<typeof buildJson>> & {
      documents: { kind: string; platform: string | null; path: string; sha256: string }[];
    };
    const out = `${dir}/r10e-docker/out`;
    await t.step("beside the archive: SPDX and CycloneDX per platform, one provenance", () => {
      assertEquals(built.documents.map((d) => [d.kind, d.platform, d.path]), [
        ["spdx", "linux/amd64", `${out}/r10e-hello-latest.linux-amd64.spdx.json`],
        ["cyclonedx", "linux/amd64", `${out}/r10e-hello-latest.linux-amd64.cdx.json`],
        ["spdx", "linux/arm64", `${out}/r10e-hello-latest.linux-arm64.spdx.json`],
        ["cyclonedx", "linux/arm64", `${out}/r10e-hello-latest.linux-arm64.cdx.json`],
        ["provenance", null, `${out}/r10e-hello-latest.provenance.json`],
      ]);
    });
    await t.step(
      "each platform's SBOM is that image's: `r10e sbom --platform` gives its bytes",
      async () => {
        for (const [i, platform] of PLATFORMS.entries()) {
          const tag = platform.replace("/", "-");
          for (const [format, suffix] of [["spdx", "spdx.json"], ["cyclonedx", "cdx.json"]]) {
            const r = await r10e([
              "sbom",
              "--format",
              format,
              "--platform",
              platform,
              built.archivePath,
            ]);
            assertEquals(r.code, 0, r.stderr);
            assertEquals(
              r.stdout,
              await Deno.readTextFile(`${out}/r10e-hello-latest.${tag}.${suffix}`),
            );
          }
          const spdx = JSON.parse(
            await Deno.readTextFile(`${out}/r10e-hello-latest.${tag}.spdx.json`),
          );
          const image = spdx.packages.find((p: { SPDXID: string }) => p.SPDXID === "SPDXRef-Image");
          assertEquals(image.versionInfo, built.images[i].manifestDigest);
          assertEquals(image.comment, `sha256 of the image manifest; platform ${platform}`);
          const hello = spdx.files.find((f: { fileName: string }) => f.fileName === "/app/hello");
          assertEquals(hello.checksums[1].checksumValue, built.images[i].artifacts[0].sha256);
          assertEquals(
            hello.checksums[1].checksumValue,
            await fileSha256(`${dir}/build/${tag}/hello`),
          );
        }
      },
    );
    await t.step("the provenance names the index, both manifests and both artifacts", async () => {
      const prov = JSON.parse(await Deno.readTextFile(`${out}/r10e-hello-latest.provenance.json`));
      assertEquals(prov.subject, [
        { name: NAME, digest: { sha256: built.indexDigest!.slice(7) } },
        ...built.images.map((i) => ({
          name: `${NAME} (${i.platform})`,
          digest: { sha256: i.manifestDigest.slice(7) },
        })),
        ...built.images.map((i) => ({
          name: `${i.platform}:/app/hello`,
          digest: { sha256: i.artifacts[0].sha256 },
        })),
      ]);
    });
    await t.step(
      "inside the archive: the image index alone, no document blob (push attaches them)",
      async () => {
        const x = await run("tar", ["-xzf", built.archivePath, "-C", layout]);
        assertEquals(x.code, 0, x.stderr);
        const index = JSON.parse(await Deno.readTextFile(`${layout}/index.json`));
        assertEquals(index.manifests.map((d: { digest: string }) => d.digest), [built.indexDigest]);
        const blobs = [...Deno.readDirSync(`${layout}/blobs/sha256`)].map((e) => e.name);
        for (const d of built.documents) {
          assertEquals(blobs.includes(d.sha256), false, `${d.path} is inside the archive`);
        }
      },
    );
  } finally {
    await Deno.remove(layout, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});
