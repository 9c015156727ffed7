/**
 * r10edocker's own flow: a project laid out like r10edocker
 * (config.json at the root and three more under testdata/, a build script that
 * cross-builds linux and darwin for amd64 and arm64), each config used from the
 * project root as r10edocker's scripts/test_configs.sh does: init, build,
 * docker load, the binary runs, and config2's data file is at /x/y/d.txt.
 *
 * The four configs are r10edocker's own (tests/fixtures/r10edocker/, unchanged).
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { r10e } from "./_cli.ts";
import { r10edockerProject } from "./_r10edocker.ts";
import { docker, dockerTest } from "./_docker.ts";

const ARCHIVE = "r10e-docker/out/go-r10e-docker-latest.tar.gz";
const TARGETS = ["linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64"];

dockerTest(
  "r10edocker's flow: each of its configs, used from the project root, builds an image that runs",
  async (t) => {
    const dir = await r10edockerProject();
    const images: string[] = [];
    try {
      for (
        const config of [
          "config.json",
          "testdata/config1_no-optional.json",
          "testdata/config2_with-extern-data.json",
          "testdata/config3_include-ca-bundle-false.json",
        ]
      ) {
        await t.step(config, async () => {
          // As scripts/test_configs.sh: a fresh r10e-docker/ for each config.
          await Deno.remove(`${dir}/r10e-docker`, { recursive: true }).catch(() => {});
          const init = await r10e(["init", "-c", config], { cwd: dir });
          assertEquals(init.code, 0, init.stderr);
          assertStringIncludes(
            init.stderr,
            `Project root ${dir} (the nearest go.mod at or above the config file)`,
          );
          assertStringIncludes(init.stdout, `Wrote ${dir}/r10e-docker/`);
          const build = await r10e(["build", "-c", config, "--in", "host"], { cwd: dir });
          assertEquals(build.code, 0, build.stderr);
          assertStringIncludes(build.stderr, `Project root ${dir} (`);
          assertStringIncludes(build.stdout, `Container image created in ${dir}/${ARCHIVE}\n`);
          for (const target of TARGETS) {
            assertStringIncludes(build.stdout, `ARTIFACT /app/r10edocker-${target}(sha256:`);
          }
          const imageId = /^IMAGE ID: (sha256:[0-9a-f]{64})$/m.exec(build.stdout)![1];
          images.push(imageId);
          await docker(["load", "-i", `${dir}/${ARCHIVE}`]);
          const run = (...args: string[]) =>
            docker([
              "run",
              "--rm",
              "--network",
              "none",
              "--entrypoint",
              "/app/r10edocker-linux-amd64",
              imageId,
              ...args,
            ]);
          assertEquals((await run()).stdout, "r10edocker-like linux/amd64\n");
          if (config.includes("config2")) {
            assertEquals((await run("cat", "/x/y/d.txt")).stdout, "d.txt from testdata/a/b/c\n");
          }
          if (config === "config.json") {
            assertEquals((await run("cat", "/LICENSE")).stdout, "MIT License (test copy)\n");
          }
        });
      }
    } finally {
      for (const id of new Set(images)) await docker(["rmi", "-f", id], { allowFail: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
);
