/**
 * `healthcheck` on an image without a base: an argument list naming the image's own binary is
 * written to the image config; a shell command, which needs a /bin/sh the image lacks, is a
 * config error (exit 2, nothing written) instead of a container that is never healthy.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, r10e } from "./_cli.ts";
import { run } from "./_docker.ts";

async function withHealthcheck(project: string, healthcheck: unknown): Promise<void> {
  const text = await Deno.readTextFile(`${project}/config.json`);
  await Deno.writeTextFile(
    `${project}/config.json`,
    text.replace(/\}\s*$/, `,\n  "healthcheck": ${JSON.stringify(healthcheck)}\n}\n`),
  );
}

Deno.test("healthcheck: an argument list FROM scratch; a shell command without /bin/sh refused", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-health-" });
  const env = { SOURCE_DATE_EPOCH: "1700000000", GOPROXY: "off" };
  try {
    await t.step("a shell command: exit 2 naming healthcheck.test, no archive", async () => {
      const project = `${dir}/shell`;
      await copyExample(project);
      await withHealthcheck(project, { test: "/app/hello >/dev/null" });
      const out = await r10e(["build", "--in", "host", "-q"], { cwd: project, env });
      assertEquals(out.code, 2, out.stderr);
      assertStringIncludes(
        out.stderr,
        "healthcheck.test: the image has no /bin/sh to run this shell command",
      );
      const archive = `${project}/r10e-docker/out/r10e-hello-latest.tar.gz`;
      assertEquals(await Deno.stat(archive).then(() => true, () => false), false);
    });

    await t.step("an argument list naming the binary: the image config's Healthcheck", async () => {
      const project = `${dir}/exec`;
      await copyExample(project);
      await withHealthcheck(project, { test: ["/app/hello"], interval: "1m", retries: 2 });
      const out = await r10e(["build", "--in", "host", "--json", "-q"], { cwd: project, env });
      assertEquals(out.code, 0, out.stderr);
      const built = JSON.parse(out.stdout);
      const x = await run("tar", ["-xzf", built.archivePath, "-C", dir, "blobs"]);
      assertEquals(x.code, 0, x.stderr);
      const config = JSON.parse(
        await Deno.readTextFile(`${dir}/blobs/sha256/${built.imageId.slice(7)}`),
      );
      assertEquals(config.config.Healthcheck, {
        Interval: 60_000_000_000,
        Retries: 2,
        Test: ["CMD", "/app/hello"],
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
