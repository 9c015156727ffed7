/**
 * `r10e build` on the shapes real Go projects have (tests/fixtures/shapes, README there): a
 * go.work of several modules, a module in a subdirectory, vendor/ with a patched file, go:embed,
 * a PIE build, a project-pinned toolchain, several binaries from one script; and what build says
 * before building (unknown config fields, clock leaks, go.mod against the pin) and after
 * build_cmd (output left untracked in the tree).
 */
import assert from "node:assert/strict";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { git, r10eInProcess, REPO } from "./_cli.ts";

/** A committed git repository holding the fixture, with r10e-docker/ from `init` committed too. */
async function repository(
  fixture: string,
  options: { config?: string; edit?: (dir: string) => Promise<void> } = {},
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `r10e-shape-${fixture}-` });
  const cp = await new Deno.Command("cp", {
    args: ["-R", `${REPO}/tests/fixtures/shapes/${fixture}/.`, dir],
  }).output();
  assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
  await options.edit?.(dir);
  await git(dir, "init", "-q");
  const init = await r10eInProcess(["init", "-q", "-c", options.config ?? "config.json"], {
    cwd: dir,
  });
  assertEquals(init.code, 0, init.stderr);
  await git(dir, "add", "-A");
  await git(dir, "commit", "-qm", fixture);
  return dir;
}

async function build(dir: string, config = "config.json") {
  const r = await r10eInProcess(["build", "--json", "-c", config], { cwd: dir });
  return { ...r, result: r.code === 0 ? JSON.parse(r.stdout) : null };
}

/** Copies `path` out of the image with `r10e cp` and runs it: what the image's binary prints. */
async function runFromImage(archive: string, path: string): Promise<string> {
  const out = await Deno.makeTempDir({ prefix: "r10e-shape-run-" });
  try {
    const cp = await r10eInProcess(["cp", archive, path, `${out}/bin`]);
    assertEquals(cp.code, 0, cp.stderr);
    const run = await new Deno.Command(`${out}/bin`).output();
    assert.ok(run.success);
    const dec = new TextDecoder();
    return dec.decode(run.stdout) + dec.decode(run.stderr);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

function withDir(fixture: string, body: (dir: string) => Promise<void>, config?: string) {
  return async () => {
    const dir = await repository(fixture, { config });
    try {
      await body(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
}

Deno.test(
  "shape: go.work with two modules builds, the audit checks the workspace binary",
  withDir("gowork", async (dir) => {
    const b = await build(dir);
    assertEquals(b.code, 0, b.stderr);
    assertEquals(b.result.audit.map((a: { status: string }) => a.status), ["checked"]);
    assertStringIncludes(await runFromImage(b.result.archivePath, "/app/app"), "workspace");
  }),
);

Deno.test(
  "shape: a module in a subdirectory of the repository, stamped with the repository's HEAD",
  withDir("subdir", async (dir) => {
    const b = await build(dir, "tools/cli/config.json");
    assertEquals(b.code, 0, b.stderr);
    assertEquals(b.result.root, `${await Deno.realPath(dir)}/tools/cli`);
    assertEquals(b.result.revision, (await git(dir, "rev-parse", "HEAD")).trim());
    assertStringIncludes(await runFromImage(b.result.archivePath, "/app/cli"), "subdirectory");
  }, "tools/cli/config.json"),
);

Deno.test(
  "shape: vendor/ is what go build uses: the image holds the patched vendored code",
  withDir("vendored", async (dir) => {
    const b = await build(dir);
    assertEquals(b.code, 0, b.stderr);
    assertStringIncludes(b.stderr, "Building from vendor/ (GOFLAGS -mod=vendor)");
    const out = await runFromImage(b.result.archivePath, "/app/vendored");
    assert.match(out, /^patched-in-vendor:[0-9a-f-]{36}\n$/);
  }),
);

Deno.test(
  "shape: go:embed assets are in the binary in the image",
  withDir("embed", async (dir) => {
    const b = await build(dir);
    assertEquals(b.code, 0, b.stderr);
    assertEquals(
      await runFromImage(b.result.archivePath, "/app/embed"),
      "embedded asset: the image holds it inside the binary\n",
    );
  }),
);

Deno.test(
  "shape: a PIE build is refused, naming the loader and -buildmode=exe; no image written",
  withDir("pie", async (dir) => {
    const b = await build(dir);
    assertEquals(b.code, 1, b.stderr);
    assertStringIncludes(
      b.stderr,
      '/app/pie ("build/pie"): program interpreter (PT_INTERP): expected "none (a static ' +
        'executable: the image has no dynamic loader)", found "/lib64/ld-linux-x86-64.so.2": it ' +
        "was built with -buildmode=pie, which needs the system loader even with CGO_ENABLED=0: " +
        "build with -buildmode=exe",
    );
    const out = await Array.fromAsync(Deno.readDir(`${dir}/r10e-docker`));
    assert.ok(!out.some((e) => e.name === "out"), "an image was written");
  }),
);

Deno.test(
  "shape: a project-pinned toolchain is said before building and the audit suggests go_version",
  withDir("toolchain", async (dir) => {
    const b = await build(dir);
    assertEquals(b.code, 1, b.stderr);
    const before = b.stderr.slice(0, b.stderr.indexOf("Running build_cmd"));
    assertStringIncludes(before, 'says "toolchain go1.25.14", but r10e builds with the pinned Go');
    assertStringIncludes(before, 'Makefile:2 sets GOTOOLCHAIN: "export GOTOOLCHAIN=go1.25.14"');
    // The Checked line says what was found; the error suggests the version the project uses.
    assertStringIncludes(b.stderr, "Checked the build info of 1 Go artifact: go1.25.14,");
    assertStringIncludes(b.stderr, '"go_version": "1.25.14" in config.json, then `r10e init`');
  }),
);

Deno.test(
  "shape: several binaries from one script, each audited",
  withDir("multi", async (dir) => {
    const b = await build(dir);
    assertEquals(b.code, 0, b.stderr);
    assertEquals(
      b.result.audit.map((a: { dest: string; status: string }) => `${a.dest} ${a.status}`),
      ["/usr/bin/client checked", "/usr/bin/server checked"],
    );
    assertStringIncludes(b.stderr, "Checked the build info of 2 Go artifacts: go1.26.8,");
  }),
);

Deno.test("build: said before building: unknown fields with what was meant, clock stamps", async () => {
  const dir = await repository("embed", {
    edit: async (d) => {
      const config = JSON.parse(await Deno.readTextFile(`${d}/config.json`));
      config.build_cmd = 'go build -ldflags "-X main.day=$(date +%Y-%m-%d)" -o build/embed .';
      config.entrypiont = config.entrypoint;
      await Deno.writeTextFile(`${d}/config.json`, JSON.stringify(config, null, 2));
    },
  });
  try {
    const b = await build(dir);
    assertEquals(b.code, 0, b.stderr);
    const before = b.stderr.slice(0, b.stderr.indexOf("Running build_cmd"));
    assertStringIncludes(
      before,
      `r10e: warning: config.json:14:3: entrypiont: unknown field "entrypiont" is ignored: did you ` +
        'mean "entrypoint"?',
    );
    assertStringIncludes(before, "r10e: warning: build_cmd reads the clock (date): ");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: output build_cmd leaves untracked in the tree is named at the first build", async () => {
  const dir = await repository("embed", {
    edit: (d) => Deno.writeTextFile(`${d}/.gitignore`, "r10e-docker/out/\n"),
  });
  try {
    const b = await build(dir);
    assertEquals(b.code, 0, b.stderr);
    assertStringIncludes(
      b.stderr,
      'r10e: warning: build_cmd left 1 untracked path in the tree ("build/"): the next build ' +
        'sees a dirty tree, Go stamps vcs.modified=true and the image differs; add "/build/" to',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
