/**
 * What the CLI prints and how it exits: terminal escapes in names from
 * an image never reach the terminal raw (cp's lines, verify's report, error
 * messages); OS errors name the user's path; a closed pipe ends quietly; exit
 * codes are 2 for everything that is not an answer; a symlinked output folder is
 * printed as where the archive really is.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, r10e } from "./_cli.ts";
import { rawTar, writeTestImage } from "./cp_images.ts";
import { listAll } from "./hostile_cli_helpers.ts";
import { BuildFailed, ConfigError, exitCodeOf, InputError, UsageError } from "../src/errors.ts";

/** What a terminal would act on: C0 (but newline), DEL, C1. */
function controls(text: string): string[] {
  const found = new Set<string>();
  for (const c of text) {
    const n = c.charCodeAt(0);
    if ((n < 0x20 && c !== "\n") || (n >= 0x7f && n <= 0x9f)) found.add(JSON.stringify(c));
  }
  return [...found];
}

const HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rImages are identical\x9b2J";

Deno.test("escapes: cp, verify and error messages print hostile names escaped", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-out-" });
  try {
    const layer = (text: string) =>
      rawTar([
        { name: "app/", type: "dir", mode: 0o755 },
        { name: `app/${HOSTILE}`, content: text },
        { name: "app/ok.txt", content: "ok\n" },
      ]);
    await writeTestImage(`${dir}/a.tar`, [layer("one\n")]);
    await writeTestImage(`${dir}/b.tar`, [layer("two\n")]);
    await writeTestImage(`${dir}/dev.tar`, [rawTar([
      { name: "app/", type: "dir", mode: 0o755 },
      { name: `app/${HOSTILE}`, type: "char" },
    ])]);
    const runs: [string, string[], number][] = [
      ["cp's lines", ["cp", "a.tar", "/app", "out"], 0],
      ["cp's lines on stderr with -", ["cp", "a.tar", "/app", "-"], 0],
      ["verify's report", ["verify", "a.tar", "b.tar"], 1],
      ["an error naming the entry", ["cp", "dev.tar", "/app", "out-dev"], 2],
      ["an error naming SRC", ["cp", "a.tar", `/app/${HOSTILE}/x`, "out-x"], 2],
    ];
    for (const [name, args, code] of runs) {
      await t.step(name, async () => {
        const r = await r10e(args, { cwd: dir });
        assertEquals(r.code, code, r.stderr);
        const text = args.includes("-") ? r.stderr : r.stdout + r.stderr;
        assertEquals(controls(text), [], text);
        // The name is shown, escaped, so the user sees what is there.
        assertStringIncludes(text, "\\x1b]0;pwned\\x07\\x1b[2J\\rImages are identical\\x9b2J");
        assertEquals(text.split("\n").some((l) => l.startsWith("Images are identical")), false);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exit codes: 2 for every error that is not an answer, 1 only for build failures and differences", () => {
  assertEquals(exitCodeOf(new TypeError("x")), 2);
  assertEquals(exitCodeOf(new RangeError("Maximum call stack size exceeded")), 2);
  assertEquals(exitCodeOf(new Deno.errors.PermissionDenied("x")), 2);
  assertEquals(exitCodeOf("a string"), 2);
  assertEquals(exitCodeOf(new UsageError("x")), 2);
  assertEquals(exitCodeOf(new ConfigError("x")), 2);
  assertEquals(exitCodeOf(new InputError("x")), 2);
  assertEquals(exitCodeOf(new BuildFailed("x")), 1);
});

Deno.test("closed pipe: cp … - | head and verify | head end quietly, verify keeps its answer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-out-" });
  try {
    const big = new Uint8Array(8 << 20).map((_, i) => (i * 7919) & 255);
    await writeTestImage(`${dir}/a.tar`, [rawTar([{ name: "app/big", content: big }])]);
    await writeTestImage(`${dir}/b.tar`, [rawTar([{ name: "app/big", content: big.reverse() }])]);
    const main = new URL("../src/main.ts", import.meta.url).pathname;
    const r = await new Deno.Command("/bin/bash", {
      args: [
        "-c",
        `set -o pipefail; r() { "${Deno.execPath()}" run -A --quiet "${main}" "$@"; }; ` +
        `r cp a.tar /app/big - | head -c 100 >/dev/null; echo "cp=$?"; ` +
        `r verify --full a.tar b.tar | head -c 1 >/dev/null; echo "verify=$?"`,
      ],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout);
    const err = new TextDecoder().decode(r.stderr);
    assertEquals(out, "cp=0\nverify=1\n", err);
    // No "Broken pipe" message, no stack; verify's progress lines are all there is.
    assertEquals(err.split("\n").filter((l) => l && !l.startsWith("r10e: read ")), [], err);
    assertEquals(listAll(dir), ["a.tar", "b.tar"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A tmpfs mounted for the test (root only), unmounted by the returned function. */
async function tmpfs(at: string, options: string): Promise<(() => Promise<void>) | string> {
  await Deno.mkdir(at, { recursive: true });
  const r = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", options, "tmpfs", at],
    stdout: "null",
    stderr: "piped",
  }).output().catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
  if (!r.success) return new TextDecoder().decode(r.stderr).trim() || "mount failed";
  return async () => {
    await new Deno.Command("umount", { args: [at] }).output();
  };
}

Deno.test("OS errors name the user's path: read-only DEST, full disk, name too long", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-out-" });
  try {
    const big = new Uint8Array(2 << 20).map((_, i) => (i * 31) & 255);
    await writeTestImage(`${dir}/a.tar`, [rawTar([
      { name: "app/small", content: "small\n" },
      { name: "app/big", content: big },
    ])]);
    await t.step("a name too long for the filesystem", async () => {
      await Deno.mkdir(`${dir}/dest`);
      const long = "n".repeat(300);
      const r = await r10e(["cp", "a.tar", "/app/small", `dest/${long}`], { cwd: dir });
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, `dest/${long}`);
      assertStringIncludes(r.stderr, "File name too long");
      assertEquals(listAll(`${dir}/dest`), []);
    });
    const ro = await tmpfs(`${dir}/ro`, "size=1m");
    if (typeof ro === "string") {
      console.log(`skipped: read-only and full filesystems need a tmpfs mount (${ro})`);
      return;
    }
    try {
      await new Deno.Command("mount", { args: ["-o", "remount,ro", `${dir}/ro`] }).output();
      await t.step("a read-only DEST", async () => {
        const r = await r10e(["cp", "a.tar", "/app/small", "ro/"], { cwd: dir });
        assertEquals(r.code, 2, r.stderr);
        assertEquals(
          r.stderr,
          `r10e: Cannot copy to "ro/small": Read-only file system\n`,
        );
      });
    } finally {
      await ro();
    }
    const full = await tmpfs(`${dir}/full`, "size=256k");
    if (typeof full === "string") throw new Error(full);
    try {
      await t.step("a full disk", async () => {
        const r = await r10e(["cp", "a.tar", "/app", "full/app"], { cwd: dir });
        assertEquals(r.code, 2, r.stderr);
        assertEquals(
          r.stderr,
          `r10e: Cannot copy to "full/app/big": the output folder "full/app" is full (no space left on device)\n`,
        );
        assertEquals(listAll(`${dir}/full`), [], "half-written files left");
      });
    } finally {
      await full();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("output path: a symlinked r10e-docker/out is printed as where the archive is", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-out-" });
  const elsewhere = await Deno.makeTempDir({ prefix: "r10e-hostile-elsewhere-" });
  try {
    await copyExample(dir);
    await Deno.symlink(elsewhere, `${dir}/r10e-docker/out`);
    const r = await r10e(["build", "--in", "host"], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "0" },
    });
    assertEquals(r.code, 0, r.stderr);
    const real = await Deno.realPath(elsewhere);
    assertStringIncludes(
      r.stdout,
      `Container image created in ${real}/r10e-hello-latest.tar.gz\n`,
    );
    assertStringIncludes(
      r.stderr,
      `r10e: warning: ${dir}/r10e-docker/out leads through a symbolic link: the image is in ${real}\n`,
    );
    // The SBOMs and provenance beside it too, printed with the real path.
    assertStringIncludes(
      r.stdout,
      `PROVENANCE (in-toto, SLSA v1): ${real}/r10e-hello-latest.provenance.json\n`,
    );
    assertEquals(listAll(real), [
      "r10e-hello-latest.cdx.json",
      "r10e-hello-latest.provenance.json",
      "r10e-hello-latest.spdx.json",
      "r10e-hello-latest.tar.gz",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});
