/**
 * The GitHub workflow `init` writes (issue 13 item 3): golden bytes, actionlint, its jobs and
 * pins, and the commands it runs, run here too (the host rebuild and the compare step's script).
 */
import assert from "node:assert/strict";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, EXAMPLE, fileSha256, git, r10e, REPO } from "./_cli.ts";

/** sha256 of r10e-docker/github-workflow.yml as init renders it for examples/hello. A change is deliberate: update it here. */
const GOLDEN = "39000e02e27ffa2c33c4a4c9e468cff7269cb4bff64b8620696edc23917c311c";

async function rendered(): Promise<{ dir: string; text: string }> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-workflow-" });
  await copyExample(dir);
  const r = await r10e(["init", "-q"], { cwd: dir, env: { GOPROXY: "off" } });
  assertEquals(r.code, 0, r.stderr);
  return { dir, text: await Deno.readTextFile(`${dir}/r10e-docker/github-workflow.yml`) };
}

/** The lines of the job `name` (from `  name:` to the next job). */
function job(text: string, name: string): string {
  const m = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\n)*)`, "m").exec(text);
  assert.ok(m, `job "${name}" is missing`);
  return m[1];
}

/** The `run: |` script of the step named `step` in a job's text, de-indented. */
function script(jobText: string, step: string): string {
  const start = jobText.indexOf(`- name: ${step}\n`);
  assert.ok(start >= 0, `step "${step}" is missing`);
  const rest = jobText.slice(start).split("\n").slice(1);
  const at = rest.findIndex((l) => /^\s+run: \|$/.test(l));
  const indent = rest[at].indexOf("run:") + 2;
  const body: string[] = [];
  for (const l of rest.slice(at + 1)) {
    if (l.trim() !== "" && l.search(/\S/) < indent) break;
    body.push(l.slice(indent));
  }
  return body.join("\n").trim() + "\n";
}

Deno.test("workflow template: golden bytes, the example's copy is current", async () => {
  const { dir, text } = await rendered();
  try {
    assertEquals(await fileSha256(`${dir}/r10e-docker/github-workflow.yml`), GOLDEN);
    assertEquals(await Deno.readTextFile(`${EXAMPLE}/r10e-docker/github-workflow.yml`), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workflow template: jobs, pinned actions, the r10e commands each job runs", async () => {
  const { dir, text } = await rendered();
  try {
    const jobs = text.slice(text.indexOf("\njobs:\n"));
    assertEquals([...jobs.matchAll(/^ {2}([a-z]+):$/gm)].map((m) => m[1]), [
      "host",
      "docker",
      "compare",
    ]);
    for (const m of text.matchAll(/uses: (\S+)(.*)$/gm)) {
      assert.match(m[1], /^actions\/[a-z-]+@[0-9a-f]{40}$/, `not pinned by commit: ${m[0]}`);
      assert.match(m[2], /^ # v\d+\.\d+\.\d+$/, `no release named: ${m[0]}`);
    }
    const commands = (j: string) =>
      job(text, j).split("\n").filter((l) => l.includes("scripts/r10e")).map((l) =>
        l.trim().replace(/^run: /, "")
      );
    assertEquals(commands("host"), [
      `../r10e/scripts/r10e build -c "$CONFIG" --in host --record`,
    ]);
    assertEquals(commands("docker"), [
      `../r10e/scripts/r10e build -c "$CONFIG" --in docker --record`,
    ]);
    assertEquals(commands("compare"), [
      `r10e/scripts/r10e verify "host/out/$ARCHIVE" "docker/out/$ARCHIVE" > verify-report.txt || true`,
    ]);
    assertStringIncludes(job(text, "compare"), "    needs: [host, docker]\n");
    assertStringIncludes(text, "  CONFIG: config.json\n  ARCHIVE: r10e-hello-latest.tar.gz\n");
    assertStringIncludes(job(text, "host"), `go-version: "1.26.8"`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workflow template: actionlint finds nothing", async (t) => {
  const { dir } = await rendered();
  try {
    const gopath = Deno.env.get("GOPATH") ?? `${Deno.env.get("HOME")}/go`;
    const bin = [`${gopath}/bin/actionlint`, "actionlint"];
    let found: string | null = null;
    for (const b of bin) {
      try {
        await new Deno.Command(b, { args: ["-version"], stdout: "null", stderr: "null" }).output();
        found = b;
        break;
      } catch { /* next */ }
    }
    if (!found) {
      const why = "actionlint is not installed (bash scripts/setup.sh installs it)";
      if (Deno.env.get("R10E_REQUIRE_DOCKER") === "1") throw new Error(why);
      console.log(`skipped: ${why}`);
      return;
    }
    await t.step("the rendered workflow", async () => {
      const out = await new Deno.Command(found!, {
        args: ["-no-color", `${dir}/r10e-docker/github-workflow.yml`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      assertEquals(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
    });
    await t.step("a broken copy is caught (the check can fail)", async () => {
      const text = await Deno.readTextFile(`${dir}/r10e-docker/github-workflow.yml`);
      await Deno.writeTextFile(
        `${dir}/broken.yml`,
        text.replace("needs: [host, docker]", "needs: [host, dockr]"),
      );
      const out = await new Deno.Command(found!, {
        args: ["-no-color", `${dir}/broken.yml`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 1);
      assertStringIncludes(new TextDecoder().decode(out.stdout), "dockr");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workflow template: the host job's command and the compare job's script, run here", async (t) => {
  const { dir, text } = await rendered();
  const ci = await Deno.makeTempDir({ prefix: "r10e-workflow-ci-" });
  try {
    await git(dir, "init", "-q");
    await git(dir, "add", ".");
    await git(dir, "commit", "-qm", "init");
    // The runner's layout: the project, r10e beside it; CONFIG and ARCHIVE from the workflow's env.
    await Deno.symlink(REPO, `${ci}/r10e`);
    const env = { CONFIG: "config.json", ARCHIVE: "r10e-hello-latest.tar.gz" };
    const hostCommand = job(text, "host").split("\n").find((l) => l.includes("scripts/r10e"))!
      .trim().replace(/^run: /, "");
    const rebuild = async (into: string) => {
      const out = await new Deno.Command("bash", {
        args: ["-c", hostCommand.replace("../r10e/", `${ci}/r10e/`)],
        cwd: dir,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      await Deno.mkdir(`${ci}/${into}/out`, { recursive: true });
      await Deno.copyFile(`${dir}/r10e-docker/digests.json`, `${ci}/${into}/digests.json`);
      await Deno.copyFile(
        `${dir}/r10e-docker/out/${env.ARCHIVE}`,
        `${ci}/${into}/out/${env.ARCHIVE}`,
      );
      await Deno.remove(`${dir}/r10e-docker/digests.json`);
    };
    await rebuild("host");
    await rebuild("docker");
    const compare = script(
      job(text, "compare"),
      "Compare the digests (r10e verify explains a difference)",
    );
    const run = async () => {
      const out = await new Deno.Command("bash", {
        args: ["-c", compare],
        cwd: ci,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout) };
    };
    await t.step("equal rebuilds: exit 0", async () => {
      const r = await run();
      assertEquals(r.code, 0, r.stdout);
      assertStringIncludes(r.stdout, "host and docker rebuilds agree:");
    });
    await t.step("rebuilds of another commit: exit 1 with verify's report", async () => {
      await Deno.writeTextFile(`${dir}/data/extra.txt`, "x\n");
      await git(dir, "add", ".");
      await git(dir, "commit", "-qm", "more");
      await Deno.remove(`${ci}/docker`, { recursive: true });
      await rebuild("docker");
      const r = await run();
      assertEquals(r.code, 1, r.stdout);
      assertStringIncludes(r.stdout, "::error::host and docker rebuilds differ");
      const report = await Deno.readTextFile(`${ci}/verify-report.txt`);
      assertStringIncludes(report, "Images differ");
      assertStringIncludes(report, "commit");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(ci, { recursive: true });
  }
});
