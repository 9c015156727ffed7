/**
 * What `r10e check` varies in build B and how strictly it answers, on projects whose builds stamp
 * what rebuilders differ in: the day, the second (node_exporter's BuildDate), the git branch.
 */
import assert from "node:assert/strict";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { git, r10e } from "./_cli.ts";
import { check, project } from "./_check.ts";

async function needs(tool: string): Promise<void> {
  const out = await new Deno.Command("/bin/sh", { args: ["-c", `command -v ${tool}`] }).output();
  assert.ok(out.success, `${tool} is missing: scripts/setup.sh installs it`);
}

Deno.test("check: a day-resolution date stamp is caught (build B's clock is 3 days later)", async () => {
  await needs("faketime");
  const dir = await project("daystamp");
  try {
    const r = await check(dir);
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout.split("\n")[0], /^NOT REPRODUCIBLE: two builds of commit [0-9a-f]{12}/);
    assert.match(
      r.stdout,
      /main\.buildDate: "\d{4}-\d\d-\d\d" → "\d{4}-\d\d-\d\d" \(-ldflags -X\)/,
    );
    assert.match(
      r.stdout,
      /time +wall clock {2}vs {2}faketime \+3d \(3 days later\) for build_cmd, started after A's build_cmd finished/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: a second-resolution stamp like node_exporter's BuildDate is caught", async () => {
  const dir = await project("secstamp");
  try {
    const r = await check(dir, ["--json"]);
    assertEquals(r.code, 1, r.stdout + r.stderr);
    const result = JSON.parse(r.stdout);
    assertEquals(result.reproducible, false);
    assertEquals(result.differing.includes("manifest digest"), true);
    const symbols = JSON.stringify(result.report);
    assertStringIncludes(symbols, "main.buildDate");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: the table names each variation applied, and why any was not", async () => {
  const dir = await project("branchstamp");
  try {
    const r = await check(dir);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    // Every variation of reprotest/debrepro that can reach a Go build has a row.
    for (
      const name of [
        "path",
        "TZ",
        "umask",
        "locale",
        "environment",
        "time",
        "file order",
        "hostname",
        "kernel",
        "ASLR",
        "CPUs",
        "HOME",
        "user",
      ]
    ) {
      assert.match(r.stdout, new RegExp(`^  ${name} +(\\S.* {2}vs {2}|not varied: )`, "m"), name);
    }
    // As root with the tools of scripts/setup.sh, these are applied here.
    if (Deno.uid() === 0) {
      assert.match(r.stdout, /file order +the file system's {2}vs {2}disorderfs --shuffle-dirents/);
      assert.match(r.stdout, /hostname +the host's {2}vs {2}r10e-check-b \(unshare --uts\)/);
    }
    assert.match(r.stdout, /kernel +the host's uname -r {2}vs {2}2\.6\.x \(setarch --uname-2\.6\)/);
    assert.match(
      r.stdout,
      /TZ +UTC {2}vs {2}Pacific\/Chatham\n +\(r10e's own process; build_cmd gets/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: a build that stamps the branch agrees with digests.json recorded on the branch", async () => {
  const dir = await project("branchstamp");
  try {
    const built = await r10e(["build", "--record", "-q"], { cwd: dir });
    assertEquals(built.code, 0, built.stderr);
    // The clones check out the user's branch: a detached clone would stamp "HEAD".
    const r = await check(dir);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout.split("\n")[0],
      /^REPRODUCIBLE: .*, equal to r10e-docker\/digests\.json$/,
    );
    // A recorded image ID that differs: the archive recorded is still in out/, so the one command
    // that shows why is check against it.
    const file = `${dir}/r10e-docker/digests.json`;
    const recorded = JSON.parse(await Deno.readTextFile(file));
    await Deno.writeTextFile(
      file,
      JSON.stringify({ ...recorded, image_id: `sha256:${"9".repeat(64)}` }),
    );
    const differs = await check(dir);
    assertEquals(differs.code, 1, differs.stdout + differs.stderr);
    assertStringIncludes(
      differs.stdout,
      "The image ID differs: the config or a layer's content differs",
    );
    assertStringIncludes(
      differs.stdout,
      "  to see why: r10e check r10e-docker/out/branchstamp-latest.tar.gz\n",
    );
    // A detached checkout is rebuilt detached.
    await git(dir, "checkout", "-q", "--detach");
    await Deno.remove(`${dir}/r10e-docker/digests.json`);
    const detached = await check(dir);
    assertEquals(detached.code, 0, detached.stdout + detached.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: a malformed REFERENCE is refused before building (exit 2)", async (t) => {
  const dir = await project("branchstamp");
  try {
    for (
      const [reference, message] of [
        ["sha256:abc", 'Invalid REFERENCE "sha256:abc": a digest is sha256: and 64 lowercase hex'],
        [
          "no-such-file.tar.gz",
          'Invalid REFERENCE "no-such-file.tar.gz": not a digest (sha256:<64 hex>), no such file ' +
          "or directory, and not a registry reference: it names no registry host",
        ],
        [
          "localhost:5000/App:v1",
          'Invalid REFERENCE "localhost:5000/App:v1": not a digest (sha256:<64 hex>), no such file ' +
          'or directory, and not a registry reference: Invalid image reference "localhost:5000/App:v1"',
        ],
      ]
    ) {
      await t.step(reference, async () => {
        const r = await check(dir, [reference]);
        assertEquals(r.code, 2, r.stdout + r.stderr);
        assertEquals(r.stdout, "");
        assertStringIncludes(r.stderr, message);
        assert.ok(!r.stderr.includes("building A"), "it built before refusing");
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: wrappers the host refuses (disorderfs, unshare, setarch) are not applied, and the table says why", async () => {
  const dir = await project("branchstamp");
  const fake = await Deno.makeTempDir({ prefix: "r10e-fake-disorderfs-" });
  try {
    // As in a container without CAP_SYS_ADMIN, or whose seccomp profile refuses the personality.
    const failing = {
      disorderfs: "fuse: device not found",
      unshare: "unshare: unshare failed: Operation not permitted",
      setarch: "setarch: failed to set personality to x86_64: Operation not permitted",
    };
    for (const [tool, message] of Object.entries(failing)) {
      await Deno.writeTextFile(`${fake}/${tool}`, `#!/bin/sh\necho '${message}' >&2\nexit 1\n`, {
        mode: 0o755,
      });
    }
    const r = await check(dir, [], { PATH: `${fake}:${Deno.env.get("PATH")}` });
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /file order +not varied: disorderfs could not mount B's clone: fuse: device not found/,
    );
    assert.match(
      r.stdout,
      /hostname +not varied: unshare --uts failed here: unshare: unshare failed: Operation not/,
    );
    assert.match(
      r.stdout,
      /kernel +not varied: setarch --uname-2\.6 -R failed here: setarch: failed/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(fake, { recursive: true });
  }
});
