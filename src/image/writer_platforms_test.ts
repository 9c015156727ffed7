// Several images in one archive: each manifest as it is alone, an image
// index blob that index.json's one entry points at, shared layers hashed and stored once,
// and manifest.json carrying the chosen image only.
import { gunzipSync } from "node:zlib";
import { assertEquals, assertRejects } from "../../tests/_assert.ts";
import { collectBytes, dirEntry, fileEntry } from "../../tests/_bytes.ts";
import { readTar } from "../tar/reader.ts";
import { sha256Hex } from "./digest.ts";
import { type ArchiveSpec, type ImageSpec, type LayerSpec, writeImageArchive } from "./writer.ts";

const ca: LayerSpec = {
  createdBy: "r10e: CA bundle",
  entries: [dirEntry("etc"), fileEntry("etc/ca.crt", "-----BEGIN CERTIFICATE-----\n")],
};

function image(arch: string, variant?: string): ImageSpec {
  return {
    platform: { os: "linux", architecture: arch, ...(variant ? { variant } : {}) },
    config: { Env: ["PATH=/bin"], Entrypoint: ["/app/server"] },
    layers: [ca, {
      createdBy: "r10e: artifacts",
      entries: [dirEntry("app"), fileEntry("app/server", `binary for ${arch}`, 0o755)],
    }],
  };
}

function spec(images: ImageSpec[], dockerImage?: number): ArchiveSpec {
  return {
    repository: "multi",
    tag: "latest",
    created: 1700000000,
    images,
    ...(dockerImage === undefined ? {} : { dockerImage }),
  };
}

async function write(s: ArchiveSpec) {
  const parts: Uint8Array[] = [];
  const hashed: string[] = [];
  const result = await writeImageArchive(s, (c) => {
    parts.push(c.slice());
  }, { onProgress: (m) => /^(Hashing|Compressing) layer/.test(m) && hashed.push(m) });
  const tar = gunzipSync(
    await collectBytes((async function* () {
      yield* parts;
    })()),
  );
  const files = new Map<string, Uint8Array>();
  for await (
    const e of readTar((async function* () {
      yield new Uint8Array(tar);
    })())
  ) {
    files.set(e.header.name, await collectBytes(e.body));
  }
  return { result, files, hashed };
}

const json = (b: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(b!));
const blob = (d: string) => `blobs/sha256/${d.slice(7)}`;

Deno.test("writeImageArchive, several images: manifests as alone, one index blob, shared blobs once", async () => {
  const several = await write(spec([image("arm", "v7"), image("amd64"), image("arm64")], 1));
  const alone = await Promise.all(
    [image("arm", "v7"), image("amd64"), image("arm64")].map((i) => write(spec([i]))),
  );
  const digests = several.result.images.map((i) => i.manifestDigest);
  assertEquals(digests, alone.map((a) => a.result.images[0].manifestDigest));
  assertEquals(alone.every((a) => a.result.indexDigest === undefined), true);
  // The CA layer is hashed once for the three images, then each artifacts layer.
  assertEquals(several.hashed.filter((m) => m.includes("CA bundle")).length, 1);
  assertEquals(several.hashed.length, 4);

  const indexDigest = several.result.indexDigest!;
  const nested = several.files.get(blob(indexDigest))!;
  assertEquals(`sha256:${sha256Hex(nested)}`, indexDigest);
  assertEquals(json(nested), {
    manifests: several.result.images.map((i, n) => ({
      digest: i.manifestDigest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      platform: [
        { architecture: "arm", os: "linux", variant: "v7" },
        { architecture: "amd64", os: "linux" },
        { architecture: "arm64", os: "linux" },
      ][n],
      size: several.files.get(blob(i.manifestDigest))!.length,
    })),
    mediaType: "application/vnd.oci.image.index.v1+json",
    schemaVersion: 2,
  });
  assertEquals(json(several.files.get("index.json")), {
    manifests: [{
      annotations: {
        "io.containerd.image.name": "docker.io/library/multi:latest",
        "org.opencontainers.image.ref.name": "latest",
      },
      digest: indexDigest,
      mediaType: "application/vnd.oci.image.index.v1+json",
      size: nested.length,
    }],
    mediaType: "application/vnd.oci.image.index.v1+json",
    schemaVersion: 2,
  });
  // manifest.json: the amd64 image only (dockerImage 1), tagged.
  assertEquals(json(several.files.get("manifest.json")), [{
    Config: blob(several.result.images[1].imageId),
    Layers: several.result.images[1].layers.map((l) => blob(l.digest)),
    RepoTags: ["multi:latest"],
  }]);
  // One CA blob, three artifacts, three configs, three manifests, the index.
  const blobs = [...several.files.keys()].filter((n) => /^blobs\/sha256\/./.test(n));
  assertEquals(blobs.length, 11);
  for (const name of blobs) assertEquals(sha256Hex(several.files.get(name)!), name.slice(13));
});

Deno.test("writeImageArchive, several images: the index depends on their order, the manifests do not", async () => {
  const ab = await write(spec([image("amd64"), image("arm64")]));
  const ba = await write(spec([image("arm64"), image("amd64")]));
  assertEquals(
    ab.result.images.map((i) => i.manifestDigest).sort(),
    ba.result.images.map((i) => i.manifestDigest).sort(),
  );
  assertEquals(ab.result.indexDigest === ba.result.indexDigest, false);
  // dockerImage defaults to the first.
  assertEquals(json(ba.files.get("manifest.json"))[0].Config, blob(ba.result.images[0].imageId));
  await assertRejects(
    () => write(spec([image("amd64")], 3)),
    RangeError,
    "No image 3 for manifest.json",
  );
});
