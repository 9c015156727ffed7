/**
 * `base_image` with several platforms: a base index made in the test (a busybox root from
 * `docker import`, pushed to the loopback registry, given a linux/arm64 twin with crane, both
 * listed in one index) gives each platform's image its own base manifest's layers and the
 * index's digest as its base annotation; two clones build the same archive; a platform the
 * index lacks is an error naming it and the platforms it has.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, r10e } from "./_cli.ts";
import {
  dockerTest,
  importImage,
  pushToLocalRegistry,
  removeImagesNamed,
  run,
  testRegistry,
  writeBusyboxRootfs,
} from "./_docker.ts";
import { cacheEnv, findCrane, suffix } from "./_registry.ts";

dockerTest(
  "base_image: two platforms from a base index, the same archive from two clones",
  async (t) => {
    const crane = findCrane();
    if (!crane) throw new Error("crane is not installed (bash scripts/setup.sh installs it)");
    const registry = testRegistry()!;
    const dir = await Deno.makeTempDir({ prefix: "r10e-base-platforms-" });
    const id = suffix();
    try {
      await Deno.mkdir(`${dir}/rootfs`);
      await writeBusyboxRootfs(`${dir}/rootfs`);
      await importImage(`${dir}/rootfs`, `r10e-base-multi-${id}:amd64`);
      const amd64 = await pushToLocalRegistry(`r10e-base-multi-${id}:amd64`);
      const arm64Tag = `${registry}/r10e-base-multi-${id}:arm64`;
      const mutated = await run(crane, [
        "mutate",
        "--insecure",
        "--set-platform",
        "linux/arm64",
        amd64,
        "-t",
        arm64Tag,
      ]);
      assertEquals(mutated.code, 0, mutated.stderr);
      const indexTag = `${registry}/r10e-base-multi-${id}:multi`;
      const made = await run(crane, [
        "index",
        "append",
        "--insecure",
        "-m",
        amd64,
        "-m",
        arm64Tag,
        "-t",
        indexTag,
      ]);
      assertEquals(made.code, 0, made.stderr);
      const digest = (await run(crane, ["digest", "--insecure", indexTag])).stdout.trim();
      const baseRef = `${registry}/r10e-base-multi-${id}@${digest}`;
      const baseIndex = JSON.parse((await run(crane, ["manifest", "--insecure", baseRef])).stdout);

      const config = (platforms: string[]) =>
        JSON.stringify({
          project_name: `r10e-based-multi-${id}`,
          build_cmd: "go build -o build/$R10E_OS-$R10E_ARCH/hello .",
          go_version: "1.26.8",
          platforms,
          artifacts: [{ src: "build/{os}-{arch}/hello", dest: "/app/hello" }],
          extern_data: [{ src: "data", dest: "/app/data" }],
          include_ca_bundle: true,
          entrypoint: ["/app/hello"],
          base_image: baseRef,
        });
      const env = { SOURCE_DATE_EPOCH: "1700000000", GOPROXY: "off", ...cacheEnv(dir) };
      const builds: {
        archivePath: string;
        archiveSha256: string;
        images: { manifestDigest: string; layers: { digest: string }[] }[];
      }[] = [];
      for (const clone of ["a", "b"]) {
        const project = `${dir}/${clone}`;
        await copyExample(project, { reverse: clone === "b" });
        await Deno.writeTextFile(`${project}/config.json`, config(["linux/amd64", "linux/arm64"]));
        const init = await r10e(["init", "-q"], { cwd: project, env });
        assertEquals(init.code, 0, init.stderr);
        const out = await r10e(["build", "--json", "-q"], { cwd: project, env });
        assertEquals(out.code, 0, out.stderr);
        builds.push(JSON.parse(out.stdout));
      }

      await t.step("each platform starts with its base manifest's layers", async () => {
        await Deno.mkdir(`${dir}/x`);
        const x = await run("tar", ["-xzf", builds[0].archivePath, "-C", `${dir}/x`]);
        assertEquals(x.code, 0, x.stderr);
        for (const [n, platform] of ["amd64", "arm64"].entries()) {
          const entry = baseIndex.manifests.find((m: { platform: { architecture: string } }) =>
            m.platform.architecture === platform
          );
          const manifest = JSON.parse(
            (await run(crane, [
              "manifest",
              "--insecure",
              `${registry}/r10e-base-multi-${id}@${entry.digest}`,
            ]))
              .stdout,
          );
          assertEquals(builds[0].images[n].layers[0].digest, manifest.layers[0].digest);
        }
      });

      await t.step("two clones, files created in another order: the same archive", () => {
        assertEquals(builds[0].archiveSha256, builds[1].archiveSha256);
      });

      await t.step("a platform the base index lacks is named, with those it has", async () => {
        const project = `${dir}/a`;
        await Deno.writeTextFile(
          `${project}/config.json`,
          config(["linux/amd64", "linux/arm/v7"]),
        );
        const init = await r10e(["init", "-q"], { cwd: project, env });
        assertEquals(init.code, 2, init.stderr);
        assertStringIncludes(
          init.stderr,
          'it has no image for platform "linux/arm/v7" (it has "linux/amd64", "linux/arm64")',
        );
      });
    } finally {
      await removeImagesNamed(`r10e-base-multi-${id}`);
      await Deno.remove(dir, { recursive: true });
    }
  },
);
