/**
 * Several platforms for real: tests/fixtures/multiarch built for
 * linux/amd64 and linux/arm64 in ONE builder container run, `docker load` of the archive
 * (linux/amd64, the platform manifest.json carries) and `docker run` of it, then
 * `r10e push` to the loopback registry, `docker pull --platform linux/arm64` of the index
 * digest and `docker run --platform linux/arm64` under qemu-user-static (binfmt_misc
 * registered with the F flag by this test, and only what it registered removed at the end),
 * and crane and skopeo serving the same index digest.
 */
import { createHash } from "node:crypto";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { git, r10e, REPO } from "./_cli.ts";
import {
  docker,
  dockerRequired,
  dockerTest,
  goBuilderImage,
  requireTool,
  run,
  testRegistry,
} from "./_docker.ts";
import { cacheEnv, findCrane, suffix } from "./_registry.ts";

const FIXTURE = `${REPO}/tests/fixtures/multiarch`;
const BINFMT = "/proc/sys/fs/binfmt_misc";
const QEMU_CONF = "/usr/lib/binfmt.d/qemu-aarch64.conf";
const SDE = { SOURCE_DATE_EPOCH: "1700000000" };

/**
 * Makes arm64 binaries run here: binfmt_misc mounted if it is not, and the aarch64 line of
 * qemu-user-static registered with the F flag (the interpreter opened now, so that it works
 * inside containers) unless an aarch64 handler is registered already. Returns the undo
 * (removing only what was registered here), or why it cannot be done.
 */
async function registerAarch64(): Promise<{ undo: () => Promise<void> } | string> {
  let conf: string;
  try {
    conf = await Deno.readTextFile(QEMU_CONF);
  } catch {
    return `${QEMU_CONF} is missing: qemu-user-static is not installed (bash scripts/setup.sh installs it)`;
  }
  const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
  if (!(await exists(`${BINFMT}/register`))) {
    const m = await run("mount", ["-t", "binfmt_misc", "binfmt_misc", BINFMT]);
    if (m.code !== 0) return `cannot mount binfmt_misc on ${BINFMT}: ${m.stderr.trim()}`;
  }
  const line = conf.split("\n").find((l) => l.startsWith(":qemu-aarch64:"));
  if (!line) return `${QEMU_CONF} has no :qemu-aarch64: line`;
  const name = line.split(":")[1];
  if (await exists(`${BINFMT}/${name}`)) return { undo: async () => {} };
  // :name:type:offset:magic:mask:interpreter:flags; F is needed inside containers.
  const fields = line.trim().split(":");
  if (!fields[7].includes("F")) fields[7] += "F";
  await Deno.writeTextFile(`${BINFMT}/register`, fields.join(":"));
  return {
    undo: async () => {
      await Deno.writeTextFile(`${BINFMT}/${name}`, "-1").catch(() => {});
    },
  };
}

/** A copy of the fixture, named `name`, building FROM `builder`, initialized and committed. */
async function project(name: string, builder: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-multiarch-" });
  for (const f of ["main.go", "go.mod", "greeting.txt"]) {
    await Deno.copyFile(`${FIXTURE}/${f}`, `${dir}/${f}`);
  }
  const config = (await Deno.readTextFile(`${FIXTURE}/config.json`))
    .replace('"project_name": "r10e-multiarch"', `"project_name": ${JSON.stringify(name)}`)
    .replace(
      '"include_ca_bundle": true,',
      `"include_ca_bundle": true,\n  "builder_image": ${JSON.stringify(builder)},`,
    );
  await Deno.writeTextFile(`${dir}/config.json`, config);
  await Deno.writeTextFile(`${dir}/.gitignore`, "/build/\n/r10e-docker/out/\n");
  const init = await r10e(["init", "--force"], { cwd: dir });
  if (init.code !== 0) throw new Error(`r10e init failed: ${init.stderr}`);
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "multiarch");
  return dir;
}

interface Built {
  archivePath: string;
  archiveSha256: string;
  imageId: string;
  indexDigest: string;
  images: { platform: string; manifestDigest: string; imageId: string }[];
}

dockerTest(
  "multiplatform: one builder run for amd64 and arm64; docker load runs amd64; pushed index runs arm64 under qemu",
  async (t) => {
    const skopeo = requireTool(t, "skopeo");
    const crane = findCrane();
    if (!skopeo) return;
    if (!crane) {
      if (dockerRequired()) {
        throw new Error("R10E_REQUIRE_DOCKER=1 but crane is not installed (bash scripts/setup.sh)");
      }
      console.log(
        `skipped: "${t.name}": crane is not installed (bash scripts/setup.sh installs it)`,
      );
      return;
    }
    const registry = testRegistry();
    if (!registry) throw new Error("no shared loopback registry (scripts/dockerd.sh start)");
    const qemu = await registerAarch64();
    if (typeof qemu === "string") {
      if (dockerRequired()) throw new Error(`R10E_REQUIRE_DOCKER=1 but ${qemu}`);
      console.log(`skipped: "${t.name}": ${qemu}`);
      return;
    }
    const name = `r10e-multiarch-${suffix()}`;
    const builder = await goBuilderImage();
    const dir = await project(name, builder.ref);
    const made: string[] = [];
    try {
      let built!: Built;
      await t.step("build --in docker: both platforms in one container run", async () => {
        const r = await r10e(["build", "--in", "docker", "--json"], { cwd: dir, env: SDE });
        assertEquals(r.code, 0, r.stderr);
        built = JSON.parse(r.stdout);
        assertEquals(built.images.map((i) => i.platform), ["linux/amd64", "linux/arm64"]);
        assertStringIncludes(
          r.stderr,
          "in the builder container (network none), once for each of linux/amd64, linux/arm64",
        );
        assertEquals(r.stderr.match(/Running build_cmd/g)?.length, 1, r.stderr);
        assertStringIncludes(r.stderr, "r10e: build_cmd for linux/arm64");
        // The same archive, byte for byte, as a host build and an --in auto build (which picks
        // docker) of the same commit: nothing of how it was built is inside (image format 5).
        const host = await r10e(["build", "--in", "host", "--json", "-q"], { cwd: dir, env: SDE });
        assertEquals(host.code, 0, host.stderr);
        assertEquals(JSON.parse(host.stdout).indexDigest, built.indexDigest);
        assertEquals(JSON.parse(host.stdout).archiveSha256, built.archiveSha256);
        const auto = await r10e(["build", "--json", "-q"], { cwd: dir, env: SDE });
        assertEquals(auto.code, 0, auto.stderr);
        assertEquals(JSON.parse(auto.stdout).mode, "docker");
        assertEquals(JSON.parse(auto.stdout).archiveSha256, built.archiveSha256);
      });

      await t.step("docker load gets linux/amd64 (manifest.json) and it runs", async () => {
        const loaded = await docker(["load", "-i", built.archivePath]);
        made.push(`${name}:latest`);
        assertStringIncludes(loaded.stdout, `Loaded image: ${name}:latest`);
        const id = await docker([
          "image",
          "inspect",
          "--format",
          "{{.Id}} {{.Architecture}}",
          `${name}:latest`,
        ]);
        assertEquals(id.stdout.trim(), `${built.imageId} amd64`);
        const ran = await docker(["run", "--rm", "--network", "none", `${name}:latest`]);
        assertEquals(ran.stdout, "hello from linux/amd64\n");
      });

      const repo = `${registry}/${name}`;
      await t.step(
        "r10e push sends the index with the digest build printed; crane and skopeo agree",
        async () => {
          const env = { DOCKER_CONFIG: `${dir}/.docker`, ...cacheEnv(dir) };
          const pushed = await r10e(["push", built.archivePath, `${repo}:v1`], { env });
          assertEquals(pushed.code, 0, pushed.stderr);
          assertEquals(pushed.stdout, `${repo}@${built.indexDigest}\n`);
          const digest = await run(crane, ["digest", "--insecure", `${repo}:v1`]);
          assertEquals(digest.stdout.trim(), built.indexDigest, digest.stderr);
          const manifest = await run(crane, [
            "manifest",
            "--insecure",
            `${repo}@${built.indexDigest}`,
          ]);
          assertEquals(
            `sha256:${createHash("sha256").update(manifest.stdout).digest("hex")}`,
            built.indexDigest,
          );
          const raw = await new Deno.Command(skopeo, {
            args: ["inspect", "--raw", "--tls-verify=false", `docker://${repo}:v1`],
            stdout: "piped",
            stderr: "piped",
          }).output();
          assertEquals(raw.code, 0, new TextDecoder().decode(raw.stderr));
          assertEquals(
            `sha256:${createHash("sha256").update(raw.stdout).digest("hex")}`,
            built.indexDigest,
          );
          const index = JSON.parse(new TextDecoder().decode(raw.stdout));
          assertEquals(
            index.manifests.map((m: { digest: string; platform: { architecture: string } }) => [
              m.platform.architecture,
              m.digest,
            ]),
            [["amd64", built.images[0].manifestDigest], ["arm64", built.images[1].manifestDigest]],
          );
        },
      );

      await t.step(
        "docker pull --platform linux/arm64 of the index digest runs under qemu",
        async () => {
          const ref = `${repo}@${built.indexDigest}`;
          await docker(["pull", "--platform", "linux/arm64", ref]);
          made.push(ref);
          const arch = await docker([
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{.Architecture}}",
            ref,
          ]);
          assertEquals(arch.stdout.trim(), `${built.images[1].imageId} arm64`);
          const ran = await docker([
            "run",
            "--rm",
            "--platform",
            "linux/arm64",
            "--network",
            "none",
            ref,
          ]);
          assertEquals(ran.stdout, "hello from linux/arm64\n");
        },
      );

      await t.step("r10e cp and verify read the pushed index by platform", async () => {
        const out = `${dir}/cp-out`;
        await Deno.mkdir(out);
        const env = { DOCKER_CONFIG: `${dir}/.docker`, ...cacheEnv(dir) };
        const cp = await r10e([
          "cp",
          "--platform",
          "linux/arm64",
          `${repo}@${built.indexDigest}`,
          "/app/multiarch",
          out,
        ], { env });
        assertEquals(cp.code, 0, cp.stderr);
        const file = await run("file", [`${out}/multiarch`]);
        if (file.code === 0) assertStringIncludes(file.stdout, "aarch64");
        const verify = await r10e([
          "verify",
          "-q",
          `${repo}@${built.indexDigest}`,
          built.archivePath,
        ], { env });
        assertEquals(verify.code, 0, verify.stdout + verify.stderr);
      });
    } finally {
      for (const ref of made) await docker(["image", "rm", ref], { allowFail: true });
      await qemu.undo();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
