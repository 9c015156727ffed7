import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { type GoBuildInfo, parseGoModInfo } from "../gobinary/go_binary.ts";
import { compareSemver, goModuleFindings, moduleChange } from "./sbom_diff.ts";
import { explain } from "./explain.ts";
import { formatReport } from "./report.ts";
import { summarize } from "./causes.ts";
import type { Finding, Report } from "./findings.ts";

const SUM_A = "h1:vV+1eWNmZ5geRlYjzm2adRgW2/mcpevXNg50YZtPCE4=";
const SUM_B = "h1:e0PTpb7pjO8GAtTs2dQ6jYa5BWYlMuX047Dco/pItO4=";
const SUM_U = "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=";

/** Build info as `go version -m` lists it (tab-separated lines), read by the one parser. */
function info(goVersion: string, lines: string[]): GoBuildInfo {
  return { goVersion, ...parseGoModInfo(lines.join("\n") + "\n") };
}

const BASE = [
  "path\texample.com/app",
  "mod\texample.com/app\t(devel)\t",
  `dep\tgithub.com/google/uuid\tv1.6.0\t${SUM_U}`,
  `dep\tgolang.org/x/sync\tv0.19.0\t${SUM_A}`,
  "build\t-buildmode=exe",
  "build\t-trimpath=true",
  "build\tCGO_ENABLED=0",
  "build\tGOAMD64=v1",
  "build\tvcs=git",
  "build\tvcs.revision=1111111111111111111111111111111111111111",
  "build\tvcs.modified=false",
];

function with_(lines: string[], from: string | RegExp, to: string | null): string[] {
  const i = lines.findIndex((l) => (typeof from === "string" ? l === from : from.test(l)));
  ok(i >= 0, String(from));
  const out = [...lines];
  if (to === null) out.splice(i, 1);
  else out[i] = to;
  return out;
}

function diff(a: string[], b: string[], goA = "go1.26.8", goB = "go1.26.8") {
  return goModuleFindings([{ layer: 2, path: "app/server", a: info(goA, a), b: info(goB, b) }])
    .map((f) => ({ field: f.field, a: f.a, b: f.b, cause: f.cause, detail: f.detail }));
}

Deno.test("goModuleFindings: each kind of Go module difference, named with both sides", async (t) => {
  await t.step("the same build info: nothing", () => {
    assertEquals(diff(BASE, [...BASE]), []);
  });
  await t.step("a bump: both versions and sums", () => {
    const b = with_(BASE, /x\/sync/, `dep\tgolang.org/x/sync\tv0.20.0\t${SUM_B}`);
    assertEquals(diff(BASE, b), [{
      field: "go dependency golang.org/x/sync",
      a: "v0.19.0",
      b: "v0.20.0",
      cause: "go-dependency",
      detail: {
        kind: "go-module",
        module: "golang.org/x/sync",
        change: "upgraded",
        a: { version: "v0.19.0", sum: SUM_A },
        b: { version: "v0.20.0", sum: SUM_B },
      },
    }]);
    assertEquals(diff(b, BASE)[0].detail?.kind === "go-module" && diff(b, BASE)[0].detail, {
      kind: "go-module",
      module: "golang.org/x/sync",
      change: "downgraded",
      a: { version: "v0.20.0", sum: SUM_B },
      b: { version: "v0.19.0", sum: SUM_A },
    });
  });
  await t.step("added and removed", () => {
    const b = with_(BASE, /google\/uuid/, null);
    assertEquals(diff(BASE, b).map((f) => [f.field, f.a, f.b]), [
      ["go dependency github.com/google/uuid", "v1.6.0", null],
    ]);
    assertEquals(
      diff(b, BASE).map((
        f,
      ) => [f.field, f.a, f.b, f.detail?.kind === "go-module" && f.detail.change]),
      [
        ["go dependency github.com/google/uuid", null, "v1.6.0", "added"],
      ],
    );
  });
  await t.step("the same version with another h1: sum", () => {
    const b = with_(BASE, /x\/sync/, `dep\tgolang.org/x/sync\tv0.19.0\t${SUM_B}`);
    const [f] = goModuleFindings([{
      layer: 0,
      path: "app/server",
      a: info("go1", BASE),
      b: info("go1", b),
    }]);
    assertEquals([f.field, f.a, f.b], [
      "go dependency golang.org/x/sync",
      `v0.19.0 ${SUM_A}`,
      `v0.19.0 ${SUM_B}`,
    ]);
    ok(f.causeText.includes("another h1: sum"), f.causeText);
    ok(f.hint.includes("checksum database"), f.hint);
  });
  await t.step("a replace added, changed to another version, and to a directory", () => {
    const fork = [
      ...with_(BASE, /x\/sync/, `dep\tgolang.org/x/sync\tv0.19.0\t`),
      "=>\texample.com/fork/sync\tv0.19.1\th1:forkforkforkforkforkforkforkforkforkforkfor=",
    ].filter((l) => !l.startsWith("build"));
    const base = BASE.filter((l) => !l.startsWith("build"));
    assertEquals(
      diff(base, fork).map((f) => [f.a, f.b, f.detail?.kind === "go-module" && f.detail.change]),
      [
        ["v0.19.0", "v0.19.0 => example.com/fork/sync v0.19.1", "replace"],
      ],
    );
    const fork2 = fork.map((l) => l.replace("v0.19.1", "v0.19.2"));
    assertEquals(diff(fork, fork2).map((f) => [f.a, f.b]), [[
      "v0.19.0 => example.com/fork/sync v0.19.1",
      "v0.19.0 => example.com/fork/sync v0.19.2",
    ]]);
    const local = [
      ...with_(base, /x\/sync/, "dep\tgolang.org/x/sync\tv0.19.0\t"),
      "=>\t../sync\t\t",
    ];
    assertEquals(diff(base, local).map((f) => [f.a, f.b]), [["v0.19.0", "v0.19.0 => ../sync"]]);
    // Both replaced by the same directory, the required version bumped: an upgrade.
    const local2 = local.map((l) => l.replace("v0.19.0", "v0.20.0"));
    assertEquals(
      diff(local, local2).map((f) => [f.a, f.b, f.detail?.kind === "go-module" && f.detail.change]),
      [
        ["v0.19.0 => ../sync", "v0.20.0 => ../sync", "upgraded"],
      ],
    );
  });
  await t.step("the toolchain, the main module, vcs and build settings", () => {
    const b = with_(
      with_(
        with_(BASE, "build\tvcs.modified=false", "build\tvcs.modified=true"),
        "build\tGOAMD64=v1",
        "build\tGOAMD64=v3",
      ),
      "build\t-buildmode=exe",
      'build\t-buildmode=exe\nbuild\t-ldflags="-X main.version=1"',
    );
    const got = goModuleFindings([{
      layer: 2,
      path: "app/server",
      a: info("go1.26.7", BASE),
      b: info("go1.26.8", b.join("\n").split("\n")),
    }]);
    assertEquals(got.map((f) => [f.cause, f.field, f.a, f.b]), [
      ["go-toolchain", "go toolchain", "go1.26.7", "go1.26.8"],
      ["go-main-module", "go vcs.modified", "false", "true"],
      ["go-build-setting", "go build -ldflags", null, "-X main.version=1"],
      ["go-build-setting", "go build GOAMD64", "v1", "v3"],
    ]);
    assertEquals(got.map((f) => f.hint), [
      "pin go_version (GOTOOLCHAIN=go<X.Y.Z>)",
      "commit before building (vcs.modified=true: the tree had changes)",
      "use the same -ldflags, without build-time values",
      "pin GOAMD64",
    ]);
    for (const f of got) assertEquals([f.scope, f.layer, f.path], ["file", 2, "app/server"]);
  });
  await t.step("the main module's version and revision", () => {
    const b = with_(
      with_(BASE, "mod\texample.com/app\t(devel)\t", "mod\texample.com/app\tv1.2.0\t"),
      /vcs.revision/,
      "build\tvcs.revision=2222222222222222222222222222222222222222",
    );
    assertEquals(diff(BASE, b).map((f) => [f.field, f.a, f.b]), [
      ["go main module", "example.com/app (devel)", "example.com/app v1.2.0"],
      ["go vcs.revision", "1".repeat(40), "2".repeat(40)],
    ]);
  });
});

Deno.test("compareSemver orders module versions as Go does", () => {
  const sorted = [
    "v0.0.0-20170915032832-14c0d48ead0c",
    "v0.1.0-rc.1",
    "v0.1.0-rc.2",
    "v0.1.0-rc.10",
    "v0.1.0",
    "v0.2.0",
    "v0.10.0",
    "v1.0.0-20200101000000-abcdefabcdef",
    "v1.0.0",
    "v2.0.0+incompatible",
  ];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = 0; j < sorted.length; j++) {
      assertEquals(
        Math.sign(compareSemver(sorted[i], sorted[j])),
        Math.sign(i - j),
        `${sorted[i]} ${sorted[j]}`,
      );
    }
  }
  assertEquals(
    moduleChange({ version: "v1.10.0", sum: "" }, { version: "v1.9.0", sum: "" }),
    "downgraded",
  );
});

Deno.test("module findings come first in the summary, the causes and the human report", () => {
  const b = with_(BASE, /x\/sync/, `dep\tgolang.org/x/sync\tv0.20.0\t${SUM_B}`);
  const modules = goModuleFindings([{
    layer: 0,
    path: "app/server",
    a: info("go1", BASE),
    b: info("go1", b),
  }]);
  const bytes: Finding[] = ["a", "b", "c"].map((x) => ({
    scope: "file",
    layer: 0,
    path: `etc/${x}`,
    field: "mtime",
    a: "1970-01-01T00:00:00Z",
    b: "2024-01-01T00:00:00Z",
    cause: "timestamps",
    causeText: "",
    hint: "",
  }));
  const explained = explain([...modules, ...bytes], { a: {}, b: {} });
  assertEquals(explained.causes.map((c) => c.cause), ["go-dependency", "timestamps"]);
  assertEquals(
    explained.causes[0].text,
    "Go dependencies differ: golang.org/x/sync: v0.19.0 → v0.20.0 (upgraded, in /app/server)",
  );
  const summary = summarize(explained.findings, 0);
  assertEquals(summary, "differ: 4 findings: go-dependency (1), timestamps (3)");
  const info0 = {
    input: "a",
    format: "oci",
    compression: "gzip",
    archiveSha256: "",
    platform: "linux/amd64",
    manifestDigest: "",
    imageId: "",
    layers: 1,
    files: 3,
  };
  const report: Report = {
    schemaVersion: 1,
    identical: false,
    identity: { level: "manifest", equal: false, a: "", b: "" },
    summary,
    a: info0,
    b: { ...info0, input: "b" },
    findings: explained.findings,
    consequences: [],
    notes: [],
    ignored: { count: 0, byCause: {} },
    causes: explained.causes,
    builders: explained.builders,
  };
  const lines = formatReport(report).split("\n");
  const at = lines.indexOf("Go modules (what the bytes below follow from)");
  assertEquals(lines.slice(at, at + 4), [
    "Go modules (what the bytes below follow from)",
    "  /app/server",
    "    golang.org/x/sync: v0.19.0 → v0.20.0 (upgraded) [go-dependency]",
    `      sums: ${SUM_A} → ${SUM_B}`,
  ]);
  ok(lines.indexOf("Layer 0") > at, lines.join("\n"));
  // Named in its cause line and its module line, not again among the layer's files.
  assertEquals(lines.filter((l) => l.includes("golang.org/x/sync")).length, 2);
});
