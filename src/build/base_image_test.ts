import { assertEquals, assertRejects, assertThrows } from "../../tests/_assert.ts";
import { ConfigError } from "../errors.ts";
import {
  baseDefaults,
  type BaseEntry,
  baseTree,
  checkBaseImagePin,
  effectiveBaseImage,
  loadBaseImage,
  mergeRuntime,
  pickPlatform,
  resolveInTree,
  scanIndex,
} from "./base_image.ts";
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

Deno.test("scanIndex: an index in an index is listed to look into, not taken for a platform", () => {
  const nested = {
    mediaType: "application/vnd.oci.image.index.v1+json",
    digest: "sha256:dd",
    size: 4,
  };
  const list = {
    mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
    digest: "sha256:ee",
    size: 5,
    platform: amd64,
  };
  const scan = scanIndex({ manifests: [nested, list, ...index.manifests.slice(1)] }, amd64);
  assertEquals(scan, {
    match: null,
    offered: ["linux/arm64/v8"],
    nested: [nested, { mediaType: list.mediaType, digest: list.digest, size: list.size }],
  });
});

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

/** A registry of one image on loopback: `blobs` by digest, the manifest by its digest. */
function serveBase(manifest: Uint8Array, blobs: Map<string, Uint8Array>) {
  const digestOf = (b: Uint8Array) => `sha256:${sha256Hex(b)}`;
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/v2/") return new Response("{}");
    if (path === `/v2/base/manifests/${digestOf(manifest)}`) {
      return new Response(manifest.slice(), {
        headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
      });
    }
    const blob = blobs.get(path.replace("/v2/base/blobs/", ""));
    return blob ? new Response(blob.slice()) : new Response("not found", { status: 404 });
  });
}

Deno.test("loadBaseImage: fetched once into the cache by digest, a lying registry refused", async (t) => {
  const layerBytes = new Uint8Array(
    gzipSync(await collectBytes(writeTar([fileEntry("hello", "hi")], { mtime: 0 }))),
  );
  const layerTar = new Uint8Array(
    await collectBytes(writeTar([fileEntry("hello", "hi")], { mtime: 0 })),
  );
  const config = enc.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/bin"], User: "1000" },
    rootfs: { type: "layers", diff_ids: [`sha256:${sha256Hex(layerTar)}`] },
    history: [{ created_by: "base" }],
  }));
  const d = (b: Uint8Array) => ({ digest: `sha256:${sha256Hex(b)}`, size: b.length });
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...d(config) },
    layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", ...d(layerBytes) }],
  }));
  const cacheDir = await Deno.makeTempDir();
  try {
    await t.step("a registry that sends other bytes: an error, nothing cached", async () => {
      const lying = layerBytes.slice();
      lying[lying.length - 1] ^= 1;
      const server = serveBase(
        manifest,
        new Map([[d(config).digest, config], [d(layerBytes).digest, lying]]),
      );
      try {
        const ref = `127.0.0.1:${server.addr.port}/base@${d(manifest).digest}`;
        await assertRejects(
          () => loadBaseImage(ref, [amd64], { env: {}, cacheDir }),
          ConfigError,
          `for blob ${d(layerBytes).digest}`,
        );
      } finally {
        await server.shutdown();
      }
      const cached = [...Deno.readDirSync(`${cacheDir}/blobs/sha256`)].map((e) => e.name).sort();
      assertEquals(cached, [d(manifest).digest.slice(7), d(config).digest.slice(7)].sort());
    });
    await t.step("fetched once, then read from the cache with no registry", async () => {
      const server = serveBase(
        manifest,
        new Map([[d(config).digest, config], [d(layerBytes).digest, layerBytes]]),
      );
      const ref = `127.0.0.1:${server.addr.port}/base@${d(manifest).digest}`;
      try {
        await loadBaseImage(ref, [amd64], { env: {}, cacheDir });
      } finally {
        await server.shutdown();
      }
      const [base] = await loadBaseImage(ref, [amd64], { env: {}, cacheDir });
      assertEquals(base.layers.map((l) => [l.mediaType, l.digest, l.diffId]), [[
        MediaType.layerGzip,
        d(layerBytes).digest,
        `sha256:${sha256Hex(layerTar)}`,
      ]]);
      assertEquals(base.defaults, { Env: ["PATH=/bin"], User: "1000" });
      assertEquals(await collectBytes(base.layers[0].read()), layerBytes);
    });
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("a base_image tag builds from the digest init pinned, and drift is named", () => {
  const pin = { requested: "r/base:1", pinned: `r/base@sha256:${"ab".repeat(32)}` };
  const digest = `r/base@sha256:${"cd".repeat(32)}`;
  assertEquals(effectiveBaseImage("r/base:1", pin), pin.pinned);
  assertEquals(effectiveBaseImage(digest, undefined), digest);
  assertEquals(effectiveBaseImage(undefined, undefined), undefined);
  assertEquals(checkBaseImagePin("r/base:1", pin, "pins.json"), null);
  assertEquals(checkBaseImagePin(digest, undefined, "pins.json"), null);
  assertEquals(checkBaseImagePin(undefined, undefined, "pins.json"), null);
  assertEquals(
    checkBaseImagePin("r/base:2", pin, "pins.json"),
    'config.json asks for base_image "r/base:2" but "pins.json" pinned "r/base:1"',
  );
  assertEquals(
    checkBaseImagePin("r/base:1", undefined, "pins.json"),
    'config.json asks for base_image "r/base:1" but "pins.json" pins no base image',
  );
  assertEquals(
    checkBaseImagePin(undefined, pin, "pins.json"),
    'config.json has no base_image but "pins.json" pins base_image "r/base:1"',
  );
});

Deno.test("resolveInTree: symlinked directories, absolute and relative targets, loops", () => {
  const file: BaseEntry = { kind: "file", size: 1 };
  const link = (target: string): BaseEntry => ({ kind: "symlink", size: 0, target });
  // A merged-/usr base: /lib64 and /lib lead into /usr.
  const tree = new Map<string, BaseEntry>([
    ["/lib64", link("usr/lib64")],
    ["/lib", link("usr/lib")],
    ["/usr/lib64/ld-linux-x86-64.so.2", link("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")],
    ["/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", file],
    ["/usr/lib/x86_64-linux-gnu/libc.so.6", file],
    ["/etc/up", link("../../../usr/lib/x86_64-linux-gnu/libc.so.6")],
    ["/loop/a", link("b")],
    ["/loop/b", link("a")],
    ["/dangling", link("/nowhere")],
  ]);
  const cases: [string, string | null][] = [
    ["/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"],
    ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"],
    ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"],
    ["/etc/up", "/usr/lib/x86_64-linux-gnu/libc.so.6"],
    ["/loop/a", null],
    ["/dangling", null],
    ["/lib64", null],
    ["/missing", null],
  ];
  assertEquals(cases.map(([p]) => [p, resolveInTree(tree, p)]), cases);
});
