import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  BLOBS_FIELD,
  compareImages,
  compareJson,
  jsonCause,
  MANIFEST_FIELD,
  packagingNotes,
} from "./compare.ts";
import { collapse, summarize } from "./causes.ts";
import { explain } from "./explain.ts";
import type { ArchiveEntry, FileMeta, ImageSummary } from "./summary.ts";
import { Digests } from "../digests.ts";

/** A file of a test layer: its content's sha256 as short hex (padded), `""` for none. */
type TestFile = Omit<FileMeta, "digest"> & { sha256: string };

/** A file entry with r10e's defaults; override what a case changes. */
export function file(path: string, extra: Partial<TestFile> = {}): TestFile {
  return {
    path,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    mtime: 0,
    linkname: "",
    size: 1,
    sha256: "aa",
    pax: {},
    xattrs: {},
    index: 0,
    format: "ustar",
    ...extra,
  };
}

/** A one-layer image whose digests are derived from `tag`. */
export function image(
  tag: string,
  files: TestFile[],
  extra: Partial<ImageSummary> = {},
  config: Record<string, unknown> = {},
): ImageSummary {
  const d = (s: string) => "sha256:" + s.padEnd(64, "0");
  return {
    input: `${tag}.tar`,
    format: "docker-archive+oci",
    outerCompression: "none",
    archiveSha256: d("a" + tag),
    entries: [],
    platform: "linux/amd64",
    manifestDigest: d("b" + tag),
    manifest: { schemaVersion: 2 },
    configDigest: d("c" + tag),
    config: {
      architecture: "amd64",
      os: "linux",
      created: "1970-01-01T00:00:00Z",
      rootfs: { type: "layers", diff_ids: [d("d" + tag)] },
      ...config,
    },
    layers: [{
      digest: d("d" + tag),
      diffId: d("d" + tag),
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      compression: "none",
      size: 1024,
      ...layerFiles(files),
    }],
    ...extra,
  };
}

/** A layer's files and digests from test files. */
function layerFiles(files: TestFile[]): { files: FileMeta[]; digests: Digests } {
  const digests = new Digests();
  const metas = files.map(({ sha256, ...f }, index) => ({
    ...f,
    index,
    digest: sha256 === "" ? -1 : digests.addHex(sha256.padEnd(64, "0")),
  }));
  return { files: metas, digests };
}

const none = { causes: [], paths: [] };

function causes(a: ImageSummary, b: ImageSummary, ignore = none) {
  const { findings } = collapse(compareImages(a, b), ignore);
  return findings.map((f) => `${f.scope}:${f.path ?? ""}:${f.field}:${f.cause}`);
}

Deno.test("compareImages names the cause of each leaf", async (t) => {
  await t.step("identical summaries give no tree", () => {
    const a = image("1", [file("a")]);
    assertEquals(compareImages(a, a), null);
  });
  await t.step("only mtimes", () => {
    const a = image("1", [file("app"), file("app/x")]);
    const b = image("2", [file("app", { mtime: 5 }), file("app/x", { mtime: 5 })], {}, {
      created: "1970-01-01T00:00:05Z",
    });
    assertEquals(causes(a, b), [
      "config::created:timestamps",
      "file:app:mtime:timestamps",
      "file:app/x:mtime:timestamps",
    ]);
  });
  await t.step("owner", () => {
    const a = image("1", [file("a")]);
    const b = image("2", [file("a", { uid: 1000, gid: 1000, uname: "me", gname: "me" })]);
    assertEquals(causes(a, b), [
      "file:a:uid:owner",
      "file:a:gid:owner",
      "file:a:uname:owner",
      "file:a:gname:owner",
    ]);
  });
  await t.step("a name given twice: the last entry counts, as on extraction", () => {
    const a = image("1", [file("a", { sha256: "11" }), file("a", { sha256: "22" })]);
    const b = image("2", [file("a", { sha256: "33" }), file("a", { sha256: "22" })]);
    const files = (x: ImageSummary, y: ImageSummary) =>
      causes(x, y).filter((c) => c.startsWith("file:"));
    assertEquals(files(a, b), []);
    const c = image("3", [file("a", { sha256: "11" }), file("a", { sha256: "44" })]);
    assertEquals(files(a, c), ["file:a:content:content"]);
  });
  await t.step("order", () => {
    const a = image("1", [file("a"), file("b")]);
    const b = image("2", [file("b"), file("a")]);
    assertEquals(causes(a, b), ["layer:entry 1 of 2:order:order"]);
  });
  await t.step("same config, layer blob compressed: one compression finding", () => {
    const a = image("1", [file("a")]);
    const b = image("1", [file("a")], { manifestDigest: "sha256:other" });
    b.layers[0] = { ...b.layers[0], digest: "sha256:gz", compression: "gzip", mediaType: "x+gzip" };
    assertEquals(causes(a, b), [
      `manifest::${BLOBS_FIELD}:compression`,
    ]);
    assertEquals(packagingNotes(a, b), ["media types differ: OCI vs x+gzip"]);
  });
  await t.step("same config and layer blobs, other manifest fields: manifest-encoding", () => {
    const a = image("1", [file("a")]);
    const b = image("1", [file("a")], { manifestDigest: "sha256:other" });
    b.manifest = { ...(a.manifest as Record<string, unknown>), annotations: { x: "y" } };
    assertEquals(causes(a, b), [`manifest::${MANIFEST_FIELD}: annotations:manifest-encoding`]);
  });
  await t.step("no manifest digest on one side: judged by the image ID, blobs in a note", () => {
    const a = image("1", [file("a")]);
    const b = image("1", [file("a")], { manifestDigest: "" });
    b.layers[0] = { ...b.layers[0], digest: "sha256:gz", compression: "gzip", mediaType: "x+gzip" };
    assertEquals(compareImages(a, b), null);
    assertEquals(packagingNotes(a, b)[1], "layer blobs are stored none vs gzip (same diff_ids)");
  });
  await t.step("a config re-encoded with the same content: config-encoding", () => {
    const a = image("1", [file("a")]);
    const b = image("2", [file("a")]);
    b.layers = a.layers;
    // The same JSON with other key order (skopeo copy re-encodes it).
    const config = a.config as Record<string, unknown>;
    b.config = Object.fromEntries(Object.entries(config).reverse());
    (b.config as Record<string, unknown>).rootfs = {
      diff_ids: a.layers.map((l) => l.diffId),
      type: "layers",
    };
    assertEquals(causes(a, b), ["config::image ID:config-encoding"]);
  });
  await t.step("content, added, removed, mode, link, pax, xattrs", () => {
    const a = image("1", [
      file("c"),
      file("gone"),
      file("m"),
      file("l", { type: "symlink", linkname: "x", size: 0, sha256: "" }),
      file("p", { pax: { atime: "1", comment: "x" }, xattrs: { "user.a": "1" } }),
    ]);
    const b = image("2", [
      file("c", { sha256: "bb" }),
      file("m", { mode: 0o755 }),
      file("l", { type: "symlink", linkname: "y", size: 0, sha256: "" }),
      file("p", { pax: { atime: "2", comment: "x" }, xattrs: {} }),
      file("new"),
    ]);
    assertEquals(causes(a, b), [
      "file:c:content:content",
      "file:gone:removed:files",
      "file:m:mode:mode",
      "file:l:linkname:metadata",
      "file:p:pax atime:timestamps",
      "file:p:xattr user.a:metadata",
      "file:new:added:files",
    ]);
  });
  await t.step("layer bytes differ with the same files: tar format", () => {
    const a = image("1", [file("a")]);
    const b = image("2", [file("a")]);
    b.config = a.config;
    b.configDigest = a.configDigest;
    assertEquals(causes(a, b), ["layer::layer digest:tar-format"]);
  });
  await t.step("same image in a different outer compression is not a finding", () => {
    const a = image("1", [file("a")]);
    const b = { ...a, outerCompression: "gzip" as const, archiveSha256: "sha256:zz" };
    assertEquals(compareImages(a, b), null);
  });
  await t.step("same image, tags and archive entries differ: notes only", () => {
    const a = image("1", [file("a")], {
      index: { manifests: [{ digest: "x", annotations: { "io.containerd.image.name": "a:1" } }] },
      dockerManifest: { RepoTags: ["a:1"], Config: "blobs/sha256/1" },
      entries: [entry("index.json"), entry("repositories")],
    });
    const b = {
      ...a,
      index: { manifests: [{ digest: "y", annotations: { "io.containerd.image.name": "b:1" } }] },
      dockerManifest: { RepoTags: ["b:1"], Config: "blobs/sha256/2" },
      entries: [entry("index.json", { uname: "root" }), entry("oci-layout")],
    };
    assertEquals(compareImages(a, b), null);
    assertEquals(packagingNotes(a, b), [
      'manifests[0].annotations["io.containerd.image.name"] differs: "a:1" vs "b:1"',
      'manifest.json.RepoTags differs: ["a:1"] vs ["b:1"]',
      "archive entries only in A: repositories",
      "archive entries only in B: oci-layout",
      "archive entry headers differ: uname (1)",
    ]);
  });
  await t.step(
    "different images: a config entry renamed by digest is not a file-set finding",
    () => {
      const a = image("1", [file("a")], { entries: [entry("sha256:" + "1".repeat(64))] });
      const b = image("2", [file("a")], { entries: [entry("sha256:" + "2".repeat(64))] }, {
        created: "1970-01-01T00:00:05Z",
      });
      b.layers = a.layers;
      (b.config as Record<string, unknown>).rootfs = (a.config as Record<string, unknown>).rootfs;
      assertEquals(causes(a, b), ["config::created:timestamps"]);
    },
  );
});

function entry(name: string, extra: Partial<ArchiveEntry> = {}): ArchiveEntry {
  return {
    name,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    mtime: 0,
    size: 1,
    sha256: "aa",
    ...extra,
  };
}

Deno.test("collapse: ignoring the only cause makes the images identical", () => {
  const a = image("1", [file("app")]);
  const b = image("2", [file("app", { mtime: 5 })], {}, { created: "1970-01-01T00:00:05Z" });
  const tree = compareImages(a, b);
  const all = collapse(tree, none);
  assertEquals(all.consequences.map((c) => `${c.field}: ${c.because}`), [
    "archive sha256: image",
    "manifest digest: config, layer 0",
    "image ID: config created, config rootfs.diff_ids",
    "rootfs.diff_ids: layer 0",
    "layer digest: 1 file",
  ]);
  const some = collapse(tree, { causes: ["timestamps"], paths: [] });
  assertEquals(some.findings, []);
  assertEquals(some.consequences, []);
  assertEquals(some.ignored, { count: 2, byCause: { timestamps: 2 } });
  const byPath = collapse(tree, { causes: [], paths: ["app"] });
  assertEquals(byPath.findings.map((f) => f.field), ["created"]);
});

Deno.test("compareJson and jsonCause", async (t) => {
  await t.step("field by field, arrays of objects by position", () => {
    const a = { config: { Env: ["A=1"], Labels: { x: "1" } }, history: [{ created: "t1" }] };
    const b = {
      config: { Env: ["A=2"], Labels: { x: "1", "a.b": "2" } },
      history: [{ created: "t2" }],
    };
    const leaves = compareJson(a, b, { path: "", scope: "config", causeOf: jsonCause });
    assertEquals(leaves.map((l) => [l.field, l.a, l.b, l.cause]), [
      ["config.Env", ["A=1"], ["A=2"], "config"],
      ['config.Labels["a.b"]', null, "2", "config"],
      ["history[0].created", "t1", "t2", "timestamps"],
    ]);
  });
  await t.step("a date-valued label is a timestamp", () => {
    assertEquals(
      jsonCause("config.Labels.built", "2024-01-01T00:00:00Z", "2024-01-02T10:00:00.5+02:00"),
      "timestamps",
    );
    assertEquals(jsonCause("architecture", "amd64", "arm64"), "platform");
  });
});

Deno.test("many alike file differences: the first of a kind are kept, the rest counted", async (t) => {
  const names = Array.from({ length: 7 }, (_, i) => `app/f${i}`);
  const a = image("1", names.map((n) => file(n)));
  const b = image("2", names.map((n, i) => file(n, { mtime: 5, uid: i < 3 ? 1 : 0 })));
  await t.step("kept and omitted by kind, counted everywhere", () => {
    const c = collapse(compareImages(a, b, { perKind: 2 }), none);
    assertEquals(c.findings.map((f) => `${f.path}:${f.field}`), [
      "app/f0:uid",
      "app/f0:mtime",
      "app/f1:uid",
      "app/f1:mtime",
    ]);
    assertEquals(
      c.omitted.map((o) => [o.layer, o.field, o.cause, o.count, o.shifts]),
      [[0, "uid", "owner", 1, undefined], [0, "mtime", "timestamps", 5, { "0 5": 5 }]],
    );
    assertEquals(
      summarize(c.findings, 0, c.omitted),
      "differ: 10 findings: timestamps (7), owner (3)",
    );
    const lines = explain(c.findings, { a: undefined, b: undefined }, c.omitted).causes;
    assertEquals(lines.map((l) => [l.cause, l.count, l.shift?.count]), [
      ["timestamps", 7, 7],
      ["owner", 3, undefined],
    ]);
    assertEquals(
      c.consequences.find((q) => q.field === "layer digest")?.because,
      "more than 2 files",
    );
  });
  await t.step("ignored ones are counted, neither kept nor in the limit", () => {
    const ignore = { causes: ["timestamps" as const], paths: ["app/f0"] };
    const c = collapse(compareImages(a, b, { perKind: 1, ignore }), ignore);
    assertEquals(c.findings.map((f) => `${f.path}:${f.field}`), ["app/f1:uid"]);
    assertEquals(c.omitted.map((o) => [o.field, o.count]), [["uid", 1]]);
    assertEquals(c.ignored, { count: 8, byCause: { owner: 1, timestamps: 7 } });
  });
  await t.step("all ignored: the images are identical", () => {
    const ignore = { causes: ["timestamps" as const, "owner" as const], paths: [] };
    const c = collapse(compareImages(a, b, { perKind: 1, ignore }), ignore);
    assertEquals([c.findings.length, c.omitted.length, c.ignored.count], [0, 0, 10]);
  });
});

Deno.test("compareImages: another base image is one finding, not the files of its layers", () => {
  const based = (tag: string, baseDigest: string, files: TestFile[]) =>
    image(tag, files, {
      manifest: {
        schemaVersion: 2,
        annotations: { "org.opencontainers.image.base.digest": baseDigest },
      },
    }, {
      history: [
        { created: `200${tag}-01-01T00:00:00Z`, created_by: "base" },
        { created: "1970-01-01T00:00:00Z", created_by: "r10e: artifacts", empty_layer: true },
      ],
    });
  const a = based("1", "sha256:aaa", [file("bin/sh"), file("etc/os-release")]);
  const b = based("2", "sha256:bbb", [file("bin/sh", { sha256: "bb" }), file("etc/new")]);
  assertEquals(causes(a, b), [
    'manifest::annotations["org.opencontainers.image.base.digest"]:base-image',
    "layer::base image layers:base-image",
  ]);
  const { causes: lines } = explain(collapse(compareImages(a, b), none).findings, {
    a: a.config,
    b: b.config,
  });
  assertEquals(lines[0].text, "base image differs: digest sha256:aaa → sha256:bbb");
});

Deno.test("compareImages: the same base digest under another name is named as such", () => {
  const named = (tag: string, name: string) =>
    image(tag, [file("a")], {
      manifest: {
        schemaVersion: 2,
        annotations: {
          "org.opencontainers.image.base.digest": "sha256:aaa",
          "org.opencontainers.image.base.name": name,
        },
      },
    });
  const a = named("1", "mirror.example/base");
  const b = { ...named("1", "registry.example/base"), manifestDigest: "sha256:other" };
  const { causes: lines } = explain(collapse(compareImages(a, b), none).findings, {
    a: a.config,
    b: b.config,
  });
  assertEquals(
    lines[0].text,
    "base image named differently, the same digest: mirror.example/base → registry.example/base",
  );
});
