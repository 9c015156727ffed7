import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { ConfigError } from "../errors.ts";
import { baseDefaults, mergeRuntime, pickPlatform } from "./base_image.ts";

const amd64 = { os: "linux", architecture: "amd64" };
const index = {
  manifests: [
    { mediaType: "m", digest: "sha256:aa", size: 1, platform: amd64 },
    {
      mediaType: "m",
      digest: "sha256:bb",
      size: 2,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    },
    {
      mediaType: "m",
      digest: "sha256:cc",
      size: 3,
      platform: { os: "unknown", architecture: "unknown" },
    },
  ],
};

Deno.test("pickPlatform: the platform's manifest, arm64/v8 as arm64, a missing one named", () => {
  assertEquals(pickPlatform(index, amd64, "b")?.digest, "sha256:aa");
  assertEquals(
    pickPlatform(index, { os: "linux", architecture: "arm64" }, "b")?.digest,
    "sha256:bb",
  );
  assertEquals(pickPlatform({ layers: [] }, amd64, "b"), null);
  assertThrows(
    () => pickPlatform(index, { os: "linux", architecture: "arm", variant: "v7" }, "h/b@sha256:x"),
    ConfigError,
    'Cannot use base_image "h/b@sha256:x": it has no image for platform "linux/arm/v7" (it has "linux/amd64", "linux/arm64/v8")',
  );
});

Deno.test("mergeRuntime: the base's fields are defaults the config's own override", async (t) => {
  const base = baseDefaults({
    config: {
      Env: ["PATH=/bin", "A=base", "B=base"],
      User: "nobody",
      WorkingDir: "/srv",
      Entrypoint: ["/bin/sh"],
      Cmd: ["-c", "true"],
    },
  });
  const own = { Env: ["PATH=/usr/bin:/bin", "A=own"] };
  await t.step("nothing configured: the base's", () => {
    assertEquals(
      mergeRuntime(base, { Env: ["PATH=/usr/bin:/bin"] }, {
        env: {},
        entrypoint: false,
        cmd: false,
      }),
      {
        Cmd: ["-c", "true"],
        Entrypoint: ["/bin/sh"],
        Env: ["PATH=/bin", "A=base", "B=base"],
        User: "nobody",
        WorkingDir: "/srv",
      },
    );
  });
  await t.step(
    "configured: env by name, entrypoint drops the base's cmd, user and workdir win",
    () => {
      assertEquals(
        mergeRuntime(base, { ...own, Entrypoint: ["/app"], User: "1000", WorkingDir: "/app" }, {
          env: { A: "own", C: "new" },
          entrypoint: true,
          cmd: false,
        }),
        {
          Entrypoint: ["/app"],
          Env: ["PATH=/bin", "A=own", "B=base", "C=new"],
          User: "1000",
          WorkingDir: "/app",
        },
      );
    },
  );
  await t.step("a base without PATH gets r10e's", () => {
    assertEquals(
      mergeRuntime({}, { Env: ["PATH=/usr/bin:/bin"] }, { env: {}, entrypoint: false, cmd: false })
        .Env,
      ["PATH=/usr/bin:/bin"],
    );
  });
});
