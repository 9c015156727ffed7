/**
 * The GitHub workflow `init` writes: golden bytes, actionlint, its jobs and
 * pins, and the commands it runs, run here too (the host rebuild and the compare step's script).
 */
import assert from "node:assert/strict";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, EXAMPLE, fileSha256, git, r10e, REPO } from "./_cli.ts";
import { builderTag, copyExampleWithBuilder, dockerTest, goBuilderImage } from "./_docker.ts";

/** sha256 of r10e-docker/github-workflow.yml as init renders it for examples/hello. A change is deliberate: update it here. */
const GOLDEN = "eb9882303747c449f97cf1a93f2a9724d735663f4d15ac2c4b9a0f676d9f3030";

async function rendered(
  env: Record<string, string> = {},
): Promise<{ dir: string; text: string }> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-workflow-" });
  await copyExample(dir);
  const r = await r10e(["init", "-q"], { cwd: dir, env: { GOPROXY: "off", ...env } });
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
    const env = { CONFIG: "config.json", ARCHIVE: "r10e-hello-latest.tar.gz", PINNED: "yes" };
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

/** The workflow's env block (`  NAME: value` lines under the top-level `env:`). */
function workflowEnv(text: string): Record<string, string> {
  const block = /^env:\n((?: {2}.*\n|\n)*)/m.exec(text)![1];
  return Object.fromEntries(
    [...block.matchAll(/^ {2}([A-Z0-9_]+): (.*)$/gm)].map((m) => [m[1], m[2].trim()]),
  );
}

/** Runs a step's script with bash in `cwd`; GITHUB_OUTPUT is a file read back. */
async function runStep(body: string, cwd: string, env: Record<string, string>) {
  const output = await Deno.makeTempFile({ prefix: "r10e-github-output-" });
  try {
    const out = await new Deno.Command("bash", {
      args: ["-c", body],
      cwd,
      env: { ...env, GITHUB_OUTPUT: output },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      outputs: await Deno.readTextFile(output),
    };
  } finally {
    await Deno.remove(output);
  }
}

Deno.test("workflow template: until R10E_REPOSITORY and R10E_REF are set, every job stops at its first step and says what to set", async () => {
  const { dir, text } = await rendered();
  try {
    const env = workflowEnv(text);
    for (const name of ["host", "docker"]) {
      const first = job(text, name).split("- name: ")[1].split("\n")[0];
      assertEquals(first, "Check the workflow's settings");
      const body = script(job(text, name), "Check the workflow's settings");
      const unset = await runStep(body, dir, env);
      assertEquals(unset.code, 1);
      assertStringIncludes(unset.stdout, "::error::set R10E_REPOSITORY");
      const set = await runStep(body, dir, {
        ...env,
        R10E_REPOSITORY: "example/r10e",
        R10E_REF: "0123456789abcdef0123456789abcdef01234567",
      });
      assertEquals(set.code, 0, set.stdout);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workflow template: no builder pinned (init without an engine): the docker job says so, compare checks the host rebuild alone", async () => {
  const { dir, text } = await rendered({ DOCKER_HOST: "unix:///nonexistent/docker.sock" });
  const ci = await Deno.makeTempDir({ prefix: "r10e-workflow-ci-" });
  try {
    const env = { CONFIG: "config.json", ARCHIVE: "r10e-hello-latest.tar.gz" };
    const pinned = await runStep(
      script(job(text, "docker"), "Is a builder image pinned?"),
      dir,
      env,
    );
    assertEquals(pinned.code, 0, pinned.stderr);
    assertStringIncludes(pinned.stdout, "::notice::no builder image is pinned");
    assertEquals(pinned.outputs, "pinned=no\n");
    // The docker build and upload are skipped by that output; compare is told so.
    assertStringIncludes(
      job(text, "docker"),
      "      - name: r10e build --in docker --record\n        if: steps.builder.outputs.pinned == 'yes'\n",
    );
    await Deno.mkdir(`${ci}/host`);
    await Deno.writeTextFile(`${ci}/host/digests.json`, "{}\n");
    const compare = script(
      job(text, "compare"),
      "Compare the digests (r10e verify explains a difference)",
    );
    const r = await runStep(compare, ci, { ...env, PINNED: "no" });
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assertStringIncludes(r.stdout, "only the host rebuild ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(ci, { recursive: true });
  }
});

dockerTest(
  "workflow template: a pinned builder: the host and docker jobs' commands on a fresh init agree (archive sha256 too); check in host mode agrees with the docker record",
  async (_t, engine) => {
    const tag = await builderTag(await goBuilderImage());
    const dir = await Deno.makeTempDir({ prefix: "r10e-workflow-pinned-" });
    const ci = await Deno.makeTempDir({ prefix: "r10e-workflow-ci-" });
    try {
      await copyExampleWithBuilder(dir, tag);
      const env = { DOCKER_HOST: engine.host };
      const init = await r10e(["init", "-q"], { cwd: dir, env: { ...env, GOPROXY: "off" } });
      assertEquals(init.code, 0, init.stderr);
      await Deno.writeTextFile(`${dir}/.gitignore`, "/build/\n/r10e-docker/out/\n");
      await git(dir, "init", "-q");
      await git(dir, "add", "-A");
      await git(dir, "commit", "-qm", "init");
      const text = await Deno.readTextFile(`${dir}/r10e-docker/github-workflow.yml`);
      await Deno.symlink(REPO, `${ci}/r10e`);
      const stepEnv = {
        ...env,
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        CONFIG: "config.json",
        ARCHIVE: "r10e-hello-latest.tar.gz",
      };
      const pinned = await runStep(
        script(job(text, "docker"), "Is a builder image pinned?"),
        dir,
        stepEnv,
      );
      assertEquals(pinned.outputs, "pinned=yes\n");
      for (const name of ["host", "docker"]) {
        const command = job(text, name).split("\n").find((l) => l.includes("scripts/r10e"))!
          .trim().replace(/^run: /, "").replace("../r10e/", `${ci}/r10e/`);
        const r = await runStep(command, dir, stepEnv);
        assertEquals(r.code, 0, r.stderr);
        await Deno.mkdir(`${ci}/${name}/out`, { recursive: true });
        await Deno.copyFile(`${dir}/r10e-docker/digests.json`, `${ci}/${name}/digests.json`);
        await Deno.copyFile(
          `${dir}/r10e-docker/out/${stepEnv.ARCHIVE}`,
          `${ci}/${name}/out/${stepEnv.ARCHIVE}`,
        );
        // Each job runs on a fresh checkout: the record of the one before is not there.
        if (name === "host") await Deno.remove(`${dir}/r10e-docker/digests.json`);
      }
      const compare = script(
        job(text, "compare"),
        "Compare the digests (r10e verify explains a difference)",
      );
      const r = await runStep(compare, ci, { ...stepEnv, PINNED: "yes" });
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assertStringIncludes(r.stdout, "host and docker rebuilds agree:");
      assertStringIncludes(r.stdout, '"archive_sha256"');
      // digests.json now holds the docker build's record: check's two builds (host and docker)
      // agree with it.
      const check = await r10e(["check", "--in-b", "host", "-q"], { cwd: dir, env });
      assertEquals(check.code, 0, check.stdout + check.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(ci, { recursive: true });
    }
  },
);
