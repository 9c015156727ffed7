import assert from "node:assert/strict";
import { scanLeaks, scriptsNamed } from "./leaks.ts";

Deno.test("scanLeaks: the clock and the host in build_cmd and its scripts, each line named", () => {
  const warnings = scanLeaks('go build -ldflags "-X main.date=$(date +%Y%m%d-%H:%M:%S)" .', [
    {
      path: "Makefile",
      text: [
        "# date is fine in a comment",
        "BUILD_DATE := $(shell date +%FT%T%z)",
        "USER_NAME := `whoami`",
        'go build -ldflags "-X main.builtBy=$USER -X main.kernel=$(uname -r)"',
        "HOST := $(shell hostname)",
        "ID := $$RANDOM-$(shell uuidgen)",
        "export GOTOOLCHAIN=go1.25.0",
        "STAMP := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%F)",
        "BuildDate and update and --date=iso are not it",
      ].join("\n"),
    },
  ]);
  assert.deepEqual(warnings.map((w) => w.slice(0, w.lastIndexOf('": ') + 2)), [
    'build_cmd reads the clock (date): "go build -ldflags "-X main.date=$(date +%Y%m%d-%H:%M:%S)" .":',
    'Makefile:2 reads the clock (date): "BUILD_DATE := $(shell date +%FT%T%z)":',
    'Makefile:3 reads the user name (whoami, $USER): "USER_NAME := `whoami`":',
    'Makefile:4 reads the user name (whoami, $USER): "go build -ldflags "-X main.builtBy=$USER -X main.kernel=$(uname -r)"":',
    'Makefile:4 reads the kernel (uname): "go build -ldflags "-X main.builtBy=$USER -X main.kernel=$(uname -r)"":',
    'Makefile:5 reads the host name (hostname): "HOST := $(shell hostname)":',
    'Makefile:6 uses $RANDOM: "ID := $$RANDOM-$(shell uuidgen)":',
    'Makefile:6 makes a random UUID (uuidgen): "ID := $$RANDOM-$(shell uuidgen)":',
    'Makefile:7 sets GOTOOLCHAIN: "export GOTOOLCHAIN=go1.25.0":',
  ]);
  assert.match(warnings[0], /SOURCE_DATE_EPOCH/);
  assert.deepEqual(scanLeaks("go build -o build/app .", []), []);
});

Deno.test("scriptsNamed: paths build_cmd runs, and the Makefile for make", () => {
  const files = new Set(["build.sh", "scripts/release.sh", "Makefile", "other.mk"]);
  assert.deepEqual(scriptsNamed("./build.sh && sh scripts/release.sh", files), [
    "build.sh",
    "scripts/release.sh",
  ]);
  assert.deepEqual(scriptsNamed("make build", files), ["Makefile"]);
  assert.deepEqual(scriptsNamed("make -f other.mk", files), ["other.mk"]);
  assert.deepEqual(scriptsNamed("go build .", files), []);
});
