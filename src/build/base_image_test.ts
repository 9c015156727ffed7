import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { ConfigError } from "../errors.ts";
import { baseDefaults, baseTree, mergeRuntime, pickPlatform } from "./base_image.ts";
import { gzipSync } from "node:zlib";
import { collectBytes, fileEntry } from "../../tests/_bytes.ts";
import { sha256Hex } from "../image/digest.ts";
import { MediaType } from "../image/writer.ts";
import { type TarEntry, writeTar } from "../tar/writer.ts";

const enc = new TextEncoder();
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

Deno.test("baseTree: what the layers leave, whiteouts applied, gzip or not", async () => {
  const tar = (entries: TarEntry[]) => collectBytes(writeTar(entries, { mtime: 0 }));
  const layer = (bytes: Uint8Array, gz: boolean) => {
    const blob = gz ? new Uint8Array(gzipSync(bytes)) : bytes;
    return {
      mediaType: gz ? MediaType.layerGzip : MediaType.layer,
      digest: `sha256:${sha256Hex(blob)}`,
      size: blob.length,
      diffId: `sha256:${sha256Hex(bytes)}`,
      read: async function* () {
        yield blob;
      },
    };
  };
  const lower = await tar([
    { name: "lib64", kind: "dir", mode: 0o755, size: 0 },
    fileEntry("lib64/ld-linux-x86-64.so.2", "ld"),
    { name: "old", kind: "dir", mode: 0o755, size: 0 },
    fileEntry("old/a", "a"),
    fileEntry("gone", "g"),
  ]);
  const upper = await tar([
    fileEntry(".wh.gone", ""),
    { name: "old", kind: "dir", mode: 0o755, size: 0 },
    fileEntry("old/.wh..wh..opq", ""),
    { name: "sh", kind: "symlink", mode: 0o777, size: 0, linkTarget: "busybox" },
  ]);
  const tree = await baseTree([layer(lower, true), layer(upper, false)]);
  assertEquals([...tree.keys()].sort(), ["/lib64/ld-linux-x86-64.so.2", "/sh"]);
  assertEquals(tree.get("/lib64/ld-linux-x86-64.so.2")?.sha256, sha256Hex(enc.encode("ld")));
  assertEquals(tree.get("/sh")?.kind, "symlink");
});
