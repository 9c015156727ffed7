import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { BuildFailed } from "../errors.ts";
import type { GoBuildInfo } from "../gobinary/go_binary.ts";
import {
  type ArtifactAudit,
  assertAudit,
  type AuditExpectations,
  checkBuildInfo,
  dynamicMismatches,
  prepareAudit,
} from "./audit.ts";

const REV = "0123456789abcdef0123456789abcdef01234567";

/** Build info as `go build` with r10e's environment writes it, with `settings` overridden. */
function info(overrides: Record<string, string | null> = {}, goVersion = "go1.26.8"): GoBuildInfo {
  const base: Record<string, string | null> = {
    "-buildmode": "exe",
    "-compiler": "gc",
    "-trimpath": "true",
    CGO_ENABLED: "0",
    GOARCH: "amd64",
    GOOS: "linux",
    vcs: "git",
    "vcs.revision": REV,
    "vcs.time": "2023-11-14T22:13:20Z",
    "vcs.modified": "false",
    ...overrides,
  };
  return {
    goVersion,
    path: "example.com/hello",
    main: { path: "example.com/hello", version: "(devel)", sum: "" },
    deps: [],
    settings: Object.entries(base).filter(([, v]) => v !== null).map(([key, value]) => ({
      key,
      value: value!,
    })),
  };
}

const HOST: AuditExpectations = {
  goVersion: "1.26.8",
  revision: REV,
  modified: false,
  mode: "host",
};

Deno.test("checkBuildInfo: each pinned field, expected and found", async (t) => {
  const cases: {
    name: string;
    info: GoBuildInfo;
    expect?: AuditExpectations;
    want: [string, string, string][];
  }[] = [
    { name: "a build with r10e's environment passes", info: info(), want: [] },
    {
      name: "another Go version",
      info: info({}, "go1.25.5"),
      want: [["Go version", "go1.26.8", "go1.25.5"]],
    },
    {
      name: "no -trimpath (GOFLAGS replaced)",
      info: info({ "-trimpath": null }),
      want: [["-trimpath", "true", "nothing (not recorded)"]],
    },
    {
      name: "-trimpath=false",
      info: info({ "-trimpath": "false" }),
      want: [["-trimpath", "true", "false"]],
    },
    { name: "cgo", info: info({ CGO_ENABLED: "1" }), want: [["CGO_ENABLED", "0", "1"]] },
    {
      name: '"cgo": true expects CGO_ENABLED=1',
      info: info({ CGO_ENABLED: "1" }),
      expect: { ...HOST, cgo: true },
      want: [],
    },
    {
      name: '"cgo": true and a binary built without cgo',
      info: info(),
      expect: { ...HOST, cgo: true },
      want: [["CGO_ENABLED", "1", "0"]],
    },
    {
      name: "no VCS stamp",
      info: info({ vcs: null, "vcs.revision": null, "vcs.time": null, "vcs.modified": null }),
      want: [["vcs.revision", REV, "nothing (no VCS stamp)"]],
    },
    {
      name: "another commit",
      info: info({ "vcs.revision": "f".repeat(40) }),
      want: [["vcs.revision", REV, "f".repeat(40)]],
    },
    {
      name: "dirty binary from a clean tree",
      info: info({ "vcs.modified": "true" }),
      want: [["vcs.modified", "false", "true"]],
    },
    {
      name: "dirty tree, dirty binary",
      info: info({ "vcs.modified": "true" }),
      expect: { ...HOST, modified: true },
      want: [],
    },
    {
      name: "outside git: vcs is not checked",
      info: info({ vcs: null, "vcs.revision": null, "vcs.modified": null }),
      expect: { ...HOST, revision: null, modified: null },
      want: [],
    },
    {
      name: "everything wrong at once: every field reported",
      info: info({ "-trimpath": null, CGO_ENABLED: "1", "vcs.revision": null }, "go1.21.13"),
      want: [
        ["Go version", "go1.26.8", "go1.21.13"],
        ["CGO_ENABLED", "0", "1"],
        ["-trimpath", "true", "nothing (not recorded)"],
        ["vcs.revision", REV, "nothing (no VCS stamp)"],
      ],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { mismatches } = checkBuildInfo(c.info, c.expect ?? HOST);
      assertEquals(mismatches.map((m) => [m.field, m.expected, m.found]), c.want);
    });
  }
});

Deno.test("checkBuildInfo: the likely cause depends on the field and the mode", async (t) => {
  await t.step("Go version: GOTOOLCHAIN or another go", () => {
    const [m] = checkBuildInfo(info({}, "go1.25.5"), HOST).mismatches;
    assertEquals(m.cause.includes("sets its own GOTOOLCHAIN or runs another `go`"), true, m.cause);
  });
  await t.step("-trimpath: GOFLAGS", () => {
    const [m] = checkBuildInfo(info({ "-trimpath": null }), HOST).mismatches;
    assertEquals(m.cause.includes("sets its own GOFLAGS"), true, m.cause);
  });
  await t.step("no VCS stamp in docker mode: a builder without git", () => {
    const [m] = checkBuildInfo(info({ "vcs.revision": null }), { ...HOST, mode: "docker" })
      .mismatches;
    assertEquals(m.cause.includes("the builder image has no git"), true, m.cause);
  });
  await t.step("no VCS stamp on the host: -buildvcs=false", () => {
    const [m] = checkBuildInfo(info({ "vcs.revision": null }), HOST).mismatches;
    assertEquals(m.cause.includes("-buildvcs=false"), true, m.cause);
  });
  await t.step("a binary installed from a module version: vcs not checked, said so", () => {
    const i = info({ "vcs.revision": null });
    i.main = { path: "golang.org/x/tools/gopls", version: "v0.20.0", sum: "h1:x" };
    const r = checkBuildInfo(i, HOST);
    assertEquals(r.mismatches, []);
    assertEquals(r.notes, [
      "vcs not checked: built from the module golang.org/x/tools/gopls@v0.20.0, not from the project's commit",
    ]);
  });
});

Deno.test("assertAudit: one line per mismatch naming the artifact; not checked files pass", () => {
  const audits: ArtifactAudit[] = [
    {
      src: "build/a",
      dest: "/app/a",
      status: "checked",
      goVersion: "go1.26.8",
      mismatches: [],
      notes: [],
    },
    { src: "build/a.darwin", dest: "/app/a.darwin", status: "not checked", reason: "Mach-O" },
  ];
  assertAudit(audits);
  audits.push({
    src: "build/b",
    dest: "/app/b",
    status: "checked",
    goVersion: "go1.25.5",
    ...checkBuildInfo(info({ "-trimpath": null }, "go1.25.5"), HOST),
  });
  const e = assertThrows(() => assertAudit(audits), BuildFailed);
  const lines = e.message.split("\n");
  assertEquals(
    lines[0],
    "The artifacts are not what the pinned build makes, so no image was written:",
  );
  assertEquals(lines.length, 3);
  assertEquals(
    lines[1].startsWith(
      '  /app/b ("build/b"): Go version: expected "go1.26.8", found "go1.25.5": ',
    ),
    true,
    lines[1],
  );
  assertEquals(
    lines[2].startsWith(
      '  /app/b ("build/b"): -trimpath: expected "true", found nothing (not recorded): ',
    ),
    true,
    lines[2],
  );
});

Deno.test("dynamicMismatches: a loader or libraries the image lacks, with the fix", () => {
  const pie = { interpreter: "/lib64/ld-linux-x86-64.so.2", needed: [] };
  const [m] = dynamicMismatches(pie, ["/app/server"], "pie");
  assertEquals(m.field, "program interpreter (PT_INTERP)");
  assertEquals(m.found, "/lib64/ld-linux-x86-64.so.2");
  assertEquals(m.cause.includes("build with -buildmode=exe"), true);
  // Provided by the image (extern_data): fine.
  assertEquals(dynamicMismatches(pie, ["/lib64/ld-linux-x86-64.so.2"], "pie"), []);
  // Through the image's symlinks (a merged-/usr base's /lib64 → usr/lib64): fine.
  const resolves = (p: string) => p === "/lib64/ld-linux-x86-64.so.2";
  assertEquals(dynamicMismatches(pie, ["/usr/lib64/ld-linux-x86-64.so.2"], "pie", resolves), []);
  assertEquals(
    dynamicMismatches(pie, [], "pie", () => false).map((m) => m.field),
    ["program interpreter (PT_INTERP)"],
  );
  const c = { interpreter: null, needed: ["libc.so.6", "libz.so.1"] };
  const [libs] = dynamicMismatches(c, ["/usr/lib/x86_64-linux-gnu/libz.so.1"], undefined);
  assertEquals([libs.field, libs.found], ["shared libraries (DT_NEEDED)", "libc.so.6"]);
  assertEquals(dynamicMismatches({ interpreter: null, needed: [] }, [], "exe"), []);
});

Deno.test("prepareAudit: skip is an option, not the environment; skipped, nothing is read", async () => {
  const lines: string[] = [];
  const skipped = await prepareAudit({
    root: "/nonexistent-r10e-root",
    goVersion: "1.26.8",
    mode: "host",
    skip: true,
    onProgress: (l) => lines.push(l),
  });
  // An artifact that does not exist: a real audit would fail on it.
  const artifacts = [{ src: "missing", dest: "/app" }];
  assertEquals(await skipped.check("/nonexistent-r10e-root", artifacts), null);
  assertEquals(lines, []);
});
