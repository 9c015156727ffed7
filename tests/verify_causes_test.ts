/**
 * `r10e verify` on image pairs made by a writer that is not r10e's own (Python's
 * tarfile, see tests/fixtures/verify/README.md): one pair per row of DESIGN's
 * cause table, each detected and named with the right cause; identical inputs;
 * a .tar and a .tar.gz of the same image; unreadable inputs. Each case spawns
 * the real entry point and checks exit code, stdout and stderr separately.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";

import { verify } from "./_verify.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAKE = ROOT + "tests/fixtures/verify/make_fixtures.py";

async function run(cmd: string, args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...options })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

const GO_MAIN = `package main

import "fmt"

var version = "dev"

func main() { fmt.Println("hello", version) }
`;

/** Builds the Go binaries of the Go rows (see the README) into `dir`. */
async function buildGoBinaries(dir: string): Promise<void> {
  const env = {
    GOFLAGS: "",
    GOTOOLCHAIN: "local",
    GOPROXY: "off",
    CGO_ENABLED: "0",
    GOOS: "linux",
    GOARCH: "amd64",
  };
  for (const src of ["one/src", "two/src"]) {
    await Deno.mkdir(`${dir}/${src}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${src}/go.mod`, "module example.com/hello\n\ngo 1.21\n");
    await Deno.writeTextFile(`${dir}/${src}/main.go`, GO_MAIN);
  }
  const go = (cwd: string, args: string[], extra: Record<string, string> = {}) =>
    run("go", ["build", ...args], { cwd, env: { ...env, ...extra } });
  const one = `${dir}/one/src`;
  // -ldflags is not recorded with -trimpath (it may hold paths); GOAMD64 always is.
  await go(one, ["-trimpath", "-o", `${dir}/goinfo_a`], { GOAMD64: "v1" });
  await go(one, ["-trimpath", "-o", `${dir}/goinfo_b`], { GOAMD64: "v3" });
  await go(one, ["-trimpath", "-o", `${dir}/buildid_a`], { GOAMD64: "v1" });
  await go(one, ["-o", `${dir}/paths_a`]);
  await go(`${dir}/two/src`, ["-o", `${dir}/paths_b`]);
  // Same build, Go build ID rewritten (what a different toolchain build of the same code shows).
  const id = (await run("go", ["tool", "buildid", `${dir}/buildid_a`], { env })).trim();
  const bytes = await Deno.readFile(`${dir}/buildid_a`);
  const from = new TextEncoder().encode(id);
  const to = new TextEncoder().encode(id.replace(/[A-Za-z]/, (c) => (c === "x" ? "y" : "x")));
  let replaced = 0;
  for (
    let i = bytes.indexOf(from[0]);
    i >= 0 && i < bytes.length;
    i = bytes.indexOf(from[0], i + 1)
  ) {
    if (from.every((b, k) => bytes[i + k] === b)) {
      bytes.set(to, i);
      replaced++;
    }
  }
  ok(replaced > 0, "build ID not found in the binary");
  await Deno.writeFile(`${dir}/buildid_b`, bytes);
}

/** The manifest digest of the one-layer fixture image (`identical/a.tar`), as reports shorten it. */
const MANIFEST = "sha256:a6923be6b728…";

/** `sha256:` and 12 hex digits of a file's sha256, as reports shorten it. */
async function shortSha(path: string): Promise<string> {
  const hex = (await run("sha256sum", [path])).slice(0, 12);
  return `sha256:${hex}…`;
}

let fixtures: string | null = null;

/** Makes the fixture pairs once per test file. */
async function makeFixtures(): Promise<string> {
  if (fixtures) return fixtures;
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-fixtures-" });
  await buildGoBinaries(`${dir}/go`);
  await run("python3", [MAKE, `${dir}/pairs`, `${dir}/go`]);
  fixtures = `${dir}/pairs`;
  return fixtures;
}

interface Case {
  name: string;
  /** Lines the human report must contain. */
  lines: string[];
  /** The summary line. */
  summary: string;
}

const CASES: Case[] = [
  {
    name: "mtime",
    summary: "Images differ: 4 findings: timestamps (4)",
    lines: [
      "  /app/server",
      "    mtime: 2023-11-14T22:13:20Z → 2023-11-14T23:13:20Z [timestamps]",
      "  timestamps (4): build time 2023-11-14T22:13:20Z → 2023-11-14T23:13:20Z in 4 places (4 mtimes) → set SOURCE_DATE_EPOCH; build with r10e",
    ],
  },
  {
    name: "created",
    summary: "Images differ: 2 findings: timestamps (2)",
    lines: [
      "Config",
      "  created: 2023-11-14T22:13:20Z → 2023-11-15T08:00:00Z [timestamps]",
      "  history[0].created: 2023-11-14T22:13:20Z → 2023-11-15T08:00:00Z [timestamps]",
    ],
  },
  {
    name: "owner",
    summary: "Images differ: 16 findings: owner (16)",
    lines: [
      "    uid: 0 → 1000 [owner]",
      '    uname: "" → builder [owner]',
      "  owner (16): built as different users → use a fixed owner (uid/gid 0, empty uname/gname)",
    ],
  },
  {
    name: "order",
    summary: "Images differ: 1 finding: order (1)",
    lines: [
      "  order (at entry 1 of 4): app → etc [order]",
      "  order (1): unsorted tar writer → sort entries",
    ],
  },
  {
    name: "text",
    summary: "Images differ: 1 finding: content (1)",
    lines: ["      -setting_7 = 7", "      +setting_7 = seven", "      --- a/etc/app.conf"],
  },
  {
    name: "binary",
    summary: "Images differ: 1 finding: content (1)",
    lines: ["      binary: 4096 → 4096 bytes, first difference at offset 1000"],
  },
  {
    name: "goinfo",
    summary: "Images differ: 2 findings: go-build-setting (1), go-build-info (1)",
    lines: [
      "  go-build-setting (1): Go build settings differ: GOAMD64: v1 → v3 (in /app/server) → pin GOAMD64",
      "    GOAMD64: v1 → v3 [go-build-setting]",
      "        build info build GOAMD64: v1 → v3 → pin GOAMD64",
    ],
  },
  {
    name: "buildid",
    summary: "Images differ: 1 finding: go-build-id (1)",
    lines: [
      "  go-build-id (1): Go build ID only: different toolchain or paths → pin go_version; build with -trimpath",
    ],
  },
  {
    name: "paths",
    summary: "Images differ: 1 finding: build-paths (1)",
    lines: [
      "  build-paths (1): build paths in the binary: missing -trimpath → build with -trimpath",
    ],
  },
];

Deno.test("verify names the cause of each row of the cause table", async (t) => {
  const dir = await makeFixtures();
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const r = await verify([`${c.name}/a.tar`, `${c.name}/b.tar`], dir);
      assertEquals(r.stderr, "");
      assertEquals(r.code, 1, r.stdout);
      assertEquals(r.stdout.split("\n")[0], c.summary);
      const lines = r.stdout.split("\n");
      for (const line of c.lines) {
        ok(lines.includes(line), `missing line ${JSON.stringify(line)} in:\n${r.stdout}`);
      }
    });
  }
  await t.step("layer compression: the same content under another manifest digest", async () => {
    const r = await verify(["compression/a.tar", "compression/b.tar"], dir);
    assertEquals([r.code, r.stderr], [1, ""]);
    const lines = r.stdout.split("\n");
    assertEquals(lines[0], "Images differ: 1 finding: compression (1)");
    ok(
      /^ {2}layer blobs \(same content: diff_ids verified\): layer 0: gzip, \d+ bytes, sha256:[0-9a-f]{12}… → layer 0: gzip, \d+ bytes, sha256:[0-9a-f]{12}… \[compression\]$/
        .test(lines.find((l) => l.startsWith("  layer blobs")) ?? ""),
      r.stdout,
    );
    const accepted = await verify(
      ["compression/a.tar", "compression/b.tar", "--ignore", "compression"],
      dir,
    );
    assertEquals([accepted.code, accepted.stderr], [0, ""]);
    assertEquals(
      accepted.stdout.split("\n")[0],
      "Images are identical (ignoring 1 difference)",
    );
  });
  await t.step("outer gzip bytes: the same image, a note on the archive bytes", async () => {
    const r = await verify(["outer_level/a.tar.gz", "outer_level/b.tar.gz"], dir);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(
      r.stdout.split("\n")[0],
      `Images are identical: the same manifest digest ${MANIFEST} (the archive files differ: see the notes)`,
    );
    ok(
      /\n {2}note: the archive files differ \(sha256:[0-9a-f]{12}… vs sha256:[0-9a-f]{12}…\), with the same entries: \d+ bytes differ, the first at offset \d+( \(sizes \d+ vs \d+\))? \(gzip bytes; the tar inside is the same\)\n/
        .test(r.stdout),
      r.stdout,
    );
  });
  await t.step("--json gives the same findings as data", async () => {
    const r = await verify(["goinfo/a.tar", "goinfo/b.tar", "--json"], dir);
    assertEquals([r.code, r.stderr], [1, ""]);
    const report = JSON.parse(r.stdout);
    assertEquals(report.schemaVersion, 1);
    assertEquals(report.identical, false);
    // The build setting first, named as such, then the bytes it explains.
    assertEquals(report.findings.length, 2);
    const g = report.findings[0];
    assertEquals([g.scope, g.layer, g.path, g.field, g.a, g.b, g.cause, g.hint], [
      "file",
      0,
      "app/server",
      "go build GOAMD64",
      "v1",
      "v3",
      "go-build-setting",
      "pin GOAMD64",
    ]);
    const f = report.findings[1];
    assertEquals([f.scope, f.layer, f.path, f.field, f.cause], [
      "file",
      0,
      "app/server",
      "content",
      "go-build-info",
    ]);
    assertEquals(f.detail.kind, "go");
    assertEquals(f.detail.buildInfo, [{
      field: "build GOAMD64",
      a: "v1",
      b: "v3",
      hint: "pin GOAMD64",
    }]);
    ok(f.detail.sections.length > 0);
    assertEquals(
      report.consequences.map((q: { field: string }) => q.field),
      ["archive sha256", "manifest digest", "image ID", "rootfs.diff_ids", "layer digest"],
    );
  });
});

Deno.test("verify: identical inputs, and a .tar and a .tar.gz of one image", async (t) => {
  const dir = await makeFixtures();
  await t.step("identical", async () => {
    const r = await verify(["identical/a.tar", "identical/b.tar"], dir);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(
      r.stdout.split("\n")[0],
      `Images are identical: the archive files are byte-identical (${await shortSha(
        `${dir}/identical/a.tar`,
      )})`,
    );
    ok(r.stdout.includes("  note: the layers were not read: the same bytes hold the same image\n"));
  });
  await t.step(".tar and .tar.gz", async () => {
    const r = await verify(["outer_gzip/a.tar", "outer_gzip/b.tar.gz"], dir);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(
      r.stdout.split("\n")[0],
      `Images are identical: the same manifest digest ${MANIFEST} (the archive files differ: see the notes)`,
    );
    ok(
      r.stdout.includes(
        "  note: outer compression differs (none vs gzip), so the archive files differ; the images inside are compared",
      ),
      r.stdout,
    );
  });
  await t.step("--ignore makes expected differences identical, naming them", async () => {
    const r = await verify(["mtime/a.tar", "mtime/b.tar", "--ignore", "timestamps"], dir);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(r.stdout.split("\n")[0], "Images are identical (ignoring 4 differences)");
    ok(r.stdout.includes("Ignored 4 differences: timestamps (4)"), r.stdout);
  });
  await t.step("--ignore-path leaves the other files", async () => {
    const r = await verify(["mtime/a.tar", "mtime/b.tar", "--ignore-path", "/app"], dir);
    assertEquals([r.code, r.stderr], [1, ""]);
    assertEquals(r.stdout.split("\n")[0], "Images differ: 2 findings: timestamps (2)");
  });
  await t.step("bad --ignore value is a usage error", async () => {
    const r = await verify(["mtime/a.tar", "mtime/b.tar", "--ignore", "colour"], dir);
    assertEquals([r.code, r.stdout], [2, ""]);
    assertEquals(
      r.stderr,
      'r10e: Unknown --ignore value "colour": expected timestamps, owner, order, compression, config-encoding, manifest-encoding\n',
    );
  });
});

Deno.test("verify: unreadable inputs exit 2 naming the entry", async (t) => {
  const dir = await makeFixtures();
  const table: [string, RegExp][] = [
    [
      "errors/truncated.tar",
      /^r10e: Cannot read image "errors\/truncated\.tar": .*\n.*entry "blobs\/sha256\/[0-9a-f]{64}" at offset \d+ is truncated\n$/,
    ],
    ["errors/corrupt.tar.gz", /^r10e: Cannot read image "errors\/corrupt\.tar\.gz": .*gzip/],
    [
      "errors/digest.tar",
      /^r10e: Cannot read image "errors\/digest\.tar": blob "blobs\/sha256\/[0-9a-f]{64}" does not match its digest\n$/,
    ],
    [
      "errors/missing.tar",
      /^r10e: Cannot read image "errors\/missing\.tar": layer "blobs\/sha256\/[0-9a-f]{64}" is missing\n$/,
    ],
    ["errors/nothing.tar", /^r10e: Cannot read image "errors\/nothing\.tar": file not found\n/],
  ];
  for (const [input, want] of table) {
    await t.step(input, async () => {
      const r = await verify([input, "identical/a.tar"], dir);
      assertEquals([r.code, r.stdout], [2, ""]);
      ok(want.test(r.stderr), r.stderr);
    });
  }
});

globalThis.addEventListener("unload", () => {
  if (fixtures) Deno.removeSync(fixtures.replace(/\/pairs$/, ""), { recursive: true });
});
