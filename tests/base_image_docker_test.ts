/**
 * `base_image` for real: a base made in the test (`docker import` of a busybox-static root,
 * pushed to the shared loopback registry, pinned by digest) goes below r10e's layers byte for
 * byte; its Env and WorkingDir are the image's defaults; the image runs its health check through
 * the base's shell; the manifest names the base; a second build finds the base in the cache
 * without its registry; a platform the base lacks is an error naming it.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, r10e } from "./_cli.ts";
import {
  docker,
  dockerTest,
  importImage,
  pushToLocalRegistry,
  removeImagesNamed,
  run,
  writeBusyboxRootfs,
} from "./_docker.ts";
import { cacheEnv, suffix } from "./_registry.ts";

/** Run by the base's /bin/sh: the binary is there and runs. */
const HEALTHCHECK = {
  test: 'test -x /app/hello && /app/hello >/dev/null && test "$BASE_VAR" = from-base',
  interval: "300ms",
  timeout: "5s",
  retries: 3,
};

async function readArchive(archive: string, dir: string) {
  await Deno.mkdir(dir, { recursive: true });
  const t = await run("tar", ["-xzf", archive, "-C", dir]);
  assertEquals(t.code, 0, t.stderr);
  const blob = async (digest: string) =>
    JSON.parse(await Deno.readTextFile(`${dir}/blobs/sha256/${digest.slice(7)}`));
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  const manifest = await blob(index.manifests[0].digest);
  return { manifest, config: await blob(manifest.config.digest) };
}

dockerTest(
  "base_image: a pinned busybox base below r10e's layers, its health check through its shell",
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-base-" });
    const id = suffix();
    const images: string[] = [];
    try {
      const rootfs = `${dir}/rootfs`;
      await Deno.mkdir(rootfs);
      await writeBusyboxRootfs(rootfs);
      // A Go binary in the base: the build's SBOMs list its module, as `r10e sbom` does.
      const tool = `${dir}/basetool`;
      await Deno.mkdir(tool);
      await Deno.writeTextFile(`${tool}/go.mod`, "module example.com/basetool\n\ngo 1.26\n");
      await Deno.writeTextFile(`${tool}/main.go`, "package main\n\nfunc main() { println(1) }\n");
      await Deno.mkdir(`${rootfs}/usr/local/bin`, { recursive: true });
      const made = await run("go", ["build", "-o", `${rootfs}/usr/local/bin/basetool`, "."], {
        cwd: tool,
        env: { CGO_ENABLED: "0", GOFLAGS: "-trimpath", GOTOOLCHAIN: "local", GOPROXY: "off" },
      });
      assertEquals(made.code, 0, made.stderr);
      const baseTag = `r10e-base-${id}:v1`;
      await importImage(rootfs, baseTag, {
        changes: ["ENV BASE_VAR=from-base", "WORKDIR /srv", 'CMD ["/bin/sh"]'],
      });
      images.push(baseTag);
      const baseRef = await pushToLocalRegistry(baseTag);
      // The registry's own manifest of the base (the loopback registry speaks plain http).
      const [repoPart, digest] = baseRef.split("@");
      const host = repoPart.slice(0, repoPart.indexOf("/"));
      const repo = repoPart.slice(repoPart.indexOf("/") + 1);
      const response = await fetch(`http://${host}/v2/${repo}/manifests/${digest}`, {
        headers: {
          accept:
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
        },
      });
      const baseManifest = await response.json();

      const project = `${dir}/project`;
      await copyExample(project);
      const name = `r10e-based-${id}`;
      // The example's config with this test's name and a base; each step starts from it.
      const original = await Deno.readTextFile(`${project}/config.json`);
      const configText = (base: string) =>
        Promise.resolve(
          original
            .replace(/"project_name": "[^"]*"/, `"project_name": "${name}"`)
            .replace(
              /\}\s*$/,
              `,\n  "base_image": "${base}",\n  "healthcheck": ${JSON.stringify(HEALTHCHECK)}\n}\n`,
            ),
        );
      await Deno.writeTextFile(`${project}/config.json`, await configText(baseRef));
      const env = { SOURCE_DATE_EPOCH: "1700000000", ...cacheEnv(dir) };
      const out = await r10e(["build", "--json", "-q"], { cwd: project, env });
      assertEquals(out.code, 0, out.stderr);
      const built = JSON.parse(out.stdout);
      const { manifest, config } = await readArchive(built.archivePath, `${dir}/a`);

      await t.step("the base's layer comes first, byte for byte, and is named", () => {
        assertEquals(manifest.layers[0].digest, baseManifest.layers[0].digest);
        assertEquals(manifest.layers[0].size, baseManifest.layers[0].size);
        assertEquals(built.layers[0].createdBy, "base image");
        assertEquals(
          manifest.annotations["org.opencontainers.image.base.digest"],
          baseRef.split("@")[1],
        );
        assertEquals(
          manifest.annotations["org.opencontainers.image.base.name"],
          baseRef.split("@")[0],
        );
        assertEquals(config.config.Env.includes("BASE_VAR=from-base"), true, config.config.Env);
        assertEquals(config.config.WorkingDir, "/srv");
        assertEquals(config.config.Entrypoint, ["/app/hello"]);
        assertEquals(config.config.Cmd, undefined);
        assertEquals(config.config.Healthcheck, {
          Interval: 300_000_000,
          Retries: 3,
          Test: ["CMD-SHELL", HEALTHCHECK.test],
          Timeout: 5_000_000_000,
        });
      });

      await t.step("the SBOMs beside the archive are what r10e sbom reads from it", async () => {
        for (const [format, ext] of [["spdx", "spdx"], ["cyclonedx", "cdx"]]) {
          const read = await r10e(["sbom", "--format", format, built.archivePath], { env });
          assertEquals(read.code, 0, read.stderr);
          const beside = built.archivePath.replace(/\.tar\.gz$/, `.${ext}.json`);
          assertEquals(read.stdout, await Deno.readTextFile(beside));
        }
        const spdx = JSON.parse(
          await Deno.readTextFile(built.archivePath.replace(/\.tar\.gz$/, ".spdx.json")),
        );
        assertEquals(
          spdx.files.some((f: { fileName: string }) => f.fileName === "/bin/busybox"),
          true,
        );
        assertEquals(
          spdx.packages.some((p: { name: string }) => p.name === "example.com/basetool"),
          true,
          JSON.stringify(spdx.packages.map((p: { name: string }) => p.name)),
        );
      });

      await t.step("docker runs it, and its health check through the base's shell", async () => {
        await docker(["load", "-i", built.archivePath]);
        images.push(`${name}:latest`);
        const ran = await docker(["run", "--rm", "--network", "none", `${name}:latest`]);
        assertStringIncludes(ran.stdout, "Hello");
        // The entrypoint prints and exits; a container that stays up runs the health check.
        const container = `r10e-health-${id}`;
        await docker([
          "run",
          "-d",
          "--rm",
          "--name",
          container,
          "--network",
          "none",
          "--entrypoint",
          "/bin/sleep",
          `${name}:latest`,
          "60",
        ]);
        try {
          let status = "";
          for (let i = 0; i < 100 && status !== "healthy"; i++) {
            await new Promise((r) => setTimeout(r, 200));
            const inspect = await docker([
              "inspect",
              "--format",
              "{{.State.Health.Status}}",
              container,
            ]);
            status = inspect.stdout.trim();
            if (status === "unhealthy") break;
          }
          assertEquals(status, "healthy");
        } finally {
          await docker(["rm", "-f", container], { allowFail: true });
        }
      });

      await t.step("offline once cached: the same layers without the registry", async () => {
        const offline = baseRef.replace(/^[^/]+/, "127.0.0.1:1");
        await Deno.writeTextFile(`${project}/config.json`, await configText(offline));
        const again = await r10e(["build", "--json", "-q"], { cwd: project, env });
        assertEquals(again.code, 0, again.stderr);
        const b = JSON.parse(again.stdout);
        assertEquals(
          b.layers.map((l: { digest: string }) => l.digest),
          built.layers.map((l: { digest: string }) => l.digest),
        );
      });

      await t.step("verify names a base change as one finding, not its files", async () => {
        await Deno.writeTextFile(`${rootfs}/etc/base-version`, "2\n");
        const tag2 = `r10e-base-${id}:v2`;
        await importImage(rootfs, tag2, {
          changes: ["ENV BASE_VAR=from-base", "WORKDIR /srv", 'CMD ["/bin/sh"]'],
        });
        images.push(tag2);
        const ref2 = await pushToLocalRegistry(tag2);
        const saved = built.archivePath.replace(/\.tar\.gz$/, ".v1.tar.gz");
        await Deno.rename(built.archivePath, saved);
        await Deno.writeTextFile(`${project}/config.json`, await configText(ref2));
        const second = await r10e(["build", "--json", "-q"], { cwd: project, env });
        assertEquals(second.code, 0, second.stderr);
        const v = await r10e(["verify", saved, JSON.parse(second.stdout).archivePath], { env });
        assertEquals(v.code, 1, v.stderr);
        assertStringIncludes(
          v.stdout,
          `base image differs: digest ${baseRef.split("@")[1]} → ${ref2.split("@")[1]}`,
        );
        assertEquals(v.stdout.includes("base-version"), false, v.stdout);
        await Deno.rename(saved, built.archivePath);
      });

      await t.step(
        "a dynamic executable passes the audit only on a base with its loader",
        async () => {
          const pie = (text: string) =>
            text.replace(
              '"go build -o build/hello ."',
              '"go build -buildmode=pie -o build/hello ."',
            );
          await Deno.writeTextFile(`${project}/config.json`, pie(await configText(baseRef)));
          const refused = await r10e(["build", "-q"], { cwd: project, env });
          assertEquals(refused.code, 1, refused.stderr);
          assertStringIncludes(refused.stderr, "program interpreter (PT_INTERP)");

          // The loader a Go PIE names, copied from this machine (it has no DT_NEEDED of its own).
          await Deno.mkdir(`${rootfs}/lib64`, { recursive: true });
          await Deno.copyFile(
            await Deno.realPath("/lib64/ld-linux-x86-64.so.2"),
            `${rootfs}/lib64/ld-linux-x86-64.so.2`,
          );
          const tag3 = `r10e-base-${id}:v3`;
          await importImage(rootfs, tag3);
          images.push(tag3);
          const ref3 = await pushToLocalRegistry(tag3);
          await Deno.writeTextFile(`${project}/config.json`, pie(await configText(ref3)));
          const ok = await r10e(["build", "--json", "-q"], { cwd: project, env });
          assertEquals(ok.code, 0, ok.stderr);
          await docker(["load", "-i", JSON.parse(ok.stdout).archivePath]);
          const ran = await docker(["run", "--rm", "--network", "none", `${name}:latest`]);
          assertStringIncludes(ran.stdout, "Hello");
        },
      );

      await t.step("a cached blob that changed is refused, naming the file", async () => {
        const cached = `${dir}/cache/r10e/blobs/sha256/${built.layers[0].digest.slice(7)}`;
        const bytes = await Deno.readFile(cached);
        bytes[bytes.length - 1] ^= 1;
        await Deno.writeFile(cached, bytes);
        await Deno.writeTextFile(`${project}/config.json`, await configText(baseRef));
        const failed = await r10e(["build", "-q"], { cwd: project, env });
        assertEquals(failed.code, 2, failed.stderr);
        assertStringIncludes(failed.stderr, `the cached file "${cached}" has sha256:`);
        await Deno.remove(cached);
      });

      await t.step("init fetches the base: then a build needs no registry", async () => {
        const fresh = { ...env, ...cacheEnv(`${dir}/fresh`), GOPROXY: "off" };
        await Deno.writeTextFile(`${project}/config.json`, await configText(baseRef));
        const init = await r10e(["init", "-q"], { cwd: project, env: fresh });
        assertEquals(init.code, 0, init.stderr);
        await Deno.writeTextFile(
          `${project}/config.json`,
          await configText(baseRef.replace(/^[^/]+/, "127.0.0.1:1")),
        );
        const offline = await r10e(["build", "--json", "-q"], { cwd: project, env: fresh });
        assertEquals(offline.code, 0, offline.stderr);
        assertEquals(JSON.parse(offline.stdout).layers[0].digest, built.layers[0].digest);
      });

      await t.step("a tag: build asks for init, which pins its digest in pins.json", async () => {
        const tagRef = baseRef.replace(/@sha256:[0-9a-f]{64}$/, ":v1");
        const pinsFile = `${project}/r10e-docker/pins.json`;
        await Deno.writeTextFile(`${project}/config.json`, await configText(tagRef));
        const unpinned = await r10e(["build", "-q"], { cwd: project, env });
        assertEquals(unpinned.code, 2, unpinned.stderr);
        assertStringIncludes(unpinned.stderr, `config.json asks for base_image "${tagRef}"`);
        const init = await r10e(["init", "-q"], { cwd: project, env: { ...env, GOPROXY: "off" } });
        assertEquals(init.code, 0, init.stderr);
        const pins = JSON.parse(await Deno.readTextFile(pinsFile));
        assertEquals(pins.base_image, { requested: tagRef, pinned: baseRef });
        const b = await r10e(["build", "--json", "-q"], { cwd: project, env });
        assertEquals(b.code, 0, b.stderr);
        assertEquals(JSON.parse(b.stdout).layers[0].digest, built.layers[0].digest);
      });

      await t.step("a platform the base lacks is an error naming it", async () => {
        await Deno.writeTextFile(
          `${project}/config.json`,
          (await configText(baseRef)).replace(/\}\s*$/, `,\n  "platform": "linux/arm64"\n}\n`),
        );
        const init = await r10e(["init", "-q"], { cwd: project, env: { ...env, GOPROXY: "off" } });
        assertEquals(init.code, 2, init.stderr);
        assertStringIncludes(init.stderr, `not for platform "linux/arm64"`);
      });
    } finally {
      await removeImagesNamed(id);
      await Deno.remove(dir, { recursive: true });
    }
  },
);
