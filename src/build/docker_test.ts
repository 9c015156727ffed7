import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { ConfigError } from "../errors.ts";
import {
  type BuilderInputs,
  checkBuilder,
  containerHostEnv,
  createArgs,
  dockerfileBuilderImage,
  engineIsLocal,
  parseImageRef,
  pathsToCopy,
  platformLoop,
  repositoryOf,
} from "./docker.ts";
import { buildEnv } from "./toolchain.ts";

const A = "sha256:" + "a".repeat(64);
const B = "sha256:" + "b".repeat(64);

Deno.test("parseImageRef: name and digest", async (t) => {
  await t.step(
    "pinned",
    () => assertEquals(parseImageRef(`golang:1.26.8@${A}`), { name: "golang:1.26.8", digest: A }),
  );
  await t.step(
    "registry with port",
    () =>
      assertEquals(parseImageRef(`127.0.0.1:5555/go@${A}`), {
        name: "127.0.0.1:5555/go",
        digest: A,
      }),
  );
  await t.step(
    "unpinned",
    () => assertEquals(parseImageRef("golang:1.26.8"), { name: "golang:1.26.8", digest: null }),
  );
  await t.step("malformed digest", () =>
    void assertThrows(
      () => parseImageRef("golang@sha256:abc"),
      RangeError,
      'expected an image reference like "golang:1.26.8@sha256:<64 hex digits>", found "golang@sha256:abc"',
    ));
  await t.step("empty", () => void assertThrows(() => parseImageRef(" "), RangeError, "empty"));
});

Deno.test("repositoryOf: drops the tag, keeps a registry port", () => {
  assertEquals(repositoryOf("golang:1.26.8"), "golang");
  assertEquals(repositoryOf("127.0.0.1:5555/team/go:1"), "127.0.0.1:5555/team/go");
  assertEquals(repositoryOf("127.0.0.1:5555/team/go"), "127.0.0.1:5555/team/go");
});

Deno.test("dockerfileBuilderImage: the builder stage's FROM", async (t) => {
  await t.step("named stage among others", () =>
    assertEquals(
      dockerfileBuilderImage(
        `# c\nFROM alpine AS tools\nFROM --platform=linux/amd64 go@${A} as Builder\nFROM scratch AS context\n`,
        "Dockerfile",
      ),
      `go@${A}`,
    ));
  await t.step(
    "first stage when none is named builder",
    () => assertEquals(dockerfileBuilderImage("FROM go:1 AS x\nFROM y\n", "Dockerfile"), "go:1"),
  );
  await t.step(
    "line continuation",
    () =>
      assertEquals(dockerfileBuilderImage("FROM \\\n  go:1 AS builder\n", "Dockerfile"), "go:1"),
  );
  await t.step("no FROM", () =>
    void assertThrows(
      () => dockerfileBuilderImage("# nothing\n", "r10e-docker/Dockerfile"),
      ConfigError,
      'Cannot build --in docker: "r10e-docker/Dockerfile" has no FROM line; run `r10e init` to write it again',
    ));
});

Deno.test("checkBuilder: pinned, drifted, unpinned", async (t) => {
  const base: BuilderInputs = {
    pinned: `go@${A}`,
    dockerfile: `go@${A}`,
    pinsFile: "r10e-docker/pins.json",
    dockerfileFile: "r10e-docker/Dockerfile",
    configFile: "config.json",
  };
  await t.step("agreeing pins", () => assertEquals(checkBuilder(base), `go@${A}`));
  await t.step("config naming the same image, with or without the digest", () => {
    assertEquals(checkBuilder({ ...base, configured: "go" }), `go@${A}`);
    assertEquals(checkBuilder({ ...base, configured: `go@${A}` }), `go@${A}`);
  });
  await t.step("digest changed in the recorded inputs: both digests named", () =>
    void assertThrows(
      () => checkBuilder({ ...base, pinned: `go@${B}` }),
      ConfigError,
      `the builder image digest changed: "r10e-docker/pins.json" records ${B} (expected) but "r10e-docker/Dockerfile" has ${A} (found)`,
    ));
  await t.step("digest removed from the Dockerfile", () =>
    void assertThrows(
      () => checkBuilder({ ...base, dockerfile: "go" }),
      ConfigError,
      `"r10e-docker/pins.json" records ${A} (expected) but "r10e-docker/Dockerfile" has none (not pinned) (found)`,
    ));
  await t.step("image renamed", () =>
    void assertThrows(
      () => checkBuilder({ ...base, dockerfile: `other@${A}` }),
      ConfigError,
      'the builder image changed: "r10e-docker/pins.json" records "go" (expected) but "r10e-docker/Dockerfile" has "other" (found)',
    ));
  await t.step("config asks for another image", () =>
    void assertThrows(
      () => checkBuilder({ ...base, configured: "mirror.example/go" }),
      ConfigError,
      '"config.json" asks for builder_image "mirror.example/go" but r10e-docker/ was written for "go"',
    ));
  await t.step("config asks for another digest", () =>
    void assertThrows(
      () => checkBuilder({ ...base, configured: `go@${B}` }),
      ConfigError,
      `"config.json" asks for ${B} (expected) but r10e-docker/ records ${A} (found)`,
    ));
  await t.step("unpinned is refused", () =>
    void assertThrows(
      () => checkBuilder({ ...base, pinned: null, dockerfile: "golang:1.26.8" }),
      ConfigError,
      'Cannot build --in docker: the builder image "golang:1.26.8" is not pinned by digest ("r10e-docker/pins.json" records none); run `r10e init` where a Docker engine can pull it, or pass --allow-unpinned',
    ));
  await t.step("unpinned is allowed with --allow-unpinned", () =>
    assertEquals(
      checkBuilder({ ...base, pinned: null, dockerfile: "golang:1.26.8", allowUnpinned: true }),
      "golang:1.26.8",
    ));
  await t.step("every problem in one error", () => {
    const e = assertThrows(
      () => checkBuilder({ ...base, pinned: `go@${B}`, configured: "x" }),
      ConfigError,
    );
    assertEquals(e.message.split("; ").length, 2);
  });
});

Deno.test("containerHostEnv: image PATH/HOME, caches in the volume, only module access from the host", () => {
  const env = containerHostEnv(
    {
      PATH: "/host/bin",
      HOME: "/home/me",
      GOCACHE: "/home/me/.cache/go-build",
      GOPROXY: "https://proxy.example",
      GOPRIVATE: "example.com/*",
      SSH_AUTH_SOCK: "/tmp/agent",
      HTTPS_PROXY: "http://proxy:3128",
    },
    ["PATH=/usr/local/go/bin:/bin", "GOPATH=/go", "GOLANG_VERSION=1.26.8", "HOME=/root"],
  );
  assertEquals(env, {
    PATH: "/usr/local/go/bin:/bin",
    HOME: "/root",
    GOCACHE: "/r10e-cache/go-build",
    GOMODCACHE: "/r10e-cache/mod",
    GOPATH: "/go",
    GOPROXY: "https://proxy.example",
    GOPRIVATE: "example.com/*",
    HTTPS_PROXY: "http://proxy:3128",
  });
});

Deno.test("createArgs: sorted env, cache volume, network, build_cmd through sh with umask 022", () => {
  assertEquals(
    createArgs({
      name: "r10e-build-x",
      image: "sha256:1",
      env: { TZ: "UTC", GOFLAGS: "-trimpath -mod=readonly" },
      network: "none",
      command: "go build -o build/app .",
    }),
    [
      "create",
      "--name",
      "r10e-build-x",
      "--network",
      "none",
      "--workdir",
      "/src",
      "--volume",
      "r10e-go-cache:/r10e-cache",
      "--env",
      "GOFLAGS=-trimpath -mod=readonly",
      "--env",
      "R10E_BUILD_CMD=go build -o build/app .",
      "--env",
      "TZ=UTC",
      "--entrypoint",
      "/bin/sh",
      "sha256:1",
      "-c",
      'umask 022 && eval "$R10E_BUILD_CMD"',
    ],
  );
});

Deno.test("pathsToCopy: normalized, deduplicated, sorted, none inside another", () => {
  assertEquals(pathsToCopy(["build/app", "./data/", "LICENSE", "data", "build/app"]), [
    "LICENSE",
    "build/app",
    "data",
  ]);
  assertEquals(pathsToCopy(["data/x", "data", "data2/y", "build/a", "build/ab"]), [
    "build/a",
    "build/ab",
    "data",
    "data2/y",
  ]);
});

Deno.test("createArgs: the host's module cache, read-only, with GOPROXY=off", () => {
  const args = createArgs({
    name: "r10e-build-x",
    image: "sha256:1",
    env: { GOMODCACHE: "/r10e-cache/mod", GOPROXY: "https://proxy.golang.org" },
    network: "none",
    command: "go build .",
    modCache: "/home/u/go/pkg/mod",
  });
  const pairs = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
  assertEquals(pairs("--volume"), [
    "r10e-go-cache:/r10e-cache",
    "/home/u/go/pkg/mod:/r10e-modcache:ro",
  ]);
  assertEquals(pairs("--env").filter((e) => /^GO(MODCACHE|PROXY)=/.test(e)), [
    "GOMODCACHE=/r10e-modcache",
    "GOPROXY=off",
  ]);
});

Deno.test("engineIsLocal: a bind mount reaches only an engine on this machine", () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, true],
    ["unix:///tmp/r10e-dockerd/docker.sock", true],
    ["tcp://127.0.0.1:2375", true],
    ["tcp://localhost:2376", true],
    ["tcp://[::1]:2375", true],
    ["tcp://build.example.com:2376", false],
    ["ssh://user@build.example.com", false],
  ];
  assertEquals(cases.map(([h]) => [h, engineIsLocal(h)]), cases);
});

Deno.test("platformLoop: build_cmd once per platform in one shell, the first failure ends it with its code", async () => {
  const runs = ["linux/amd64", "linux/arm/v7", "linux/arm64"].map((platform) => ({
    platform,
    env: buildEnv({ host: {}, goVersion: "1.26.8", platform, sourceDateEpoch: 0 }),
  }));
  const sh = async (command: string) => {
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", platformLoop(runs)],
      env: { ...runs[0].env, R10E_BUILD_CMD: command },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const ok = await sh(`echo "$GOOS $GOARCH $GOARM $R10E_OS/$R10E_ARCH/$R10E_VARIANT it's"`);
  assertEquals(ok.code, 0);
  assertEquals(ok.stdout.split("\n"), [
    "linux amd64 7 linux/amd64/ it's",
    "linux arm 7 linux/arm/v7 it's",
    "linux arm64 7 linux/arm64/ it's",
    "",
  ]);
  assertEquals(ok.stderr.split("\n").slice(0, 3), [
    "r10e: build_cmd for linux/amd64",
    "r10e: build_cmd for linux/arm/v7",
    "r10e: build_cmd for linux/arm64",
  ]);
  const failed = await sh(`echo "$R10E_ARCH"; [ "$R10E_ARCH" != arm ] || exit 3`);
  assertEquals([failed.code, failed.stdout], [3, "amd64\narm\n"]);
});
