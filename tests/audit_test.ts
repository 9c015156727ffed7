/**
 * The build checks its own artifacts, through the real entry
 * point, on a git copy of the example: a build_cmd that runs another Go
 * version, one that drops -trimpath, one that dirties the tree before `go
 * build`, each refused with exit 1 naming the field, and nothing written.
 * (The builder image without git is in docker_build_test.ts.)
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, git, r10eInProcess } from "./_cli.ts";

const ARCHIVE = "r10e-docker/out/r10e-hello-latest.tar.gz";

/** A committed copy of the example whose build_cmd is `buildCmd`, plus a non-Go artifact. */
async function project(
  buildCmd: string,
  extraArtifacts: { src: string; dest: string }[] = [],
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-audit-" });
  await copyExample(dir);
  const config = JSON.parse(
    (await Deno.readTextFile(`${dir}/config.json`)).replace(/^\s*\/\/.*$/gm, ""),
  );
  config.build_cmd = buildCmd;
  config.artifacts.push({ src: "data/greeting.txt", dest: "/app/greeting.txt" }, ...extraArtifacts);
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2) + "\n");
  await Deno.writeTextFile(`${dir}/.gitignore`, "/build/\n");
  // A second main with no imports: its darwin build compiles only the runtime.
  await Deno.mkdir(`${dir}/cmd/tiny`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/cmd/tiny/main.go`,
    'package main\n\nfunc main() { println("tiny") }\n',
  );
  const init = await r10eInProcess(["init", "--force", "-q"], {
    cwd: dir,
    env: { GOPROXY: "off" },
  });
  if (init.code !== 0) throw new Error(`r10e init failed: ${init.stderr}`);
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "example");
  return dir;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("build audit: r10e's own environment passes, a darwin (Mach-O) artifact too; a non-Go artifact is listed as not checked", async () => {
  const dir = await project(
    "go build -o build/hello . && GOOS=darwin GOARCH=arm64 go build -o build/tiny-darwin ./cmd/tiny",
    [{ src: "build/tiny-darwin", dest: "/app/tiny-darwin" }],
  );
  try {
    const r = await r10eInProcess(["build", "--in", "host", "--json"], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    const head = (await git(dir, "rev-parse", "HEAD")).trim();
    assertStringIncludes(
      r.stderr,
      `Checked the build info of 2 Go artifacts: go1.26.8, CGO_ENABLED=0, -trimpath, vcs.revision ${
        head.slice(0, 12)
      }, vcs.modified=false`,
    );
    assertStringIncludes(
      r.stderr,
      'Not checked: /app/greeting.txt ("data/greeting.txt"): not a Go binary',
    );
    const audit = JSON.parse(r.stdout).audit as { dest: string; status: string }[];
    assertEquals(audit.map((a) => [a.dest, a.status]), [
      ["/app/hello", "checked"],
      ["/app/greeting.txt", "not checked"],
      ["/app/tiny-darwin", "checked"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build audit: each drifted field is an error (exit 1) naming artifact, field, expected, found and cause", async (t) => {
  const cases = [
    {
      name: "another Go version (GOTOOLCHAIN set inside build_cmd)",
      cmd: "GOTOOLCHAIN=go1.25.5 go build -o build/hello .",
      line:
        '/app/hello ("build/hello"): Go version: expected "go1.26.8", found "go1.25.5": build_cmd sets its own GOTOOLCHAIN or runs another `go`',
    },
    {
      name: "-trimpath dropped (GOFLAGS replaced inside build_cmd)",
      cmd: "GOFLAGS= go build -o build/hello .",
      line:
        '/app/hello ("build/hello"): -trimpath: expected "true", found nothing (not recorded): build_cmd sets its own GOFLAGS',
    },
    {
      name: "-trimpath=false on the command line",
      cmd: "go build -trimpath=false -o build/hello .",
      line:
        '/app/hello ("build/hello"): -trimpath: expected "true", found nothing (not recorded): build_cmd sets its own GOFLAGS or passes -trimpath=false',
    },
    {
      name: "cgo switched on",
      cmd: "CGO_ENABLED=1 go build -o build/hello .",
      line: '/app/hello ("build/hello"): CGO_ENABLED: expected "0", found "1"',
    },
    {
      name: "a file git does not ignore written before go build: vcs.modified",
      cmd: "date > stamp.txt && go build -o build/hello .",
      line:
        '/app/hello ("build/hello"): vcs.modified: expected "false", found "true": build_cmd writes or changes files git does not ignore',
    },
    {
      name: "-buildvcs=false: no VCS stamp",
      cmd: "go build -buildvcs=false -o build/hello .",
      line: '/app/hello ("build/hello"): vcs.revision: expected "',
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const dir = await project(c.cmd);
      try {
        const r = await r10eInProcess(["build", "--in", "host"], { cwd: dir });
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(
          r.stderr,
          "r10e: The artifacts are not what the pinned build makes, so no image was written:\n",
        );
        assertStringIncludes(r.stderr, `\n  ${c.line}`);
        assertEquals(r.stdout, "");
        assertEquals(await exists(`${dir}/${ARCHIVE}`), false);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});
