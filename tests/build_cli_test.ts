/**
 * `r10e init` and `r10e build --in host` on copies of the example project: in-process through
 * main's Io, and through the real entry point where the process is the subject (its umask, TZ
 * and locale, Ctrl-C, paths printed relative to its working directory).
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import {
  copyExample,
  EXAMPLE,
  fileSha256,
  git,
  listTree,
  r10e,
  r10eInProcess,
  REPO,
} from "./_cli.ts";

const ARCHIVE = "r10e-docker/out/r10e-hello-latest.tar.gz";

async function tempProject(options: { reverse?: boolean } = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-build-test-" });
  await copyExample(dir, options);
  return dir;
}

Deno.test("build: prints the archive, its sha256, image ID, manifest digest and artifact digests", async () => {
  const dir = await tempProject();
  try {
    const r = await r10eInProcess(["build"], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "1700000000" },
    });
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assertEquals(lines[0], "======= CONTAINER IMAGE INFO ========");
    assertEquals(lines[1], `Container image created in ${dir}/${ARCHIVE}`);
    assertEquals(lines[2], `IMAGE sha256sum: ${await fileSha256(`${dir}/${ARCHIVE}`)}`);
    assertEquals(/^IMAGE ID: sha256:[0-9a-f]{64}$/.test(lines[3]), true, lines[3]);
    assertEquals(/^MANIFEST DIGEST: sha256:[0-9a-f]{64}$/.test(lines[4]), true, lines[4]);
    assertEquals(lines[5], `ARTIFACT /app/hello(sha256:${await fileSha256(`${dir}/build/hello`)})`);
    // Where the SBOMs and the provenance went (tests/sbom_build_test.ts checks them).
    assertEquals(lines.slice(6), [
      `SBOM (SPDX 2.3) linux/amd64: ${dir}/r10e-docker/out/r10e-hello-latest.spdx.json`,
      `SBOM (CycloneDX 1.6) linux/amd64: ${dir}/r10e-docker/out/r10e-hello-latest.cdx.json`,
      `PROVENANCE (in-toto, SLSA v1): ${dir}/r10e-docker/out/r10e-hello-latest.provenance.json`,
    ]);
    assertStringIncludes(r.stderr, "Running build_cmd");
    assertStringIncludes(
      r.stderr,
      "Creation time 2023-11-14T22:13:20.000Z (from SOURCE_DATE_EPOCH)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: byte-identical archives from two paths, umasks, TZ, locales, mtimes and creation orders", async () => {
  const a = await tempProject();
  const b = await tempProject({ reverse: true });
  try {
    // Different file modes (as umask 077 would leave them) and mtimes in the second copy.
    await Deno.chmod(`${b}/data/greeting.txt`, 0o600);
    await Deno.chmod(`${b}/LICENSE`, 0o600);
    for (const f of ["main.go", "data/greeting.txt", "LICENSE", "config.json"]) {
      await Deno.utime(`${b}/${f}`, 86400 * 365, 86400 * 365 * 2);
    }
    const ra = await r10e(["build", "--json"], {
      cwd: a,
      umask: "022",
      env: { TZ: "UTC", LANG: "C.UTF-8", SOURCE_DATE_EPOCH: "1700000000" },
    });
    const rb = await r10e(["build", "--json", "-q"], {
      cwd: b,
      umask: "077",
      env: {
        TZ: "Asia/Kolkata",
        LANG: "de_DE.UTF-8",
        LC_ALL: "de_DE.UTF-8",
        SOURCE_DATE_EPOCH: "1700000000",
      },
    });
    assertEquals(ra.code, 0, ra.stderr);
    assertEquals(rb.code, 0, rb.stderr);
    const ja = JSON.parse(ra.stdout);
    const jb = JSON.parse(rb.stdout);
    assertEquals(await fileSha256(`${a}/${ARCHIVE}`), await fileSha256(`${b}/${ARCHIVE}`));
    assertEquals(ja.archiveSha256, jb.archiveSha256);
    assertEquals(ja.imageId, jb.imageId);
    assertEquals(ja.manifestDigest, jb.manifestDigest);
    assertEquals(ja.archiveSha256, await fileSha256(`${a}/${ARCHIVE}`));
    // The copies' files really had other modes; only the mode class reaches the image.
    assertEquals((await Deno.stat(`${a}/data/greeting.txt`)).mode! & 0o777, 0o644);
    assertEquals((await Deno.stat(`${b}/data/greeting.txt`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("build: a different SOURCE_DATE_EPOCH changes the archive (the time is an input)", async () => {
  const dir = await tempProject();
  try {
    const r1 = await r10eInProcess(["build", "--json", "-q"], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "1" },
    });
    const r2 = await r10eInProcess(["build", "--json", "-q"], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "2" },
    });
    assertEquals([r1.code, r2.code], [0, 0]);
    assertEquals(JSON.parse(r1.stdout).imageId !== JSON.parse(r2.stdout).imageId, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: a failing build_cmd exits 1 with its code and keeps the previous archive", async () => {
  const dir = await tempProject();
  try {
    await Deno.mkdir(`${dir}/r10e-docker/out`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${ARCHIVE}`, "previous archive");
    const config = await Deno.readTextFile(`${dir}/config.json`);
    await Deno.writeTextFile(
      `${dir}/config.json`,
      config.replace('"go build -o build/hello ."', '"echo compiling; exit 3"'),
    );
    const r = await r10eInProcess(["build"], { cwd: dir, env: { SOURCE_DATE_EPOCH: "0" } });
    assertEquals(r.code, 1);
    assertEquals(r.stdout, "");
    assertStringIncludes(r.stderr, "compiling\n");
    assertStringIncludes(
      r.stderr,
      'r10e: build_cmd "echo compiling; exit 3" failed with exit code 3',
    );
    assertEquals(await Deno.readTextFile(`${dir}/${ARCHIVE}`), "previous archive");
    assertEquals(await listTree(`${dir}/r10e-docker/out`), ["r10e-hello-latest.tar.gz"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: a missing artifact exits 2 naming it, and writes nothing", async () => {
  const dir = await tempProject();
  try {
    const config = await Deno.readTextFile(`${dir}/config.json`);
    await Deno.writeTextFile(
      `${dir}/config.json`,
      config.replace('"go build -o build/hello ."', '"true"'),
    );
    const r = await r10eInProcess(["build"], { cwd: dir, env: { SOURCE_DATE_EPOCH: "0" } });
    assertEquals(r.code, 2);
    assertEquals(r.stdout, "");
    assertStringIncludes(
      r.stderr,
      `config.json:9:14: artifacts[0].src: expected a file at "build/hello" (relative to "${dir}"), found nothing: did build_cmd produce it?`,
    );
    assertEquals((await listTree(`${dir}/r10e-docker`)).includes("out"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: an artifact that is a symlink out of the project exits 2", async () => {
  const dir = await tempProject();
  try {
    const config = await Deno.readTextFile(`${dir}/config.json`);
    await Deno.writeTextFile(
      `${dir}/config.json`,
      config.replace(
        '"go build -o build/hello ."',
        '"mkdir -p build && ln -sf /bin/sh build/hello"',
      ),
    );
    const r = await r10eInProcess(["build"], { cwd: dir, env: { SOURCE_DATE_EPOCH: "0" } });
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      'artifacts[0].src: expected a path inside the project, found "build/hello", which resolves to',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: an unwritable output location exits 2 and leaves nothing", async () => {
  const dir = await tempProject();
  try {
    await Deno.writeTextFile(`${dir}/r10e-docker/out`, "a file where the out/ folder should be");
    const r = await r10eInProcess(["build"], { cwd: dir, env: { SOURCE_DATE_EPOCH: "0" } });
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, `r10e: Cannot write the image to "${dir}/r10e-docker/out"`);
    assertEquals(
      await Deno.readTextFile(`${dir}/r10e-docker/out`),
      "a file where the out/ folder should be",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: a malformed SOURCE_DATE_EPOCH and a missing r10e-docker/ are usage errors", async () => {
  const dir = await tempProject();
  try {
    const bad = await r10eInProcess(["build"], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "last tuesday" },
    });
    assertEquals(bad.code, 2);
    assertEquals(
      bad.stderr.trim().split("\n").at(-1),
      'r10e: SOURCE_DATE_EPOCH must be a whole number of seconds since 1970 (at most 11 digits), found "last tuesday"',
    );
    await Deno.remove(`${dir}/r10e-docker`, { recursive: true });
    const noInit = await r10eInProcess(["build"], { cwd: dir });
    assertEquals(noInit.code, 2);
    assertStringIncludes(noInit.stderr, 'pins.json" is missing; run `r10e init` first');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: a dirty git tree is reported before building", async () => {
  const dir = await tempProject();
  try {
    const git = (...args: string[]) =>
      new Deno.Command("git", {
        args: ["-c", "user.name=t", "-c", "user.email=t@e", ...args],
        cwd: dir,
        stdout: "null",
        stderr: "null",
      }).output();
    await git("init", "-q");
    await git("add", ".");
    await git("commit", "-qm", "init");
    await Deno.writeTextFile(`${dir}/main.go`, "\n// changed\n", { append: true });
    const r = await r10eInProcess(["build", "-q"], { cwd: dir });
    // -q silences progress, not the warning.
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, 'the git tree is dirty (1 uncommitted path: "main.go")');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The image config JSON of an archive, read with the system's tar (an independent reader). */
async function imageConfigOf(
  archive: string,
): Promise<{ created: string; config: { Labels: Record<string, string> } }> {
  const read = async (name: string) => {
    const out = await new Deno.Command("tar", { args: ["-xzOf", archive, name], stdout: "piped" })
      .output();
    assertEquals(out.success, true, `tar cannot read ${name} from ${archive}`);
    return JSON.parse(new TextDecoder().decode(out.stdout));
  };
  const [manifest] = await read("manifest.json");
  return await read(manifest.Config);
}

Deno.test("build: the image config carries the revision, created and source labels (format 2)", async () => {
  const dir = await tempProject();
  try {
    await git(dir, "init", "-q");
    await git(dir, "add", ".");
    await git(dir, "commit", "-qm", "init");
    const head = (await git(dir, "rev-parse", "HEAD")).trim();
    const r = await r10eInProcess(["build", "--json", "-q"], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout).revision, head);
    const config = await imageConfigOf(`${dir}/${ARCHIVE}`);
    assertEquals(config.config.Labels, {
      "org.opencontainers.image.authors": "r10e",
      "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
      "org.opencontainers.image.revision": head,
      "org.opencontainers.image.source": "https://example.com/r10e-hello",
    });
    assertEquals(config.created, "2023-11-14T22:13:20Z");
    // Another commit, another revision label and so another image.
    await git(dir, "commit", "-q", "--allow-empty", "-m", "second");
    const r2 = await r10eInProcess(["build", "--json", "-q"], { cwd: dir });
    assertEquals(r2.code, 0, r2.stderr);
    assertEquals(JSON.parse(r2.stdout).imageId !== JSON.parse(r.stdout).imageId, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: a source URL with credentials is a config error with its position", async () => {
  const dir = await tempProject();
  try {
    const config = await Deno.readTextFile(`${dir}/config.json`);
    await Deno.writeTextFile(
      `${dir}/config.json`,
      config.replace("https://example.com/r10e-hello", "https://me:s3cret@example.com/r10e-hello"),
    );
    const r = await r10eInProcess(["build"], { cwd: dir, env: { SOURCE_DATE_EPOCH: "0" } });
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      'config.json:17:13: source: expected a URL without credentials (it becomes a public label), found one with "user:password@"',
    );
    assertEquals(r.stderr.includes("s3cret"), false);
    assertEquals((await listTree(`${dir}/r10e-docker`)).includes("out"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init: same config, same bytes; hand edits are kept unless --force", async () => {
  const dir = await tempProject();
  try {
    const before = await fileSha256(`${dir}/r10e-docker/pins.json`);
    const again = await r10eInProcess(["init", "-q"], { cwd: dir, env: { GOPROXY: "off" } });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(await fileSha256(`${dir}/r10e-docker/pins.json`), before);
    // The example's committed r10e-docker/ is what init writes today (regenerate it when templates change).
    for (const f of await listTree(`${dir}/r10e-docker`)) {
      assertEquals(
        await Deno.readTextFile(`${dir}/r10e-docker/${f}`),
        await Deno.readTextFile(`${EXAMPLE}/r10e-docker/${f}`),
        `examples/hello/r10e-docker/${f} is stale: run scripts/r10e init -c examples/hello/config.json`,
      );
    }
    await Deno.writeTextFile(`${dir}/r10e-docker/Makefile`, "# mine\n", { append: true });
    const refused = await r10eInProcess(["init"], { cwd: dir, env: { GOPROXY: "off" } });
    assertEquals(refused.code, 2);
    assertStringIncludes(
      refused.stderr,
      'r10e: Cannot write "r10e-docker/": "r10e-docker/Makefile" was changed by hand; rerun with --force to overwrite',
    );
    assertStringIncludes(await Deno.readTextFile(`${dir}/r10e-docker/Makefile`), "# mine");
    const forced = await r10eInProcess(["init", "--force", "-q"], {
      cwd: dir,
      env: { GOPROXY: "off" },
    });
    assertEquals(forced.code, 0, forced.stderr);
    assertEquals(
      (await Deno.readTextFile(`${dir}/r10e-docker/Makefile`)).includes("# mine"),
      false,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init: an unknown go_version is reported with its position", async () => {
  const dir = await tempProject();
  try {
    const config = await Deno.readTextFile(`${dir}/config.json`);
    await Deno.writeTextFile(`${dir}/config.json`, config.replace('"1.26.8"', '"1.99"'));
    const r = await r10eInProcess(["init"], { cwd: dir, env: { GOPROXY: "off" } });
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      'config.json:7:17: go_version: unknown Go version "1.99" (the Go module proxy was not reachable; r10e knows 1.21,',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init: every r10edocker compat config drives init", async (t) => {
  const compat = new URL("fixtures/r10edocker/", import.meta.url);
  for await (const e of Deno.readDir(compat)) {
    if (!e.name.endsWith(".json")) continue;
    await t.step(e.name, async () => {
      const dir = await Deno.makeTempDir();
      try {
        await Deno.copyFile(new URL(e.name, compat), `${dir}/config.json`);
        const r = await r10eInProcess(["init", "-q"], { cwd: dir, env: { GOPROXY: "off" } });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await listTree(`${dir}/r10e-docker`), [
          ".gitignore",
          "Dockerfile",
          "Makefile",
          "README.md",
          "build_container.sh",
          "github-workflow.yml",
          "pins.json",
        ]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});

Deno.test("build: Ctrl-C stops build_cmd, exits 130 and writes nothing", async () => {
  const dir = await tempProject();
  try {
    const config = await Deno.readTextFile(`${dir}/config.json`);
    await Deno.writeTextFile(
      `${dir}/config.json`,
      config.replace('"go build -o build/hello ."', '"echo started; sleep 30"'),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${REPO}/src/main.ts`, "build"],
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "0", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.getReader();
    let err = "";
    while (!err.includes("started")) {
      const { value, done } = await reader.read();
      if (done) break;
      err += new TextDecoder().decode(value);
    }
    // Timed from the interrupt, not from the spawn: Deno's start-up on a loaded machine is not
    // what this checks (build_cmd sleeps 30 s; stopped, it ends at once).
    const started = Date.now();
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      err += new TextDecoder().decode(value);
    }
    const status = await child.status;
    await child.stdout.cancel();
    assertEquals(status.code, 130, err);
    assertEquals(Date.now() - started < 20_000, true, "build_cmd was not stopped");
    assertStringIncludes(err, "r10e: Interrupted while build_cmd ran: no image was written");
    assertEquals((await listTree(`${dir}/r10e-docker`)).includes("out"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init: a go_version older than go.mod's go line is reported at go_version", async () => {
  const dir = await tempProject();
  try {
    await Deno.writeTextFile(`${dir}/go.mod`, "module example.com/hello\n\ngo 1.27.1\n");
    const r = await r10eInProcess(["init"], { cwd: dir, env: { GOPROXY: "off" } });
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      'config.json:7:17: go_version: go_version "1.26.8" resolves to Go 1.26.8, older than the "go 1.27.1" that go.mod requires: raise go_version',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build -c sub/config.json from a parent directory: the root is the nearest go.mod; --project-dir overrides", async () => {
  // As `scripts/r10e build -c examples/hello/config.json` from r10e's own root.
  const parent = await Deno.makeTempDir({ prefix: "r10e-build-parent-" });
  try {
    await copyExample(`${parent}/examples/hello`);
    const r = await r10e(["build", "-c", "examples/hello/config.json"], {
      cwd: parent,
      env: { SOURCE_DATE_EPOCH: "0" },
    });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(
      r.stderr,
      `r10e: Project root ${parent}/examples/hello (the nearest go.mod at or above the config file)`,
    );
    assertStringIncludes(
      r.stdout,
      `Container image created in ${parent}/examples/hello/${ARCHIVE}\n`,
    );
    // The project root decides where build_cmd runs: here the parent has no main package.
    const wrong = await r10e(
      ["build", "-c", "examples/hello/config.json", "--project-dir", "."],
      { cwd: parent, env: { SOURCE_DATE_EPOCH: "0" } },
    );
    assertEquals(wrong.code, 2, wrong.stderr);
    assertStringIncludes(wrong.stderr, `Project root ${parent} (--project-dir)`);
    assertStringIncludes(
      wrong.stderr,
      `r10e-docker/pins.json" is missing; run \`r10e init\` first`,
    );
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});
