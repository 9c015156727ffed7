import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  analyzeContent,
  buildInfoHint,
  type ContentAnalysis,
  goAnalysis,
  stampHint,
} from "./content.ts";
import { bytesRandomAccess, fileRandomAccess } from "../gobinary/random_access.ts";
import { copyStamp, git, gitCommitAll, goBuild, goVersion } from "../../tests/fixtures/go/build.ts";
import { compareGoBinaries, type GoBinaryDiff } from "../gobinary/go_binary.ts";

const enc = new TextEncoder();

Deno.test("analyzeContent", async (t) => {
  await t.step("text files get a unified diff", async () => {
    const r = await analyzeContent(
      bytesRandomAccess(enc.encode("a\nb\n")),
      bytesRandomAccess(enc.encode("a\nc\n")),
      { path: "etc/x" },
    );
    assertEquals(r, {
      cause: "content",
      detail: {
        kind: "text",
        diff: "--- a/etc/x\n+++ b/etc/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n",
        truncated: false,
      },
    });
  });
  await t.step("other files: sizes and first differing offset", async () => {
    const a = new Uint8Array(100);
    const b = new Uint8Array(101);
    b[42] = 1;
    const r = await analyzeContent(bytesRandomAccess(a), bytesRandomAccess(b), { path: "x" });
    assertEquals(r.detail, { kind: "binary", sizeA: 100, sizeB: 101, firstDifference: 42 });
  });
});

function goDiff(extra: Partial<GoBinaryDiff>): GoBinaryDiff {
  const none = { count: 0, examples: [] };
  return {
    identical: false,
    bytes: { sizeA: 10, sizeB: 10, offset: 3 },
    buildInfo: { a: null, b: null },
    buildInfoDifferences: [],
    buildId: { a: "x/y", b: "x/z" },
    onlyBuildIdDiffers: false,
    sections: [],
    buildPaths: { a: none, b: none },
    problems: [],
    format: { a: "elf", b: "elf" },
    symbols: { source: "symtab", count: 0, symbols: [], unnamed: { ranges: 0, bytes: 0 } },
    stamps: [],
    strings: { a: [], b: [] },
    buildIdParts: null,
    buildPathVerdict: { paths: [], reason: null },
    ...extra,
  };
}

Deno.test("goAnalysis picks the cause: build info, then build ID only, then paths", async (t) => {
  await t.step("build info", () => {
    const r = goAnalysis(goDiff({
      buildInfoDifferences: [{
        field: "build",
        key: "vcs.modified",
        change: "changed",
        a: "false",
        b: "true",
      }],
    }));
    assertEquals(r.cause, "go-build-info");
    assertEquals(r.detail.kind === "go" && r.detail.buildInfo, [
      { field: "build vcs.modified", a: "false", b: "true", hint: "commit before building" },
    ]);
  });
  await t.step("build ID only", () => {
    assertEquals(goAnalysis(goDiff({ onlyBuildIdDiffers: true })).cause, "go-build-id");
  });
  await t.step("build paths", () => {
    const leak = {
      count: 1,
      examples: [{ offset: 1, path: "/home/me/src/main.go", kind: "home" as const }],
    };
    const verdict = { paths: ["/home/me/src/main.go"], reason: "not trimmed" as const };
    assertEquals(
      goAnalysis(goDiff({ buildPaths: { a: leak, b: leak }, buildPathVerdict: verdict })).cause,
      "build-paths",
    );
    // Paths found in both, but none that differ or that a build without -trimpath left: no cause.
    assertEquals(goAnalysis(goDiff({ buildPaths: { a: leak, b: leak } })).cause, "content");
  });
  await t.step("otherwise a content change", () => {
    assertEquals(goAnalysis(goDiff({})).cause, "content");
  });
});

Deno.test("buildInfoHint", () => {
  assertEquals(buildInfoHint({ field: "go", key: "go" }), "pin go_version (GOTOOLCHAIN=go<X.Y.Z>)");
  assertEquals(buildInfoHint({ field: "build", key: "-trimpath" }), "build with -trimpath");
  assertEquals(buildInfoHint({ field: "build", key: "CGO_ENABLED" }), "set CGO_ENABLED=0");
  assertEquals(
    buildInfoHint({ field: "dep", key: "golang.org/x/sys" }),
    "pin dependencies: commit go.mod and go.sum",
  );
  assertEquals(buildInfoHint({ field: "build", key: "DefaultGODEBUG" }), "");
});

// ---------------------------------------------------------------------------
// Real Go builds (tests/fixtures/go/stamp): what build scripts stamp with -ldflags=-X.

const GO = await goVersion();

/** A value like `date +%s%N`, different on each call. */
function clockNs(): string {
  return (BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString();
}

/** Builds the stamp fixture in `dir` (a clean git tree) with `flags`, returns the binary's path. */
function twoClocks(): [string, string] {
  const t1 = clockNs();
  let t2 = clockNs();
  while (t2 === t1) t2 = clockNs();
  return [t1, t2];
}

async function buildStamp(
  dir: string,
  name: string,
  flags: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const out = `${dir}/${name}`;
  await goBuild(`${dir}/src`, out, { flags: ["-trimpath", ...flags], env });
  return out;
}

async function analyzeFiles(pa: string, pb: string): Promise<ContentAnalysis> {
  using fa = await Deno.open(pa);
  using fb = await Deno.open(pb);
  return await analyzeContent(
    fileRandomAccess(fa, (await fa.stat()).size),
    fileRandomAccess(fb, (await fb.stat()).size),
    { path: "app" },
  );
}

function goDetail(r: ContentAnalysis) {
  if (r.detail.kind !== "go") throw new Error(`expected a Go detail, got ${r.detail.kind}`);
  return r.detail;
}

Deno.test({
  name: "analyzeContent names -ldflags=-X stamps: symbol, both values, cause and fix",
  ignore: GO === null,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-stamp-" });
    try {
      await copyStamp(`${dir}/src`);
      await gitCommitAll(`${dir}/src`);
      const platforms = [
        {
          label: "linux/amd64 (ELF)",
          env: {} as Record<string, string>,
          format: "elf",
          section: ".rodata",
        },
        {
          label: "darwin/arm64 (Mach-O)",
          env: { GOOS: "darwin", GOARCH: "arm64" },
          format: "macho",
          section: "__TEXT,__rodata",
        },
      ];
      for (const p of platforms) {
        await t.step(`${p.label}: main.buildTime from the clock`, async () => {
          const [t1, t2] = twoClocks();
          const a = await buildStamp(dir, "a", [`-ldflags=-X main.buildTime=${t1}`], p.env);
          const b = await buildStamp(dir, "b", [`-ldflags=-X main.buildTime=${t2}`], p.env);
          const r = await analyzeFiles(a, b);
          const d = goDetail(r);
          assert.equal(r.cause, "go-ldflags-x");
          assert.equal(d.format, p.format);
          assert.deepEqual(d.stamps, [{
            symbol: "main.buildTime",
            a: t1,
            b: t2,
            hint: "derive it from vcs.time or SOURCE_DATE_EPOCH, not the clock",
          }]);
          assert.ok(
            d.symbols?.names.includes(`main.buildTime.str (${p.section})`),
            `symbols: ${d.symbols?.names}`,
          );
          assert.equal(d.buildIdParts?.verdict, "link");
          assert.deepEqual(d.buildIdParts?.parts, ["actionID(binary)", "contentID(binary)"]);
          assert.deepEqual(d.buildInfo, [], "-trimpath: Go does not record -ldflags");
          assert.deepEqual(d.buildPaths, [], "the source's own /home/user/x is not a build path");
        });
        await t.step(`${p.label}: stripped (-s -w), the strings that differ`, async () => {
          const [t1, t2] = twoClocks();
          const a = await buildStamp(dir, "a", [`-ldflags=-s -w -X main.buildTime=${t1}`], p.env);
          const b = await buildStamp(dir, "b", [`-ldflags=-s -w -X main.buildTime=${t2}`], p.env);
          const r = await analyzeFiles(a, b);
          const d = goDetail(r);
          assert.equal(r.cause, "go-ldflags-x");
          assert.equal(d.stamps, undefined, "no symbol table to name the variable");
          assert.deepEqual(d.strings, { a: [t1], b: [t2] });
          assert.equal(d.buildIdParts?.verdict, "link");
        });
      }
      await t.step("without -trimpath Go records -ldflags: still the stamp first", async () => {
        const [t1, t2] = twoClocks();
        for (const [name, value] of [["a", t1], ["b", t2]]) {
          await goBuild(`${dir}/src`, `${dir}/${name}`, {
            flags: [`-ldflags=-X main.buildTime=${value}`],
          });
        }
        const r = await analyzeFiles(`${dir}/a`, `${dir}/b`);
        const d = goDetail(r);
        assert.equal(r.cause, "go-ldflags-x");
        assert.deepEqual(d.buildInfo.map((f) => [f.field, f.a, f.b]), [
          ["build -ldflags", `-X main.buildTime=${t1}`, `-X main.buildTime=${t2}`],
        ]);
        assert.deepEqual(d.stamps?.map((s) => [s.symbol, s.a, s.b]), [["main.buildTime", t1, t2]]);
        // Not trimmed: the build directory is a build path (listed, not the cause).
        assert.ok(d.buildPaths.includes(`${dir}/src/main.go`), d.buildPaths.join(", "));
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "analyzeContent: -X main.version from git describe, with and without a tag",
  ignore: GO === null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-describe-" });
    try {
      await copyStamp(`${dir}/src`);
      await gitCommitAll(`${dir}/src`);
      const describe = () => git(`${dir}/src`, ["describe", "--tags", "--always", "--dirty"]);
      const untagged = await describe();
      await git(`${dir}/src`, ["tag", "v1.4.0"]);
      const tagged = await describe();
      assert.equal(tagged, "v1.4.0");
      assert.match(untagged, /^[0-9a-f]{7,}$/);
      const a = await buildStamp(dir, "a", [`-ldflags=-X main.version=${untagged}`]);
      const b = await buildStamp(dir, "b", [`-ldflags=-X main.version=${tagged}`]);
      const r = await analyzeFiles(a, b);
      assert.equal(r.cause, "go-ldflags-x");
      assert.deepEqual(goDetail(r).stamps, [{
        symbol: "main.version",
        a: untagged,
        b: tagged,
        hint:
          "stamp the same commit with the same tags (git describe prints a tag, or a hash without one), or read the version from the build info (vcs.revision)",
      }]);
      assert.deepEqual(goDetail(r).buildInfo, [], "the same commit: equal vcs settings");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "analyzeContent: build paths only when they point at a build machine and differ or were not trimmed",
  ignore: GO === null,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-paths-" });
    try {
      for (const side of ["x", "y"]) await copyStamp(`${dir}/${side}/src`);
      await t.step(
        "-trimpath builds in two directories: the source's /home/user/x is no finding",
        async () => {
          const a = `${dir}/x/app`;
          const b = `${dir}/y/app`;
          await goBuild(`${dir}/x/src`, a, { flags: ["-trimpath", "-ldflags=-X main.version=1"] });
          await goBuild(`${dir}/y/src`, b, { flags: ["-trimpath", "-ldflags=-X main.version=2"] });
          using fa = await Deno.open(a);
          using fb = await Deno.open(b);
          const diff = await compareGoBinaries(
            fileRandomAccess(fa, (await fa.stat()).size),
            fileRandomAccess(fb, (await fb.stat()).size),
          );
          // The scanner sees the literal in both; the verdict leaves it out.
          for (const side of [diff.buildPaths.a, diff.buildPaths.b]) {
            assert.ok(side.paths?.some((p) => p.path === "/home/user/x"), JSON.stringify(side));
          }
          assert.deepEqual(diff.buildPathVerdict, { paths: [], reason: null });
          const r = goAnalysis(diff);
          assert.equal(r.cause, "go-ldflags-x");
          assert.deepEqual(goDetail(r).buildPaths, []);
        },
      );
      await t.step("without -trimpath: the build directories, not trimmed", async () => {
        const a = `${dir}/x/app`;
        const b = `${dir}/y/app`;
        await goBuild(`${dir}/x/src`, a);
        await goBuild(`${dir}/y/src`, b);
        const r = await analyzeFiles(a, b);
        assert.equal(r.cause, "build-paths");
        const paths = goDetail(r).buildPaths;
        assert.ok(paths.includes(`${dir}/x/src/main.go`), paths.join(", "));
        assert.ok(paths.includes(`${dir}/y/src/main.go`), paths.join(", "));
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("stampHint: a branch against a detached checkout is not a clock", () => {
  assert.match(
    stampHint("HEAD", "master"),
    /^a git branch name: a detached checkout stamps "HEAD"/,
  );
  assert.match(stampHint("20261207", "20261210"), /not the clock/);
});
