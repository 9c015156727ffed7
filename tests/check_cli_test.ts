/**
 * `r10e check` through the real CLI: two builds of HEAD from fresh clones under
 * different conditions, compared with verify and with a reference; the clones removed.
 */
import assert from "node:assert/strict";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, git, r10e } from "./_cli.ts";
import { check, project } from "./_check.ts";
import { listAll, processAlive, spawnR10e, waitFor } from "./hostile_cli_helpers.ts";

function assertMatch(text: string, re: RegExp) {
  assert.match(text, re);
}

function assertConditions(stdout: string) {
  assertStringIncludes(stdout, "Conditions (A vs B):");
  assertMatch(stdout, /TZ +UTC {2}vs {2}Pacific\/Chatham/);
  assertMatch(stdout, /umask +022 {2}vs {2}077/);
  assertMatch(stdout, /locale +LC_ALL=C {2}vs {2}LC_ALL=tr_TR\.UTF-8/);
  assertMatch(stdout, /path +\S+\/a\/src {2}vs {2}\S+\/second-build\/nested\/checkout-b/);
  assertMatch(stdout, /user +not varied: /);
}

const manifestOf = (stdout: string, label: string) =>
  new RegExp(`${label} \\((?:host|docker)\\): manifest (sha256:[0-9a-f]{64})`).exec(stdout)![1];

Deno.test("check: examples/hello against a wrong digest, then the right one in a dirty tree", async (t) => {
  const dir = await project();
  try {
    const wrong = "sha256:" + "0".repeat(64);
    let manifest = "";
    await t.step("a wrong digest: exit 1 naming both", async () => {
      const r = await check(dir, [wrong]);
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertMatch(
        r.stdout.split("\n")[0],
        /^DIFFERS FROM THE REFERENCE: two builds of commit [0-9a-f]{12} agree, but not with sha256:0{64}$/,
      );
      assertConditions(r.stdout);
      manifest = manifestOf(r.stdout, "A");
      assertEquals(manifestOf(r.stdout, "B"), manifest);
      assertStringIncludes(
        r.stdout,
        `expected ${wrong} (the reference), but the rebuilt image has manifest digest ${manifest}`,
      );
    });
    await t.step("the right digest in a dirty tree: builds HEAD, says so, exit 0", async () => {
      // A change the build would see: had check built the working copy, the digest would differ.
      const main = await Deno.readTextFile(`${dir}/main.go`);
      await Deno.writeTextFile(
        `${dir}/main.go`,
        main.replace("package main", "package main\n\n// dirty"),
      );
      const r = await check(dir, [manifest]);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assertMatch(r.stdout.split("\n")[0], /^REPRODUCIBLE: .*, equal to sha256:[0-9a-f]{64}$/);
      assertMatch(
        r.stdout,
        /note: the working tree is dirty \("main\.go"\): check built the commit [0-9a-f]{12}, not the working copy/,
      );
      assertStringIncludes(r.stdout, `${manifest} is the manifest digest of the rebuilt image`);
      assertStringIncludes(r.stderr, "the working tree is dirty");
    });
    await t.step("a registry image that differs: each layer it fetches is a line", async () => {
      const { startRegistry, writeTestArchive } = await import("./_registry.ts");
      const other = await Deno.makeTempDir({ prefix: "r10e-check-registry-" });
      const registry = await startRegistry(`${other}/registry`);
      try {
        await writeTestArchive(`${other}/other.tar`, { seed: 4 });
        const env = { DOCKER_CONFIG: `${other}/docker` };
        const ref = `${registry.host}/c/other:v1`;
        const pushed = await r10e(["push", "-q", `${other}/other.tar`, ref], { env });
        assertEquals(pushed.code, 0, pushed.stderr);
        const r = await check(dir, [ref], env);
        assertEquals(r.code, 1, r.stdout + r.stderr);
        assertStringIncludes(
          r.stderr,
          `r10e: check: fetching layer 0 of 2 of ${registry.host}/c/other (`,
        );
      } finally {
        await registry.stop();
        await Deno.remove(other, { recursive: true });
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: a project with a real dependency (github.com/google/uuid) is reproducible", async () => {
  const dir = await project("uuid");
  try {
    const r = await check(dir);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assertMatch(
      r.stdout.split("\n")[0],
      /^REPRODUCIBLE: two builds of commit [0-9a-f]{12} under different conditions gave the same image$/,
    );
    assertConditions(r.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: a build script that stamps the clock with -X is not reproducible, naming the symbol", async () => {
  const dir = await project("stamp");
  try {
    const r = await check(dir);
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertMatch(
      r.stdout.split("\n")[0],
      /^NOT REPRODUCIBLE: two builds of commit [0-9a-f]{12} gave different images/,
    );
    assertNotEqualDigests(r.stdout);
    assertStringIncludes(r.stdout, "go-ldflags-x");
    assertMatch(r.stdout, /main\.buildTime: "\d{19}" → "\d{19}" \(-ldflags -X\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function assertNotEqualDigests(stdout: string) {
  assert(manifestOf(stdout, "A") !== manifestOf(stdout, "B"), "the two builds should differ");
}

Deno.test("check: outside git, exit 2 and nothing left", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-check-nogit-" });
  try {
    await copyExample(dir);
    const r = await check(dir);
    assertEquals(r.code, 2, r.stdout + r.stderr);
    assertEquals(r.stdout, "");
    assertMatch(
      r.stderr,
      /^r10e: Cannot check ".*": not in a git repository \(check rebuilds the committed HEAD\)\n$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build --record writes digests.json; check compares with it when recorded for HEAD", async (t) => {
  const dir = await project();
  const file = `${dir}/r10e-docker/digests.json`;
  try {
    let built: Record<string, string> = {};
    await t.step("build --record: the printed digests, sorted keys, the commit", async () => {
      const r = await r10e(["build", "--record", "--json"], { cwd: dir });
      assertEquals(r.code, 0, r.stderr);
      built = JSON.parse(r.stdout);
      assertStringIncludes(r.stderr, `Recorded the digests in ${file}`);
      const head = (await git(dir, "rev-parse", "HEAD")).trim();
      const { FORMAT_VERSION } = await import("../src/image/writer.ts");
      assertEquals(
        await Deno.readTextFile(file),
        `{\n  "archive_format": "tar.gz",\n  "archive_sha256": "${built.archiveSha256}",\n` +
          `  "commit": "${head}",\n  "format_version": ${FORMAT_VERSION},\n` +
          `  "image_id": "${built.imageId}",\n  "manifest_digest": "${built.manifestDigest}"\n}\n`,
      );
    });
    await t.step("build --record in the tree it dirtied: refused, file unchanged", async () => {
      const before = await Deno.readTextFile(file);
      const r = await r10e(["build", "--record", "-q"], { cwd: dir });
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(
        r.stderr,
        `Not recorded in "${file}": the git tree is dirty ("r10e-docker/digests.json")`,
      );
      assertEquals(await Deno.readTextFile(file), before);
    });
    await t.step("check: equal to the recorded digests", async () => {
      const r = await check(dir);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assertMatch(
        r.stdout.split("\n")[0],
        /^REPRODUCIBLE: .*, equal to r10e-docker\/digests\.json$/,
      );
      assertStringIncludes(
        r.stdout,
        "equal to r10e-docker/digests.json (manifest digest, image ID, archive sha256)",
      );
    });
    await t.step("check: a recorded digest that differs names both", async () => {
      const wrong = "sha256:" + "1".repeat(64);
      const text = await Deno.readTextFile(file);
      await Deno.writeTextFile(file, text.replace(built.manifestDigest, wrong));
      const r = await check(dir);
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertStringIncludes(r.stdout.split("\n")[0], "DIFFERS FROM THE REFERENCE");
      assertStringIncludes(
        r.stdout,
        `manifest digest: recorded ${wrong}, rebuilt ${built.manifestDigest}. Same image ID ` +
          `${built.imageId}: the same config and layer contents, packed into other layer blobs`,
      );
      // The one command that shows why: check against the image that was recorded (out/ now
      // holds the image of the dirty tree, which is not it).
      assertStringIncludes(
        r.stdout,
        "  to see why: r10e check IMAGE, where IMAGE is the image digests.json was recorded " +
          `from (archive sha256 ${built.archiveSha256.slice(0, 12)}…`,
      );
      await Deno.writeTextFile(file, text);
    });
    await t.step("check: recorded for another commit is said, not compared", async () => {
      const recorded = (await git(dir, "rev-parse", "HEAD")).trim();
      await git(dir, "add", "r10e-docker/digests.json");
      await git(dir, "commit", "-qm", "record digests");
      const r = await check(dir);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assertStringIncludes(
        r.stdout,
        `note: r10e-docker/digests.json was recorded for commit ${recorded.slice(0, 12)}, not HEAD`,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Pids of live processes whose working directory is under `dir`. */
function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (!processAlive(Number(e.name))) continue;
      if (Deno.readLinkSync(`/proc/${e.name}/cwd`).startsWith(dir + "/")) out.push(Number(e.name));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return out;
}

Deno.test("check: SIGTERM while building stops the build and removes the clones (exit 143)", async () => {
  const dir = await project();
  const tmp = await Deno.makeTempDir({ prefix: "r10e-check-sig-" });
  const run = spawnR10e(["check"], { cwd: dir, env: { TMPDIR: tmp } });
  try {
    await run.stderrIncludes("building A (host)");
    // The first build is running in its clone (B runs after A).
    await waitFor("build A", () => processesUnder(tmp).length >= 1, 60_000);
    run.child.kill("SIGTERM");
    const status = await run.child.status;
    const stderr = await run.stderr;
    assertEquals(status.code, 143, stderr);
    assertStringIncludes(stderr, "r10e: interrupted by SIGTERM: stopping");
    assertEquals(processesUnder(tmp), [], "a build still runs in a clone");
    assertEquals(listAll(tmp), [], "check left temporaries behind");
    assertEquals(await run.stdout, "");
  } finally {
    try {
      run.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await run.child.status;
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(tmp, { recursive: true });
  }
});
