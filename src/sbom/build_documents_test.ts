// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirEntry, fileEntry } from "../../tests/_bytes.ts";
import type { ImageResult, LayerSpec } from "../image/writer.ts";
import { writeImageArchive } from "../image/writer.ts";
import { documentPaths, prepareDocuments, type PrepareOptions } from "./build_documents.ts";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

function layers(tag: string): LayerSpec[] {
  return [
    {
      createdBy: "r10e: extern_data",
      entries: [
        dirEntry("app"),
        fileEntry("app/a.txt", "old a"),
        fileEntry("app/b.txt", "b"),
        fileEntry("app/empty", ""),
      ],
    },
    {
      createdBy: "r10e: artifacts",
      entries: [
        dirEntry("app"),
        fileEntry("app/a.txt", "new a"),
        { name: "app/b.txt", kind: "symlink", mode: 0o777, size: 0, linkTarget: "a.txt" },
        // ELF magic, no Go build info: a file, not a Go binary.
        fileEntry("app/server", `\x7fELF ${tag}`, 0o755),
      ],
    },
  ];
}

function options(overrides: Partial<PrepareOptions> = {}): PrepareOptions {
  return {
    imageName: "app:latest",
    created: 1700000000,
    tool: { name: "r10e", version: "0.1.0" },
    filesRoot: "/nonexistent",
    provenance: {
      record: {
        created: 1700000000,
        createdFrom: "SOURCE_DATE_EPOCH",
        goVersion: "1.26.8",
        mode: "host",
        dirty: null,
        revision: null,
      },
      config: { project_name: "app", build_cmd: "go build" },
      pins: { go_version: "1.26.8", go_version_requested: null },
      sourceUri: null,
    },
    ...overrides,
  };
}

function result(platform: string, n: number): ImageResult {
  const [os, architecture] = platform.split("/");
  return {
    platform: { os, architecture },
    imageId: "sha256:" + String(n).repeat(64),
    manifestDigest: "sha256:" + String(n + 1).repeat(64),
    layers: [],
    diffIds: [],
  };
}

Deno.test("prepareDocuments: the merged files of the layers, each with its hashes", async () => {
  const prepared = prepareDocuments([{
    platform: { os: "linux", architecture: "amd64" },
    layers: layers("x"),
    artifacts: () => [],
  }], options());
  // Without the writer: the files are hashed when the documents are made.
  const r = result("linux/amd64", 1);
  const docs = await prepared.make({ images: [r] });
  assert.equal(docs.length, 1);
  assert.deepEqual(Object.keys(docs[0].texts), ["spdx", "cyclonedx", "provenance"]);
  const spdx = JSON.parse(docs[0].texts.spdx);
  const files = spdx.files.map((
    f: { fileName: string; checksums: { checksumValue: string }[] },
  ) => [
    f.fileName,
    f.checksums.map((c) => c.checksumValue),
  ]);
  // A later layer's file replaces an earlier one's; a symlink over a file removes it.
  assert.deepEqual(files, [
    ["/app/a.txt", [sha1("new a"), sha256("new a")]],
    ["/app/empty", [sha1(""), sha256("")]],
    ["/app/server", [sha1("\x7fELF x"), sha256("\x7fELF x")]],
  ]);
  assert.equal(spdx.creationInfo.created, "2023-11-14T22:13:20Z");
  assert.equal(
    spdx.packages.find((p: { SPDXID: string }) => p.SPDXID === "SPDXRef-Image").versionInfo,
    r.manifestDigest,
  );
  assert.equal(docs[0].manifestDigest, r.manifestDigest);
});

Deno.test("prepareDocuments: hashed as the writer reads, the same documents, the layer bytes unchanged", async () => {
  const plain = await writeImageArchive(
    {
      repository: "app",
      tag: "latest",
      created: 1700000000,
      images: [{
        platform: { os: "linux", architecture: "amd64" },
        config: { Env: [] },
        layers: layers("x"),
      }],
    },
    () => {},
    { compress: false },
  );
  const image = {
    platform: { os: "linux", architecture: "amd64" },
    layers: layers("x"),
    artifacts: () => [],
  };
  const prepared = prepareDocuments([image], options());
  const written = await writeImageArchive(
    {
      repository: "app",
      tag: "latest",
      created: 1700000000,
      images: [{ ...image, config: { Env: [] } }],
    },
    () => {},
    { compress: false },
  );
  assert.deepEqual(written, plain);
  const direct = prepareDocuments([{ ...image, layers: layers("x") }], options());
  assert.deepEqual(await prepared.make(written), await direct.make(written));
});

Deno.test("prepareDocuments: two platforms, an SBOM each, one provenance naming both", async () => {
  // The artifacts on disk, where their Go build info is looked for (none: not Go binaries).
  const filesRoot = await Deno.makeTempDir();
  for (const arch of ["amd64", "arm64"]) {
    await Deno.mkdir(`${filesRoot}/build/${arch}`, { recursive: true });
    await Deno.writeTextFile(`${filesRoot}/build/${arch}/server`, `\x7fELF ${arch}`);
  }
  const prepared = prepareDocuments(
    [
      {
        platform: { os: "linux", architecture: "amd64" },
        layers: layers("amd64"),
        artifacts:
          () => [{ src: "build/amd64/server", dest: "/app/server", sha256: "aa".repeat(32) }],
      },
      {
        platform: { os: "linux", architecture: "arm64" },
        layers: layers("arm64"),
        artifacts:
          () => [{ src: "build/arm64/server", dest: "/app/server", sha256: "bb".repeat(32) }],
      },
    ],
    options({ filesRoot }),
  );
  const results = [result("linux/amd64", 1), result("linux/arm64", 3)];
  const indexDigest = "sha256:" + "9".repeat(64);
  const docs = await prepared.make({ images: results, indexDigest });
  assert.deepEqual(docs.map((d) => [d.platform, d.manifestDigest]), [
    ["linux/amd64", results[0].manifestDigest],
    ["linux/arm64", results[1].manifestDigest],
  ]);
  const spdx = docs.map((d) => JSON.parse(d.texts.spdx));
  assert.notEqual(spdx[0].documentNamespace, spdx[1].documentNamespace);
  assert.deepEqual(
    spdx.map((s) =>
      s.files.find((f: { fileName: string }) => f.fileName === "/app/server").checksums[1]
        .checksumValue
    ),
    [sha256("\x7fELF amd64"), sha256("\x7fELF arm64")],
  );
  assert.equal(docs[0].texts.provenance, docs[1].texts.provenance);
  const prov = JSON.parse(docs[0].texts.provenance);
  assert.deepEqual(prov.subject.map((s: { name: string }) => s.name), [
    "app:latest",
    "app:latest (linux/amd64)",
    "app:latest (linux/arm64)",
    "linux/amd64:/app/server",
    "linux/arm64:/app/server",
  ]);
  assert.deepEqual(
    documentPaths("/p/out/app-latest.tar.gz", docs).map((d) => d.path),
    [
      "/p/out/app-latest.linux-amd64.spdx.json",
      "/p/out/app-latest.linux-amd64.cdx.json",
      "/p/out/app-latest.linux-arm64.spdx.json",
      "/p/out/app-latest.linux-arm64.cdx.json",
      "/p/out/app-latest.provenance.json",
    ],
  );
  assert.deepEqual(
    documentPaths("/p/out/app-latest.tar", docs.slice(0, 1)).map((d) => d.path),
    [
      "/p/out/app-latest.spdx.json",
      "/p/out/app-latest.cdx.json",
      "/p/out/app-latest.provenance.json",
    ],
  );
  await Deno.remove(filesRoot, { recursive: true });
});

Deno.test("prepareDocuments: skip makes none", async () => {
  const prepared = prepareDocuments([{
    platform: { os: "linux", architecture: "amd64" },
    layers: layers("x"),
    artifacts: () => [],
  }], options({ skip: true }));
  const r = result("linux/amd64", 1);
  assert.deepEqual(await prepared.make({ images: [r] }), []);
});
