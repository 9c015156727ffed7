/**
 * Archives of image format 4 (documents listed in index.json beside the image) stay readable by
 * every command: verify, cp, sbom, and push, which attaches the documents they carry.
 * Fixtures: tests/fixtures/format4/README.md.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { r10eInProcess, REPO } from "./_cli.ts";
import { requireTool } from "./_docker.ts";
import { startRegistry } from "./_registry.ts";

const FIXTURES = `${REPO}/tests/fixtures/format4`;

for (
  const [name, platform] of [["format4-one.tar", []], ["format4-two.tar", [
    "--platform",
    "linux/arm64",
  ]]] as const
) {
  Deno.test(`format 4 (${name}): verify, cp and sbom read it`, async () => {
    const archive = `${FIXTURES}/${name}`;
    const v = await r10eInProcess(["verify", archive, archive]);
    assertEquals(v.code, 0, v.stdout + v.stderr);
    assertStringIncludes(v.stdout, "Images are identical");
    const dir = await Deno.makeTempDir({ prefix: "r10e-format4-" });
    try {
      const cp = await r10eInProcess(["cp", ...platform, archive, "/app/server", `${dir}/server`]);
      assertEquals(cp.code, 0, cp.stderr);
      assertStringIncludes(
        await Deno.readTextFile(`${dir}/server`),
        `echo linux/${platform.length ? "arm64" : "amd64"}`,
      );
      const s = await r10eInProcess(["sbom", ...platform, archive]);
      assertEquals(s.code, 0, s.stderr);
      const spdx = JSON.parse(s.stdout);
      assertEquals(spdx.spdxVersion, "SPDX-2.3");
      assertEquals(spdx.files.map((f: { fileName: string }) => f.fileName), [
        "/app/hello.txt",
        "/app/server",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("format 4: push sends the image and the documents the archive carries as referrers", async (t) => {
  if (!requireTool(t, "docker-registry")) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-format4-registry-" });
  const registry = await startRegistry(dir);
  try {
    const r = await r10eInProcess([
      "push",
      "--json",
      `${FIXTURES}/format4-two.tar`,
      `${registry.host}/old/app:v1`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const pushed = JSON.parse(r.stdout);
    // Three documents per platform, each attached to its own manifest, as format 4 had them.
    assertEquals(pushed.referrers.length, 6);
    assertEquals(new Set(pushed.referrers.map((x: { subject: string }) => x.subject)).size, 2);
    const v = await r10eInProcess([
      "verify",
      `${registry.host}/old/app@${pushed.digest}`,
      `${FIXTURES}/format4-two.tar`,
    ]);
    assertEquals(v.code, 0, v.stdout + v.stderr);
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
