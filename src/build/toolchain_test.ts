import assert from "node:assert/strict";
import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import {
  buildEnv,
  goModDisagreements,
  parseSourceDateEpoch,
  vendorByDefault,
} from "./toolchain.ts";
import { parseGoModVersions } from "../project/go_mod.ts";

Deno.test('buildEnv: "cgo": true sets CGO_ENABLED=1, else 0 whatever the host says', () => {
  const input = {
    host: { PATH: "/bin", CGO_ENABLED: "1" },
    goVersion: "1.26.8",
    platform: "linux/amd64",
    sourceDateEpoch: 0,
  };
  assertEquals(buildEnv(input).CGO_ENABLED, "0");
  assertEquals(buildEnv({ ...input, cgo: false }).CGO_ENABLED, "0");
  assertEquals(buildEnv({ ...input, host: { PATH: "/bin" }, cgo: true }).CGO_ENABLED, "1");
});

Deno.test("buildEnv: only pass-through variables of the host; Go settings fixed", () => {
  const env = buildEnv({
    host: {
      PATH: "/bin",
      HOME: "/h",
      GOFLAGS: "-ldflags=-X=a",
      CGO_ENABLED: "1",
      GOOS: "darwin",
      SECRET: "x",
      TZ: "Asia/Tokyo",
      LANG: "de_DE.UTF-8",
    },
    goVersion: "1.26.8",
    platform: "linux/arm64",
    sourceDateEpoch: 42,
  });
  assertEquals(env.SECRET, undefined);
  assertEquals(
    [
      env.PATH,
      env.HOME,
      env.GOENV,
      env.GOTOOLCHAIN,
      env.GOFLAGS,
      env.CGO_ENABLED,
      env.GOOS,
      env.GOARCH,
      env.SOURCE_DATE_EPOCH,
      env.TZ,
      env.LC_ALL,
      env.LANG,
    ],
    [
      "/bin",
      "/h",
      "off",
      "go1.26.8",
      "-trimpath -mod=readonly",
      "0",
      "linux",
      "arm64",
      "42",
      "UTC",
      "C",
      "C",
    ],
  );
});

Deno.test("parseSourceDateEpoch", () => {
  assertEquals(parseSourceDateEpoch("1700000000"), 1700000000);
  assertThrows(
    () => parseSourceDateEpoch("yesterday"),
    RangeError,
    'SOURCE_DATE_EPOCH must be a whole number of seconds since 1970 (at most 11 digits), found "yesterday"',
  );
  assertThrows(() => parseSourceDateEpoch("-1"), RangeError);
  assertThrows(() => parseSourceDateEpoch("1.5"), RangeError);
});

Deno.test("go.mod: go and toolchain lines against the pin, and vendor/ as go build's default", () => {
  const mod = parseGoModVersions(
    "module example.com/x // go 1.99 in a comment\n\ngo 1.25.0\n\ntoolchain go1.25.3\n",
  );
  assert.deepEqual(mod, { go: "1.25.0", toolchain: "1.25.3" });
  assert.deepEqual(goModDisagreements(mod, "1.25.3", "go.mod"), []);
  const [toolchain] = goModDisagreements(mod, "1.26.8", "go.mod");
  assert.equal(
    toolchain,
    '"go.mod" says "toolchain go1.25.3", but r10e builds with the pinned Go 1.26.8 (GOTOOLCHAIN ' +
      'overrides the line); to build with the project\'s toolchain, set "go_version": "1.25.3" ' +
      "in config.json and run `r10e init`",
  );
  const [newer] = goModDisagreements({ go: "1.27", toolchain: null }, "1.26.8", "go.mod");
  assert.match(newer, /says "go 1\.27", newer than the pinned Go 1\.26\.8: the build will fail/);
  assert.deepEqual(goModDisagreements({ go: "1.26", toolchain: null }, "1.26.8", "go.mod"), []);
  const yes = { modulesTxt: true, goWork: false };
  assert.equal(vendorByDefault({ go: "1.14", toolchain: null }, yes), true);
  assert.equal(vendorByDefault({ go: "1.13", toolchain: null }, yes), false);
  assert.equal(vendorByDefault({ go: "1.22", toolchain: null }, { ...yes, goWork: true }), false);
  assert.equal(
    vendorByDefault({ go: "1.22", toolchain: null }, { ...yes, modulesTxt: false }),
    false,
  );
  assert.equal(
    buildEnv({
      host: {},
      goVersion: "1.26.8",
      platform: "linux/amd64",
      sourceDateEpoch: 0,
      mod: "vendor",
    })
      .GOFLAGS,
    "-trimpath -mod=vendor",
  );
});
