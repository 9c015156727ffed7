/**
 * `r10e check` with a pinned builder and an engine: build B runs --in docker (host
 * mode and docker mode when an engine answers). The builder is tests/_docker.ts's image of this
 * machine's Go toolchain, pinned by digest through the local registry.
 */
import assert from "node:assert/strict";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, git, r10e } from "./_cli.ts";
import { builderTag, copyExampleWithBuilder, dockerTest, goBuilderImage } from "./_docker.ts";

dockerTest(
  "check: A on the host, B in the pinned builder container give the same image; a day stamp is caught there too",
  async (_t, engine) => {
    const tag = await builderTag(await goBuilderImage());
    const env = { DOCKER_HOST: engine.host };
    const dir = await Deno.makeTempDir({ prefix: "r10e-check-docker-" });
    const tmp = await Deno.makeTempDir({ prefix: "r10e-check-docker-tmp-" });
    try {
      await copyExampleWithBuilder(dir, tag);
      const init = await r10e(["init", "--force", "-q"], { cwd: dir, env });
      assertEquals(init.code, 0, init.stderr);
      await git(dir, "init", "-q");
      await git(dir, "add", "-A");
      await git(dir, "commit", "-qm", "example");
      const r = await r10e(["check"], { cwd: dir, env: { ...env, TMPDIR: tmp } });
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout.split("\n")[0], /^REPRODUCIBLE: /);
      assert.match(r.stdout, /mode +host {2}vs {2}docker/);
      assert.match(r.stdout, /B \(docker\): manifest sha256:[0-9a-f]{64}/);
      assertStringIncludes(
        r.stderr,
        "building A (host) and B (docker); B's build_cmd waits for A's\n",
      );
      assertStringIncludes(r.stderr, "A's build_cmd finished: B's may start\n");
      assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), [], "check left temporaries");

      // A day stamp: libfaketime cannot be loaded in the (busybox) builder, so build shifts
      // `date` there by 3 days, and check catches the stamp in docker mode too.
      await Deno.writeTextFile(
        `${dir}/day.go`,
        'package main\n\nimport "os"\n\nvar day = "unset"\n\n' +
          'func init() {\n\tif os.Getenv("R10E_DAY") != "" {\n\t\tprintln(day)\n\t}\n}\n',
      );
      await Deno.writeTextFile(
        `${dir}/config.json`,
        (await Deno.readTextFile(`${dir}/config.json`)).replace(
          '"go build -o build/hello ."',
          '"go build -ldflags \\"-X main.day=$(date +%Y-%m-%d)\\" -o build/hello ."',
        ),
      );
      await git(dir, "add", "-A");
      await git(dir, "commit", "-qm", "stamp the day");
      const day = await r10e(["check"], { cwd: dir, env: { ...env, TMPDIR: tmp } });
      assertEquals(day.code, 1, day.stdout + day.stderr);
      assert.match(
        day.stdout,
        /time +wall clock {2}vs {2}date \+3d \(3 days later\) in the builder/,
      );
      assert.match(day.stdout, /main\.day: "\d{4}-\d\d-\d\d" → "\d{4}-\d\d-\d\d" \(-ldflags -X\)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(tmp, { recursive: true });
    }
  },
);

dockerTest(
  "check against a registry reference and an archive of another commit",
  async (t, engine) => {
    const registry = engine.registry;
    if (!registry) throw new Error("No local registry: start one with scripts/dockerd.sh start");
    const dir = await Deno.makeTempDir({ prefix: "r10e-check-ref-" });
    const other = await Deno.makeTempDir({ prefix: "r10e-check-ref-other-" });
    try {
      await copyExample(dir);
      await git(dir, "init", "-q");
      await git(dir, "add", "-A");
      await git(dir, "commit", "-qm", "example");
      const built = await r10e(["build", "--json"], { cwd: dir });
      assertEquals(built.code, 0, built.stderr);
      const archive = JSON.parse(built.stdout).archivePath as string;
      await Deno.copyFile(archive, `${other}/this-commit.tar.gz`);

      await t.step("the image pushed to a registry: exit 0", async () => {
        const ref = `${registry}/r10e-check-${crypto.randomUUID().slice(0, 8)}:v1`;
        const pushed = await r10e(["push", "-q", archive, ref]);
        assertEquals(pushed.code, 0, pushed.stderr);
        const r = await r10e(["check", ref], { cwd: dir });
        assertEquals(r.code, 0, r.stdout + r.stderr);
        assertStringIncludes(r.stdout.split("\n")[0], `, equal to ${ref}`);
        assertStringIncludes(r.stdout, `Reference ${ref}: matches`);
      });

      await t.step("an archive of the previous commit: exit 1 with verify's causes", async () => {
        await Deno.writeTextFile(`${dir}/data/more.txt`, "more\n");
        await git(dir, "add", "-A");
        await git(dir, "commit", "-qm", "more data");
        const r = await r10e(["check", `${other}/this-commit.tar.gz`], { cwd: dir });
        assertEquals(r.code, 1, r.stdout + r.stderr);
        assertStringIncludes(r.stdout.split("\n")[0], "DIFFERS FROM THE REFERENCE");
        assertStringIncludes(r.stdout, `verify A ${other}/this-commit.tar.gz:`);
        assert.match(r.stdout, /commit \(\d+\): built from different commits/);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(other, { recursive: true });
    }
  },
);
