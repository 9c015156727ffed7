/**
 * `r10e build --in docker` through the real entry point, on git copies
 * of the example project, with a builder image the test makes itself (the
 * machine's Go toolchain + busybox + git, `docker import`ed and pushed to the
 * local registry for a real digest: tests/_docker.ts goBuilderImage).
 *
 * The checks that stop before the engine (unpinned builder, drifted digest,
 * unreachable engine) run without Docker; the rest skip visibly without one.
 */
import assert from "node:assert/strict";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { fileSha256, git, r10e, REPO } from "./_cli.ts";
import { hostTag, ownerOfContainer } from "../src/build/stale_containers.ts";
import { processAlive } from "../src/signals.ts";
import {
  builderTag,
  copyExampleWithBuilder,
  docker,
  dockerTest,
  goBuilderImage,
  run,
} from "./_docker.ts";

const ARCHIVE = "r10e-docker/out/r10e-hello-latest.tar.gz";
const FAKE_DIGEST = "sha256:" + "5".repeat(64);
const OTHER_DIGEST = "sha256:" + "6".repeat(64);
const SDE = { SOURCE_DATE_EPOCH: "1700000000" };

/**
 * A copy of the example whose config names `builder`, with r10e-docker/ written
 * by `r10e init` and everything committed (so the tree is clean and Go stamps
 * the same VCS information in both modes).
 */
async function project(
  builder: string,
  options: { reverse?: boolean; env?: Record<string, string> } = {},
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-docker-build-" });
  await copyExampleWithBuilder(dir, builder, { reverse: options.reverse });
  const init = await r10e(["init", "--force"], { cwd: dir, env: options.env });
  if (init.code !== 0) throw new Error(`r10e init failed: ${init.stderr}`);
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "example");
  return dir;
}

async function pins(dir: string): Promise<{ builder_image: string | null }> {
  return JSON.parse(await Deno.readTextFile(`${dir}/r10e-docker/pins.json`));
}

Deno.test("build --in docker without an engine: refusals with exit 2 and clear messages", async (t) => {
  const noEngine = { DOCKER_HOST: "unix:///nonexistent/r10e-no-docker.sock", ...SDE };
  const dir = await project(`127.0.0.1:5555/r10e-test-go-builder@${FAKE_DIGEST}`, {
    env: noEngine,
  });
  try {
    await t.step("init records the pinned builder as given", async () => {
      assertEquals(
        (await pins(dir)).builder_image,
        `127.0.0.1:5555/r10e-test-go-builder@${FAKE_DIGEST}`,
      );
      const dockerfile = await Deno.readTextFile(`${dir}/r10e-docker/Dockerfile`);
      assertStringIncludes(
        dockerfile,
        `FROM 127.0.0.1:5555/r10e-test-go-builder@${FAKE_DIGEST} AS builder\n`,
      );
    });

    await t.step("unreachable engine: exit 2, one clear line, no stack trace", async () => {
      const r = await r10e(["build", "--in", "docker"], { cwd: dir, env: noEngine });
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(
        r.stderr,
        "r10e: Cannot build --in docker: no Docker engine reachable at unix:///nonexistent/r10e-no-docker.sock: ",
      );
      assertStringIncludes(r.stderr, "(start Docker, or build with --in host)");
      assertEquals(/^\s+at /m.test(r.stderr), false, r.stderr);
      assertEquals(await exists(`${dir}/${ARCHIVE}`), false);
    });

    await t.step("--in auto falls back to the host and says why", async () => {
      const r = await r10e(["build", "--json"], { cwd: dir, env: noEngine });
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(
        r.stderr,
        "Building on the host (--in auto: no Docker engine reachable at unix:///nonexistent/r10e-no-docker.sock",
      );
      assertEquals(JSON.parse(r.stdout).mode, "host");
    });

    await t.step("a changed digest in the recorded inputs names both digests", async () => {
      const file = `${dir}/r10e-docker/pins.json`;
      const text = await Deno.readTextFile(file);
      await Deno.writeTextFile(file, text.replace(FAKE_DIGEST, OTHER_DIGEST));
      try {
        const r = await r10e(["build", "--in", "docker"], { cwd: dir, env: noEngine });
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(
          r.stderr,
          `Cannot build --in docker: the builder image digest changed: "${dir}/r10e-docker/pins.json" records ${OTHER_DIGEST} (expected) but "${dir}/r10e-docker/Dockerfile" has ${FAKE_DIGEST} (found)`,
        );
      } finally {
        await Deno.writeTextFile(file, text);
      }
    });

    await t.step("an unpinned builder is refused unless --allow-unpinned", async () => {
      const file = `${dir}/r10e-docker/pins.json`;
      const dockerfile = `${dir}/r10e-docker/Dockerfile`;
      const [p, d] = [await Deno.readTextFile(file), await Deno.readTextFile(dockerfile)];
      await Deno.writeTextFile(
        file,
        p.replace(/"builder_image": "[^"]*"/, '"builder_image": null'),
      );
      await Deno.writeTextFile(dockerfile, d.replaceAll(`@${FAKE_DIGEST}`, ""));
      try {
        const refused = await r10e(["build", "--in", "docker"], { cwd: dir, env: noEngine });
        assertEquals(refused.code, 2, refused.stderr);
        assertStringIncludes(
          refused.stderr,
          'Cannot build --in docker: the builder image "127.0.0.1:5555/r10e-test-go-builder" is not pinned by digest',
        );
        assertStringIncludes(refused.stderr, "or pass --allow-unpinned");
        // Allowed, it gets past the pin check and stops at the missing engine.
        const allowed = await r10e(["build", "--in", "docker", "--allow-unpinned"], {
          cwd: dir,
          env: noEngine,
        });
        assertEquals(allowed.code, 2, allowed.stderr);
        assertStringIncludes(allowed.stderr, "NOT PINNED by digest (--allow-unpinned)");
        assertStringIncludes(allowed.stderr, "no Docker engine reachable");
      } finally {
        await Deno.writeTextFile(file, p);
        await Deno.writeTextFile(dockerfile, d);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

dockerTest(
  "build --in docker: same archive, image ID and manifest digest as --in host, from any path; .dockerignore honored",
  async (t, engine) => {
    const builder = await goBuilderImage();
    const env = { DOCKER_HOST: engine.host, ...SDE };
    // The config names the builder by tag: init pins it through the engine.
    const tag = await builderTag(builder);
    const a = await project(tag, { env });
    const b = await project(tag, { reverse: true, env });
    // Containers of r10e's naming that exist before this test (another run on the same engine)
    // are not this test's leftovers.
    const before = new Set(
      r10eContainers((await docker(["ps", "-a", "--format", "{{.Names}}"])).stdout),
    );
    try {
      await t.step("init pins the builder's digest from the local registry", async () => {
        assertEquals((await pins(a)).builder_image, `${tag}@${builder.digest}`);
      });

      let dockerSeconds = 0;
      let hostSeconds = 0;
      let inDocker: Record<string, unknown> = {};
      await t.step("docker mode builds the example", async () => {
        const t0 = performance.now();
        const r = await r10e(["build", "--in", "docker", "--json"], { cwd: a, env });
        dockerSeconds = (performance.now() - t0) / 1000;
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stderr, "in the builder container (network none)");
        inDocker = JSON.parse(r.stdout);
        assertEquals(inDocker.mode, "docker");
        assertEquals(inDocker.archiveSha256, await fileSha256(`${a}/${ARCHIVE}`));
      });

      await t.step(
        "host mode gives a byte-identical archive and SBOMs; only the provenance beside it says the mode",
        async () => {
          await Deno.remove(`${a}/${ARCHIVE}`);
          const t0 = performance.now();
          const r = await r10e(["build", "--in", "host", "--json"], { cwd: a, env });
          hostSeconds = (performance.now() - t0) / 1000;
          assertEquals(r.code, 0, r.stderr);
          const inHost = JSON.parse(r.stdout);
          assertEquals(inHost.mode, "host");
          // The archive is the image alone: the same bytes in both modes. The provenance, beside
          // it, records the mode and so differs; the SBOMs describe the image and do not.
          assertEquals(inHost.archiveSha256, inDocker.archiveSha256);
          assertEquals(await fileSha256(`${a}/${ARCHIVE}`), inDocker.archiveSha256);
          const docs = (b: unknown, provenance: boolean) =>
            (b as { documents: { kind: string; sha256: string }[] }).documents
              .filter((d) => (d.kind === "provenance") === provenance).map((d) => d.sha256);
          assertEquals(docs(inHost, false), docs(inDocker, false));
          assert.notDeepStrictEqual(docs(inHost, true), docs(inDocker, true));
          assertEquals(inHost.imageId, inDocker.imageId);
          assertEquals(inHost.manifestDigest, inDocker.manifestDigest);
          assertEquals(inHost.artifacts, inDocker.artifacts);
        },
      );

      await t.step(
        "another path, creation order, umask and clock: identical (--in auto picks docker)",
        async () => {
          for (const f of ["main.go", "LICENSE", "data/greeting.txt"]) {
            await Deno.utime(`${b}/${f}`, 86400 * 400, 86400 * 800);
          }
          const t0 = performance.now();
          const r = await r10e(["build", "--json"], {
            cwd: b,
            env: { ...env, TZ: "Asia/Kolkata", LC_ALL: "de_DE.UTF-8" },
            umask: "077",
          });
          const warmSeconds = (performance.now() - t0) / 1000;
          assertEquals(r.code, 0, r.stderr);
          assertStringIncludes(r.stderr, "Building in the pinned builder container (--in auto");
          // The figure it prints: docker mode against host mode, the builder image present.
          const driver = (await docker(["info", "--format", "{{.Driver}}"])).stdout.trim();
          console.log(
            `timing: docker mode ${warmSeconds.toFixed(1)} s (first docker build ${
              dockerSeconds.toFixed(1)
            } s, with the engine's Go cache volume as it was), host mode ${
              hostSeconds.toFixed(1)
            } s, ` +
              `ratio ${(warmSeconds / hostSeconds).toFixed(2)} (storage driver ${driver})`,
          );
          const other = JSON.parse(r.stdout);
          assertEquals(other.mode, "docker");
          assertEquals(other.archiveSha256, inDocker.archiveSha256);
          assertEquals(await fileSha256(`${b}/${ARCHIVE}`), inDocker.archiveSha256);
        },
      );

      await t.step(
        "build_container.sh builds in docker, and .dockerignore is honored: an ignored extern_data src is missing",
        async () => {
          await Deno.writeTextFile(`${b}/.dockerignore`, "LICENSE\n");
          // As r10edocker users run it, from anywhere, with r10e from this checkout.
          const r = await run("bash", [`${b}/r10e-docker/build_container.sh`], {
            cwd: "/",
            env: { ...Deno.env.toObject(), ...env, R10E: `${REPO}/scripts/r10e`, NO_COLOR: "1" },
          });
          assertEquals(r.code, 2, r.stderr);
          assertStringIncludes(r.stderr, "in the builder container");
          assertStringIncludes(r.stderr, 'extern_data[1].src: expected a file at "LICENSE"');
        },
      );

      await t.step("no container or context image is left behind", async () => {
        const ps = await docker(["ps", "-a", "--format", "{{.Names}}"]);
        assertEquals(leftovers(ps.stdout).filter((n) => !before.has(n)), []);
      });
    } finally {
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  },
);

/** Names of containers that r10e's docker mode creates, from `docker ps --format {{.Names}}`. */
function r10eContainers(names: string): string[] {
  return names.split("\n").filter((n) => /^r10e-(build|context)-/.test(n));
}

/**
 * r10e's containers whose owner has ended: a build of another test file still running beside
 * this one (deno test --parallel) owns its containers and is not a leftover.
 */
function leftovers(names: string): string[] {
  return r10eContainers(names).filter((n) => {
    const owner = ownerOfContainer(n);
    return owner === null || owner.host !== hostTag() || !processAlive(owner.pid);
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A project whose binary prints a fixed instant in Europe/Paris, with the given extra config fields. */
async function tzProject(extra: Record<string, unknown>, name: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-tz-" });
  await Deno.writeTextFile(`${dir}/go.mod`, "module example.com/tz\n\ngo 1.24\n");
  await Deno.writeTextFile(
    `${dir}/main.go`,
    `package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tz:", err)
		os.Exit(3)
	}
	fmt.Println(time.Unix(1700000000, 0).In(loc).Format(time.RFC3339 + " MST"))
}
`,
  );
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      project_name: name,
      build_cmd: "go build -o build/tz .",
      go_version: "1.26.8",
      artifacts: [{ src: "build/tz", dest: "/app/tz" }],
      entrypoint: ["/app/tz"],
      ...extra,
    }),
  );
  const init = await r10e(["init", "-q"], { cwd: dir, env: { GOPROXY: "off" } });
  if (init.code !== 0) throw new Error(`r10e init failed: ${init.stderr}`);
  return dir;
}

dockerTest(
  "exposed_ports and stop_signal show in docker inspect; include_tzdata lets time.LoadLocation work in docker run --network none",
  async (t) => {
    const suffix = crypto.randomUUID().slice(0, 8);
    const withTz = `r10e-test-tz-${suffix}`;
    const withoutTz = `r10e-test-notz-${suffix}`;
    const a = await tzProject({
      exposed_ports: ["8080", "53/udp"],
      stop_signal: "SIGINT",
      include_tzdata: true,
    }, withTz);
    const b = await tzProject({}, withoutTz);
    try {
      const built = await r10e(["build", "--in", "host", "--json", "-q"], { cwd: a, env: SDE });
      assertEquals(built.code, 0, built.stderr);
      const pinned = JSON.parse(await Deno.readTextFile(`${a}/r10e-docker/pins.json`));
      assertEquals(typeof pinned.tzdata_sha256, "string");
      const load = await docker(["load", "-i", `${a}/r10e-docker/out/${withTz}-latest.tar.gz`]);
      assertStringIncludes(load.stdout, `Loaded image: ${withTz}:latest`);

      await t.step("docker inspect shows ExposedPorts and StopSignal", async () => {
        const inspect = await docker([
          "image",
          "inspect",
          "--format",
          "{{json .Config.ExposedPorts}} {{.Config.StopSignal}}",
          `${withTz}:latest`,
        ]);
        assertEquals(inspect.stdout.trim(), '{"53/udp":{},"8080/tcp":{}} SIGINT');
      });

      await t.step("Europe/Paris loads from /usr/share/zoneinfo inside the container", async () => {
        const out = await docker(["run", "--rm", "--network", "none", `${withTz}:latest`]);
        assertEquals(out.stdout, "2023-11-14T23:13:20+01:00 CET\n");
      });

      await t.step(
        "without include_tzdata the same program cannot load it (and pins.json says nothing)",
        async () => {
          const r = await r10e(["build", "--in", "host", "-q"], { cwd: b, env: SDE });
          assertEquals(r.code, 0, r.stderr);
          const pins = JSON.parse(await Deno.readTextFile(`${b}/r10e-docker/pins.json`));
          assertEquals("tzdata_sha256" in pins, false);
          await docker(["load", "-i", `${b}/r10e-docker/out/${withoutTz}-latest.tar.gz`]);
          const out = await docker(["run", "--rm", "--network", "none", `${withoutTz}:latest`], {
            allowFail: true,
          });
          assertEquals(out.code, 3, out.stderr);
          assertStringIncludes(out.stderr, "tz: unknown time zone Europe/Paris");
          const inspect = await docker([
            "image",
            "inspect",
            "--format",
            "{{json .Config.ExposedPorts}} {{json .Config.StopSignal}}",
            `${withoutTz}:latest`,
          ]);
          assertEquals(inspect.stdout.trim(), 'null ""');
        },
      );

      await t.step("include_tzdata set after init: build refuses until init pins it", async () => {
        const file = `${b}/config.json`;
        const config = JSON.parse(await Deno.readTextFile(file));
        await Deno.writeTextFile(file, JSON.stringify({ ...config, include_tzdata: true }));
        const r = await r10e(["build", "--in", "host", "-q"], { cwd: b, env: SDE });
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(
          r.stderr,
          `include_tzdata is true but "${b}/r10e-docker/pins.json" says no tzdata`,
        );
      });
    } finally {
      await docker(["rmi", "-f", `${withTz}:latest`, `${withoutTz}:latest`], { allowFail: true });
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  },
);

/** A committed copy of tests/fixtures/uuid-app (one dependency from the module proxy) naming `builder`. */
async function uuidProject(builder: string, env: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-uuid-app-" });
  for (const f of ["go.mod", "go.sum", "main.go", "config.json"]) {
    await Deno.copyFile(`${REPO}/tests/fixtures/uuid-app/${f}`, `${dir}/${f}`);
  }
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({ ...config, builder_image: builder }, null, 2) + "\n",
  );
  await Deno.writeTextFile(`${dir}/.gitignore`, "/build/\n");
  const init = await r10e(["init", "-q"], { cwd: dir, env });
  if (init.code !== 0) throw new Error(`r10e init failed: ${init.stderr}`);
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "uuid-app");
  return dir;
}

dockerTest(
  "build --in docker: --network none by default, modules downloaded on the host and mounted read-only; the host's bytes",
  async (t, engine) => {
    const builder = await goBuilderImage();
    // A module cache of its own: the download on the host really happens (from the Go module proxy).
    const modCache = await Deno.makeTempDir({ prefix: "r10e-modcache-" });
    const env = { DOCKER_HOST: engine.host, GOMODCACHE: modCache, ...SDE };
    const dir = await uuidProject(builder.ref, env);
    const archive = `${dir}/r10e-docker/out/r10e-uuid-app-latest.tar.gz`;
    try {
      let inDocker: Record<string, unknown> = {};
      await t.step("docker mode builds with no network in the container", async () => {
        const r = await r10e(["build", "--in", "docker", "--json"], { cwd: dir, env });
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stderr, "(go mod download, checked against go.sum)");
        assertStringIncludes(r.stderr, "in the builder container (network none)");
        inDocker = JSON.parse(r.stdout);
        // The host's cache holds the module now, read-only as Go leaves it.
        const mod = `${modCache}/github.com/google/uuid@v1.6.0/uuid.go`;
        assertEquals((await Deno.stat(mod)).isFile, true);
      });
      await t.step("the host build gives a byte-identical archive and SBOMs", async () => {
        await Deno.remove(archive);
        const r = await r10e(["build", "--in", "host", "--json"], { cwd: dir, env });
        assertEquals(r.code, 0, r.stderr);
        const inHost = JSON.parse(r.stdout);
        assertEquals(inHost.archiveSha256, inDocker.archiveSha256);
        const sboms = (b: unknown) =>
          (b as { documents: { kind: string; sha256: string }[] }).documents
            .filter((d) => d.kind !== "provenance").map((d) => d.sha256);
        assertEquals(sboms(inHost), sboms(inDocker));
        assertEquals(inHost.manifestDigest, inDocker.manifestDigest);
        assertEquals(inHost.artifacts, inDocker.artifacts);
      });
      await t.step("the image runs and prints the dependency's output", async () => {
        const load = await docker(["load", "-i", archive]);
        assertStringIncludes(load.stdout, "Loaded image: r10e-uuid-app:latest");
        const out = await docker(["run", "--rm", "--network", "none", "r10e-uuid-app:latest"]);
        assertEquals(out.stdout, "32bc0937-7e63-533f-adeb-a571d506d250\n");
      });
      await t.step(
        "a go.sum that does not match the module: the host download refuses (exit 1)",
        async () => {
          const sum = await Deno.readTextFile(`${dir}/go.sum`);
          await Deno.writeTextFile(
            `${dir}/go.sum`,
            sum.replace(
              "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=",
              "h1:" + "A".repeat(43) + "=",
            ),
          );
          try {
            const r = await r10e(["build", "--in", "docker"], { cwd: dir, env });
            assertEquals(r.code, 1, r.stderr);
            assertStringIncludes(r.stderr, "SECURITY ERROR");
            assertStringIncludes(
              r.stderr,
              "r10e: Cannot download the modules on the host: go mod download exited with code 1",
            );
          } finally {
            await Deno.writeTextFile(`${dir}/go.sum`, sum);
          }
        },
      );
    } finally {
      await docker(["rmi", "-f", "r10e-uuid-app:latest"], { allowFail: true });
      await Deno.remove(dir, { recursive: true });
      await run("chmod", ["-R", "u+w", modCache]);
      await Deno.remove(modCache, { recursive: true });
    }
  },
);

dockerTest(
  "build audit --in docker: a builder image without git gives no VCS stamp, an error naming vcs.revision (exit 1)",
  async (_t, engine) => {
    const builder = await goBuilderImage({ git: false });
    const env = { DOCKER_HOST: engine.host, ...SDE };
    const dir = await project(builder.ref, { env });
    try {
      const r = await r10e(["build", "--in", "docker"], { cwd: dir, env });
      assertEquals(r.code, 1, r.stderr);
      const head = (await git(dir, "rev-parse", "HEAD")).trim();
      assertStringIncludes(
        r.stderr,
        `\n  /app/hello ("build/hello"): vcs.revision: expected "${head}", found nothing (no VCS stamp): the builder image has no git`,
      );
      assertEquals(await exists(`${dir}/${ARCHIVE}`), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
