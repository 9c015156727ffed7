/**
 * `r10e build` in a git project: extern_data takes only what git tracks, and a
 * dirty tree caused by build output says which .gitignore line fixes it. Outside git,
 * extern_data is taken as it is on disk.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, git, listTree, r10eInProcess } from "./_cli.ts";

/** A copy of the example, committed in a fresh repository. */
async function gitProject(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-build-git-" });
  await copyExample(dir);
  await git(dir, "init", "-q");
  await git(dir, "add", ".");
  await git(dir, "commit", "-qm", "init");
  return dir;
}

const CLONE =
  "so a clone of the commit builds another image (extern_data takes only what git tracks)";

Deno.test("build (git): an ignored file, an untracked file, an empty directory in extern_data are refused", async (t) => {
  const cases: [string, (dir: string) => Promise<void>, string][] = [
    [
      "ignored file",
      async (dir) => {
        await Deno.writeTextFile(`${dir}/.gitignore`, "build/\n*.env\n");
        await git(dir, "commit", "-qam", "ignore env files");
        await Deno.writeTextFile(`${dir}/data/secret.env`, "TOKEN=x\n");
      },
      `config.json:12:14: extern_data[0].src: "data/secret.env" is a git-ignored file, ${CLONE}: move it out of the extern_data source, or commit it (git add -f "data/secret.env") if it belongs in the image`,
    ],
    [
      "untracked file",
      (dir) => Deno.writeTextFile(`${dir}/data/new.txt`, "new\n"),
      `config.json:12:14: extern_data[0].src: "data/new.txt" is an untracked file, ${CLONE}: commit it (git add "data/new.txt") or remove it`,
    ],
    [
      "empty directory",
      (dir) => Deno.mkdir(`${dir}/data/empty`),
      `config.json:12:14: extern_data[0].src: "data/empty" is an empty directory, which git cannot record, ${CLONE}: remove it, or commit a file in it (e.g. "data/empty/.gitkeep")`,
    ],
    [
      "untracked directory",
      async (dir) => {
        await Deno.mkdir(`${dir}/data/more/deep`, { recursive: true });
        await Deno.writeTextFile(`${dir}/data/more/deep/x.txt`, "x\n");
      },
      `config.json:12:14: extern_data[0].src: "data/more" is an untracked directory, ${CLONE}: commit it (git add "data/more") or remove it`,
    ],
    [
      "an untracked file named directly",
      async (dir) => {
        await Deno.remove(`${dir}/LICENSE`);
        await git(dir, "commit", "-qam", "drop LICENSE");
        await Deno.writeTextFile(`${dir}/LICENSE`, "not committed\n");
      },
      `config.json:13:14: extern_data[1].src: "LICENSE" is an untracked file, ${CLONE}: commit it (git add "LICENSE") or remove it`,
    ],
  ];
  for (const [name, setup, want] of cases) {
    await t.step(name, async () => {
      const dir = await gitProject();
      try {
        await setup(dir);
        const r = await r10eInProcess(["build"], { cwd: dir });
        assertEquals(r.code, 2, r.stderr);
        assertEquals(r.stdout, "");
        assertStringIncludes(r.stderr, want);
        assertEquals((await listTree(`${dir}/r10e-docker`)).includes("out"), false);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
  await t.step("all at once: one error lists each path", async () => {
    const dir = await gitProject();
    try {
      await Deno.writeTextFile(`${dir}/data/new.txt`, "new\n");
      await Deno.mkdir(`${dir}/data/empty`);
      const r = await r10eInProcess(["build"], { cwd: dir });
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, '"data/empty" is an empty directory');
      assertStringIncludes(r.stderr, '"data/new.txt" is an untracked file');
      // Once fixed, the build passes.
      await Deno.remove(`${dir}/data/empty`);
      await git(dir, "add", "data/new.txt");
      await git(dir, "commit", "-qm", "add new.txt");
      const ok = await r10eInProcess(["build", "-q"], { cwd: dir });
      assertEquals(ok.code, 0, ok.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("build (no git): extern_data is taken as it is on disk, empty directories too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-build-nogit-" });
  try {
    await copyExample(dir);
    await Deno.mkdir(`${dir}/data/empty`);
    await Deno.writeTextFile(`${dir}/data/new.txt`, "new\n");
    const r = await r10eInProcess(["build", "-q"], { cwd: dir, env: { SOURCE_DATE_EPOCH: "0" } });
    assertEquals(r.code, 0, r.stderr);
    const out = `${dir}/copied`;
    await Deno.mkdir(out);
    const cp = await r10eInProcess([
      "cp",
      "r10e-docker/out/r10e-hello-latest.tar.gz",
      "/app/data",
      out,
    ], {
      cwd: dir,
    });
    assertEquals(cp.code, 0, cp.stderr);
    assertEquals(await listTree(`${out}/data`), ["empty", "greeting.txt", "new.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build (git): build output that .gitignore misses is named with the line that fixes it", async () => {
  const dir = await gitProject();
  try {
    // The example ignores build/; a project that forgets it makes every second build dirty.
    await Deno.writeTextFile(`${dir}/.gitignore`, "# nothing\n");
    await git(dir, "commit", "-qam", "forget build/");
    const first = await r10eInProcess(["build", "-q"], { cwd: dir });
    assertEquals(first.code, 0, first.stderr);
    // The first build names the output it left, before a second build differs.
    assertEquals(
      first.stderr,
      `r10e: warning: build_cmd left 1 untracked path in the tree ("build/"): the next build sees ` +
        `a dirty tree, Go stamps vcs.modified=true and the image differs; add "/build/" to ` +
        `"${dir}/.gitignore" (one line each) and commit it\n`,
    );
    const second = await r10eInProcess(["build", "-q"], { cwd: dir });
    assertEquals(second.code, 0, second.stderr);
    assertStringIncludes(
      second.stderr,
      `r10e: warning: the git tree is dirty (1 uncommitted path: "build/"); Go stamps vcs.modified=true, so this image will differ from a build of the commit. "build/" is build output (it holds an artifact): add "/build/" to "${dir}/.gitignore" (one line each) and commit it`,
    );
    // A dirty tree that is not build output gets no .gitignore advice.
    await Deno.writeTextFile(`${dir}/.gitignore`, "/build/\n");
    await git(dir, "commit", "-qam", "ignore build/");
    await Deno.writeTextFile(`${dir}/main.go`, "\n// changed\n", { append: true });
    const third = await r10eInProcess(["build", "-q"], { cwd: dir });
    assertStringIncludes(third.stderr, '(1 uncommitted path: "main.go")');
    assertEquals(third.stderr.includes(".gitignore"), false, third.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build (git): a project in a monorepo is dirty when a file beside it is, as Go's vcs.modified says", async () => {
  const top = await Deno.makeTempDir({ prefix: "r10e-build-monorepo-" });
  try {
    const dir = `${top}/services/hello`;
    await Deno.mkdir(dir, { recursive: true });
    await copyExample(dir);
    await Deno.mkdir(`${top}/docs`);
    await Deno.writeTextFile(`${top}/docs/notes.md`, "notes\n");
    await git(top, "init", "-q");
    await git(top, "add", ".");
    await git(top, "commit", "-qm", "init");
    const clean = await r10eInProcess(["build", "-q"], { cwd: dir });
    assertEquals(clean.code, 0, clean.stderr);
    assertEquals(clean.stderr.includes("dirty"), false, clean.stderr);

    // Outside the project's subtree, but in its repository.
    await Deno.writeTextFile(`${top}/docs/notes.md`, "changed\n", { append: true });
    const dirty = await r10eInProcess(["build", "-q"], { cwd: dir });
    assertEquals(dirty.code, 0, dirty.stderr);
    assertStringIncludes(dirty.stderr, '(1 uncommitted path: "../../docs/notes.md")');
    // What the warning claims is what Go did: the binary says vcs.modified=true.
    const info = new Deno.Command("go", { args: ["version", "-m", `${dir}/build/hello`] })
      .outputSync();
    assertStringIncludes(new TextDecoder().decode(info.stdout), "vcs.modified=true");
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});
