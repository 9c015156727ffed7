/**
 * Small things a new user hit: `r10e version`, shell
 * completion scripts, counts in progress lines, the default go_version line,
 * cp's printed paths. In-process (main's Io) where what is printed is the subject; cp's
 * printed paths spawned, as they are relative to the process's working directory.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, r10e, r10eInProcess } from "./_cli.ts";
import { requireTool } from "./_docker.ts";

Deno.test("version: a command, with the image format it writes", async () => {
  const r = await r10eInProcess(["version"]);
  assertEquals(r.code, 0, r.stderr);
  const { VERSION } = await import("../src/version.ts");
  const { FORMAT_VERSION } = await import("../src/image/writer.ts");
  assertEquals(r.stdout, `r10e ${VERSION} (image format ${FORMAT_VERSION})\n`);
  // -v, -V and --version say the same.
  for (const flag of ["-v", "-V", "--version"]) {
    assertEquals((await r10eInProcess([flag])).stdout, r.stdout);
  }
});

/** Completes `words` (the last is the word under the cursor) with the bash script, in bash. */
async function bashComplete(script: string, words: string[]): Promise<string[]> {
  const file = await Deno.makeTempFile({ suffix: ".bash" });
  try {
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command("bash", {
      args: [
        "-c",
        'source "$0" && COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && _r10e && printf "%s\\n" "${COMPREPLY[@]}"',
        file,
        ...words,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.success, true, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("completions bash: parses with bash -n and completes commands, options and their values", async (t) => {
  const r = await r10eInProcess(["completions", "bash"]);
  assertEquals(r.code, 0, r.stderr);
  const file = await Deno.makeTempFile({ suffix: ".bash" });
  try {
    await Deno.writeTextFile(file, r.stdout);
    const check = await new Deno.Command("bash", { args: ["-n", file], stderr: "piped" }).output();
    assertEquals(check.success, true, new TextDecoder().decode(check.stderr));
  } finally {
    await Deno.remove(file);
  }
  const cases: [string[], string[]][] = [
    [["r10e", "b"], ["build"]],
    [["r10e", "--verbose", "ver"], ["verify", "version"]],
    [["r10e", "build", "--in", ""], ["auto", "host", "docker"]],
    [["r10e", "build", "--f"], ["--format"]],
    [["r10e", "init", "--pro"], ["--project-dir"]],
    [["r10e", "verify", "--ig"], ["--ignore", "--ignore-path"]],
    [["r10e", "completions", "f"], ["fish"]],
  ];
  for (const [words, want] of cases) {
    await t.step(words.join(" "), async () => {
      assertEquals(await bashComplete(r.stdout, words), want);
    });
  }
});

Deno.test("completions zsh and fish: every command and option is in the script", async () => {
  for (const shell of ["zsh", "fish"]) {
    const r = await r10eInProcess(["completions", shell]);
    assertEquals(r.code, 0, r.stderr);
    for (const word of ["init", "build", "verify", "cp", "version", "completions"]) {
      assertStringIncludes(r.stdout, shell === "zsh" ? `'${word}:` : `-a ${word} `);
    }
    for (const option of ["project-dir", "allow-unpinned", "ignore-path", "platform"]) {
      assertStringIncludes(r.stdout, shell === "zsh" ? `--${option}[` : `-l ${option}`);
    }
  }
});

Deno.test("completions zsh and fish: parse in their shells; fish completes like bash", async (t) => {
  for (const shell of ["zsh", "fish"]) {
    const bin = requireTool(t, shell);
    if (!bin) continue;
    const r = await r10eInProcess(["completions", shell]);
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(file, r.stdout);
      const check = await new Deno.Command(bin, { args: ["-n", file], stderr: "piped" }).output();
      assertEquals(check.success, true, new TextDecoder().decode(check.stderr));
      if (shell === "fish") {
        const out = await new Deno.Command(bin, {
          args: ["-c", `source ${file}; complete -C 'r10e b'; complete -C 'r10e build --in '`],
          stdout: "piped",
        }).output();
        const words = new TextDecoder().decode(out.stdout).split("\n").map((l) => l.split("\t")[0]);
        assertEquals(words.filter((w) => w !== ""), ["build", "auto", "docker", "host"]);
      }
    } finally {
      await Deno.remove(file);
    }
  }
});

Deno.test("completions: an unknown shell is a usage error", async () => {
  const bad = await r10eInProcess(["completions", "tcsh"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "tcsh");
});

Deno.test("init and build: counts read right, the default go_version is named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-small-" });
  try {
    await copyExample(dir);
    const config = await Deno.readTextFile(`${dir}/config.json`);
    await Deno.writeTextFile(`${dir}/config.json`, config.replace('"go_version": "1.26.8",', ""));
    await Deno.remove(`${dir}/r10e-docker`, { recursive: true });
    const init = await r10eInProcess(["init"], { cwd: dir, env: { GOPROXY: "off" } });
    assertEquals(init.code, 0, init.stderr);
    assertStringIncludes(
      init.stderr,
      "Resolving the default Go version 1.26 (config.json sets no go_version)",
    );
    assertEquals(init.stderr.includes("(default)"), false, init.stderr);
    // Without the data directory, the extern_data layer holds one entry: LICENSE.
    await Deno.writeTextFile(
      `${dir}/config.json`,
      config.replace('"go_version": "1.26.8",', "")
        .replace('{ "src": "data", "dest": "/app/data" },\n', ""),
    );
    const build = await r10eInProcess(["build"], { cwd: dir, env: { SOURCE_DATE_EPOCH: "0" } });
    assertEquals(build.code, 0, build.stderr);
    // Gzip layers (the default) are compressed as they are hashed.
    assertStringIncludes(build.stderr, 'Compressing layer "r10e: extern_data" (1 entry)');
    assertStringIncludes(build.stderr, 'Compressing layer "r10e: artifacts" (2 entries)');
    assertEquals(/\(1 entries\)|\(1 blobs\)/.test(build.stderr), false, build.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp: DEST ending in / or /. prints clean paths", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-small-cp-" });
  try {
    await copyExample(dir);
    const build = await r10e(["build", "-q"], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "0" },
    });
    assertEquals(build.code, 0, build.stderr);
    await Deno.mkdir(`${dir}/got`);
    for (const dest of ["got/", "got/.", "got//"]) {
      const r = await r10e(
        ["cp", "r10e-docker/out/r10e-hello-latest.tar.gz", "/app/data/.", dest],
        { cwd: dir },
      );
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.split("(")[0], "got/greeting.txt");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
