import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { analyzeContent, buildInfoHint, goAnalysis } from "./content.ts";
import { bytesRandomAccess } from "../gobinary/random_access.ts";
import type { GoBinaryDiff } from "../gobinary/go_binary.ts";

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
    assertEquals(goAnalysis(goDiff({ buildPaths: { a: leak, b: leak } })).cause, "build-paths");
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
