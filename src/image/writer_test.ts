import { gunzipSync } from "node:zlib";
import { assertEquals, assertRejects } from "../../tests/_assert.ts";
import { collectBytes, dirEntry, fileEntry } from "../../tests/_bytes.ts";
import { sha256Hex } from "./digest.ts";
import {
  type ArchiveSpec,
  DEFAULT_LAYER_COMPRESSION,
  FORMAT_VERSION,
  fullImageName,
  rfc3339,
  withProvenance,
  writeImageArchive,
  type WriteOptions,
} from "./writer.ts";

const enc = new TextEncoder();
const file = fileEntry;
const dir = dirEntry;

/** A fixed staged tree: the three layers r10e writes, with a long and a non-ASCII name. */
function fixedSpec(): ArchiveSpec {
  return {
    repository: "golden",
    tag: "latest",
    created: 1700000000,
    revision: "0123456789abcdef0123456789abcdef01234567",
    source: "https://example.com/golden",
    images: [{
      platform: { os: "linux", architecture: "amd64" },
      config: {
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        Entrypoint: ["/app/server"],
        Labels: { "org.opencontainers.image.authors": "r10e" },
      },
      layers: [
        {
          createdBy: "r10e: CA bundle",
          entries: [
            dir("etc"),
            dir("etc/ssl"),
            dir("etc/ssl/certs"),
            file("etc/ssl/certs/ca-certificates.crt", "-----BEGIN CERTIFICATE-----\n"),
          ],
        },
        {
          createdBy: "r10e: extern_data",
          entries: [
            dir("app"),
            dir("app/data"),
            file("app/data/" + "n".repeat(120), "long name"),
            file("app/data/gr\u00fc\u00dfe.txt", "hallo\n"),
            {
              name: "app/data/link",
              kind: "symlink",
              mode: 0o777,
              size: 0,
              linkTarget: "gr\u00fc\u00dfe.txt",
            },
          ],
        },
        {
          createdBy: "r10e: artifacts",
          entries: [dir("app"), file("app/server", "\x7fELF not really", 0o755)],
        },
      ],
    }],
  };
}

async function write(spec: ArchiveSpec, compress: boolean, options: WriteOptions = {}) {
  const parts: Uint8Array[] = [];
  const result = await writeImageArchive(spec, (c) => {
    parts.push(c.slice());
  }, { compress, ...options });
  const bytes = await collectBytes((async function* () {
    yield* parts;
  })());
  return { result, bytes };
}

// Golden digests: a change to any of these is an image format change. Bump
// FORMAT_VERSION and say so in the commit (DESIGN: the one invariant).
// Format 5 moved no byte of these archives: it took the SBOMs and provenance that formats 3
// and 4 listed in index.json out of the archive, and this tree never had any.
const GOLDEN = {
  format: 5,
  /** The uncompressed layer tars (unchanged since format 1): rootfs.diff_ids. */
  diffIds: [
    "sha256:d4741daeb477ef857fa69b2c7d39f03a47b26b0fe85122763f30a91083e85e04",
    "sha256:01697008b6efdfb17ef93606b00a69191c37ba044b6787e7a70532d8321af71c",
    "sha256:3ae268ec63baa4fd319f3371e9eded6e2e39dfb35030778cebc91e0acc03c7a1",
  ],
  /** The config names diff_ids only: the same image ID for both layer compressions. */
  imageId: "sha256:5a1407a0bf0d02c4ecc782e51adcb25e4e77fb214f854d7519ad6afff19f60d8",
  /** Format 4, layer_compression "gzip" (the default): the pinned compressor's layer blobs. */
  gzip: {
    layers: [
      "sha256:afb911502e6235b082fd483bcde60acd7099831b2b5d7daa944933ff444b5845",
      "sha256:f94038ae7f1cf734ed180ea288eee457985bc6087dc6e956529c151949c1f770",
      "sha256:c5e26a3d465365c4e39c3c8276bdc971d2f0a2973e9d51515ac8f9ad896797c8",
    ],
    manifestDigest: "sha256:c2f20ed76802d751b8ff5f9548d0324cacce5c60b9c32c4ff8736ea604be9054",
    archiveTar: "d82994136d536abacdf8c1177f97a3e5c047a2e0078030761184017ea346711b",
    /** The outer gzip in stored blocks. */
    archiveGz: "373400d8855d5420d847b08d65d0b68eaa4cf3b398c7d4b66faf1d0891fca744",
  },
  /** layer_compression "none": layer digest = diff_id, manifest and tar as in format 3. */
  none: {
    manifestDigest: "sha256:a51b8f8930ff25f3b2b2652620d137461d30deb285b6c0abaabe1014704970d7",
    archiveTar: "1b1a0f65e5d11685af941c77a8c98d1aa7a8814b11578e9c5bce89c22a703c35",
    /** Format 4: the outer gzip by the pinned compressor at GZIP_LEVEL. */
    archiveGz: "9ee50364deeb1cf53bf687533bad5c29a1742857b44db94f46b8b5a48fc54766",
  },
};

Deno.test("writeImageArchive: golden digests for a fixed staged tree and creation time", async (t) => {
  assertEquals(FORMAT_VERSION, GOLDEN.format);
  assertEquals(DEFAULT_LAYER_COMPRESSION, "gzip");
  await t.step('layer_compression "gzip" (the default)', async () => {
    const { result } = await write(fixedSpec(), true);
    const { result: plain } = await write(fixedSpec(), false);
    if (Deno.env.get("R10E_PRINT_GOLDEN")) console.log(JSON.stringify({ result, plain }, null, 1));
    const image = result.images[0];
    assertEquals(image.layers.map((l) => l.digest), GOLDEN.gzip.layers);
    assertEquals(image.layers.map((l) => l.mediaType), [
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+gzip",
    ]);
    assertEquals(image.diffIds, GOLDEN.diffIds);
    assertEquals(image.imageId, GOLDEN.imageId);
    assertEquals(image.manifestDigest, GOLDEN.gzip.manifestDigest);
    assertEquals(plain.archiveSha256, GOLDEN.gzip.archiveTar);
    assertEquals(result.archiveSha256, GOLDEN.gzip.archiveGz);
  });
  await t.step('layer_compression "none"', async () => {
    const spec = { ...fixedSpec(), layerCompression: "none" as const };
    const { result } = await write(spec, true);
    const { result: plain } = await write(spec, false);
    if (Deno.env.get("R10E_PRINT_GOLDEN")) console.log(JSON.stringify({ result, plain }, null, 1));
    const image = result.images[0];
    assertEquals(image.layers.map((l) => l.digest), GOLDEN.diffIds);
    assertEquals(image.layers.map((l) => l.mediaType), [
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar",
    ]);
    assertEquals(image.diffIds, GOLDEN.diffIds);
    assertEquals(image.imageId, GOLDEN.imageId);
    assertEquals(image.manifestDigest, GOLDEN.none.manifestDigest);
    assertEquals(plain.archiveSha256, GOLDEN.none.archiveTar);
    assertEquals(result.archiveSha256, GOLDEN.none.archiveGz);
  });
  await t.step("spooled beyond the memory bound, then read back: the same bytes", async () => {
    const spool = memorySpool();
    const { result } = await write(fixedSpec(), true, { keepCompressedBytes: 0, spool });
    assertEquals(result.archiveSha256, GOLDEN.gzip.archiveGz);
    const layers = result.images[0].layers.reduce((n, l) => n + l.size, 0);
    assertEquals(spool.size, layers);
  });
  await t.step(
    "compressed again in the write pass (beyond the memory bound): the same bytes",
    async () => {
      const { result } = await write(fixedSpec(), true, { keepCompressedBytes: 0, workers: 0 });
      assertEquals(result.archiveSha256, GOLDEN.gzip.archiveGz);
    },
  );
});

Deno.test("writeImageArchive: the reported digests are the digests of the bytes written", async () => {
  const { result, bytes } = await write(fixedSpec(), true);
  assertEquals(sha256Hex(bytes), result.archiveSha256);
  const tar = new Uint8Array(gunzipSync(bytes));
  // Read the outer tar with Python's tarfile: an independent reader.
  const tmp = await Deno.makeTempFile({ suffix: ".tar" });
  try {
    await Deno.writeFile(tmp, tar);
    const script = `
import hashlib, json, sys, tarfile
tf = tarfile.open(sys.argv[1])
out = {"names": [], "blobs": {}, "meta": set()}
for m in tf:
    out["names"].append(m.name)
    out["meta"].add((m.mode, m.uid, m.gid, m.uname, m.gname, m.mtime) if m.isfile() else ())
    if m.isfile():
        data = tf.extractfile(m).read()
        out["blobs"][m.name] = hashlib.sha256(data).hexdigest()
        if not m.name.startswith("blobs/"): out[m.name] = json.loads(data)
        if m.name == "blobs/sha256/" + sys.argv[2]: out["config"] = json.loads(data)
out["meta"] = sorted(x for x in out["meta"] if x)
print(json.dumps(out))`;
    const image = result.images[0];
    const py = await new Deno.Command("python3", {
      args: ["-c", script, tmp, image.imageId.slice(7)],
      stdout: "piped",
    }).output();
    const seen = JSON.parse(new TextDecoder().decode(py.stdout));
    // Format 2: the provenance labels beside the config's own.
    assertEquals(seen.config.config.Labels, {
      "org.opencontainers.image.authors": "r10e",
      "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
      "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
      "org.opencontainers.image.source": "https://example.com/golden",
    });
    assertEquals(seen.config.created, "2023-11-14T22:13:20Z");
    const blobNames = [image.imageId, image.manifestDigest, ...image.layers.map((l) => l.digest)]
      .map((d) => `blobs/sha256/${d.slice(7)}`).sort();
    assertEquals(seen.names, [
      "blobs",
      "blobs/sha256",
      ...blobNames,
      "index.json",
      "manifest.json",
      "oci-layout",
    ]);
    assertEquals(seen.meta, [[0o644, 0, 0, "", "", 0]]);
    for (const name of blobNames) {
      assertEquals(seen.blobs[name], name.slice("blobs/sha256/".length));
    }
    // Gzip layers: each blob inflates (zlib, an independent reader) to the tar its diff_id names.
    assertEquals(seen.config.rootfs.diff_ids, image.diffIds);
    for (const [i, layer] of image.layers.entries()) {
      const at = findEntry(tar, `blobs/sha256/${layer.digest.slice(7)}`);
      assertEquals([...at.subarray(0, 3)], [0x1f, 0x8b, 8]);
      assertEquals(`sha256:${sha256Hex(new Uint8Array(gunzipSync(at)))}`, image.diffIds[i]);
    }
    assertEquals(seen["oci-layout"], { imageLayoutVersion: "1.0.0" });
    assertEquals(seen["manifest.json"], [{
      Config: `blobs/sha256/${image.imageId.slice(7)}`,
      Layers: image.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      RepoTags: ["golden:latest"],
    }]);
    const index = seen["index.json"];
    // The image and nothing else (format 5): one entry, so every tool takes the archive as it is.
    assertEquals(index.manifests.length, 1);
    assertEquals(index.manifests[0].digest, image.manifestDigest);
    const manifest = JSON.parse(
      new TextDecoder().decode(findEntry(tar, `blobs/sha256/${image.manifestDigest.slice(7)}`)),
    );
    assertEquals(
      manifest.layers.map((l: { mediaType: string }) => l.mediaType),
      image.layers.map(() => "application/vnd.oci.image.layer.v1.tar+gzip"),
    );
    assertEquals(index.manifests[0].annotations, {
      "io.containerd.image.name": "docker.io/library/golden:latest",
      "org.opencontainers.image.ref.name": "latest",
    });
  } finally {
    await Deno.remove(tmp);
  }
});

Deno.test("writeImageArchive: a file that changes between the two passes is an error", async (t) => {
  const changing = (layerCompression: "gzip" | "none") => {
    const spec = { ...fixedSpec(), layerCompression };
    let calls = 0;
    spec.images[0].layers[2].entries[1].content = async function* () {
      calls++;
      yield enc.encode(calls === 1 ? "\x7fELF not really" : "\x7fELF changed!!!");
    };
    return { spec, calls: () => calls };
  };
  for (
    const [name, compression, options] of [
      ["uncompressed layers", "none", {}],
      ["gzip layers compressed again (beyond the memory bound)", "gzip", {
        keepCompressedBytes: 0,
      }],
    ] as const
  ) {
    await t.step(name, async () => {
      await assertRejects(
        () => write(changing(compression).spec, true, options),
        RangeError,
        "its files changed while r10e read them",
      );
    });
  }
  await t.step("gzip layers spooled: read once, the archive is the first read", async () => {
    const { spec, calls } = changing("gzip");
    const { result } = await write(spec, true, { keepCompressedBytes: 0, spool: memorySpool() });
    assertEquals(calls(), 1);
    assertEquals(result.archiveSha256, GOLDEN.gzip.archiveGz);
  });
  await t.step("a spool whose bytes changed is an error", async () => {
    const spool = memorySpool();
    const read = spool.read.bind(spool);
    spool.read = async function* (offset: number, length: number) {
      for await (const c of read(offset, length)) yield c.map((b, i) => i === 7 ? b ^ 1 : b);
    };
    await assertRejects(
      () => write(fixedSpec(), true, { keepCompressedBytes: 0, spool }),
      RangeError,
      "its files changed while r10e read them",
    );
  });
  await t.step(
    "gzip layers kept from the hash pass: read once, the archive is the first read",
    async () => {
      const { spec, calls } = changing("gzip");
      const { result } = await write(spec, true);
      assertEquals(calls(), 1);
      assertEquals(result.archiveSha256, GOLDEN.gzip.archiveGz);
    },
  );
});

Deno.test("writeImageArchive: without revision or source, only the created label is added", async () => {
  const spec = { ...fixedSpec(), revision: undefined, source: undefined, created: 0 };
  spec.images = [{ ...spec.images[0], config: { Env: [] } }];
  const a = await write(spec, false);
  const b = await write({ ...spec, revision: "ab".repeat(20) }, false);
  // The revision is an input: another commit, another image ID.
  assertEquals(a.result.images[0].imageId !== b.result.images[0].imageId, true);
  const withLabel = withProvenance(spec.images[0], { created: 0 });
  assertEquals(withLabel.config.Labels, {
    "org.opencontainers.image.created": "1970-01-01T00:00:00Z",
  });
});

Deno.test("gzip header: MTIME 0, no file name, fixed level (via the archive's first bytes)", async () => {
  // Gzip layers: the outer archive in stored blocks (XFL 4: fastest), OS 255.
  const { bytes } = await write(fixedSpec(), true);
  assertEquals([...bytes.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
  assertEquals(bytes[10] & 0b110, 0, "the first deflate block is stored (BTYPE 00)");
  // Uncompressed layers: the outer archive compressed at GZIP_LEVEL (2: XFL 0).
  const none = await write({ ...fixedSpec(), layerCompression: "none" }, true);
  assertEquals([...none.bytes.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
  assertEquals(none.bytes[10] & 0b110, 0b100, "a dynamic Huffman block (BTYPE 10)");
});

/** The content of entry `name` in an uncompressed tar (ustar names only). */
function findEntry(tar: Uint8Array, name: string): Uint8Array {
  const dec = new TextDecoder();
  for (let at = 0; at + 512 <= tar.length;) {
    const entry = dec.decode(tar.subarray(at, at + 100)).replace(/\0.*$/s, "");
    const size = parseInt(
      dec.decode(tar.subarray(at + 124, at + 136)).replace(/\0.*$/s, "") || "0",
      8,
    );
    if (entry === name) return tar.subarray(at + 512, at + 512 + size);
    if (!entry) break;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no entry "${name}"`);
}

Deno.test("fullImageName and rfc3339", () => {
  assertEquals(fullImageName("app", "latest"), "docker.io/library/app:latest");
  assertEquals(fullImageName("team/app", "v1"), "docker.io/team/app:v1");
  assertEquals(
    fullImageName("registry.example.com/app", "latest"),
    "registry.example.com/app:latest",
  );
  assertEquals(fullImageName("localhost/app", "latest"), "localhost/app:latest");
  assertEquals(rfc3339(0), "1970-01-01T00:00:00Z");
  assertEquals(rfc3339(1700000000), "2023-11-14T22:13:20Z");
});

/** A spool in memory (spool.ts is the file one build uses). */
function memorySpool() {
  const parts: Uint8Array[] = [];
  let size = 0;
  return {
    get size() {
      return size;
    },
    write(chunk: Uint8Array) {
      parts.push(chunk.slice());
      size += chunk.length;
      return Promise.resolve();
    },
    async *read(offset: number, length: number): AsyncGenerator<Uint8Array> {
      const all = await collectBytes((async function* () {
        yield* parts;
      })());
      yield all.slice(offset, offset + length);
    },
  };
}

Deno.test("writeImageArchive: a base layer blob is stored as it is, before r10e's, and checked", async (t) => {
  const baseBytes = enc.encode("pretend gzip bytes of a base layer");
  const digest = `sha256:${sha256Hex(baseBytes)}`;
  const spec = (bytes: Uint8Array): ArchiveSpec => ({
    repository: "based",
    tag: "latest",
    created: 1700000000,
    images: [{
      platform: { os: "linux", architecture: "amd64" },
      config: { Env: [] },
      baseHistory: [{ created: "2020-01-01T00:00:00Z", created_by: "base" }],
      annotations: { "org.opencontainers.image.base.digest": `sha256:${"ab".repeat(32)}` },
      layers: [
        {
          createdBy: "base image",
          entries: [],
          blob: {
            mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
            digest,
            size: baseBytes.length,
            diffId: `sha256:${"cd".repeat(32)}`,
            read: async function* () {
              yield bytes;
            },
          },
        },
        { createdBy: "r10e: artifacts", entries: [file("app", "x", 0o755)] },
      ],
    }],
  });
  await t.step("stored byte for byte, named by the manifest, with the base's history", async () => {
    const parts: Uint8Array[] = [];
    const result = await writeImageArchive(spec(baseBytes), (c) => {
      parts.push(c.slice());
    }, { compress: false });
    const image = result.images[0];
    assertEquals(image.layers[0], {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest,
      size: baseBytes.length,
    });
    assertEquals(image.diffIds[0], `sha256:${"cd".repeat(32)}`);
    const archive = new TextDecoder("latin1").decode(
      await collectBytes(ReadableStream.from(parts)),
    );
    assertEquals(archive.includes("pretend gzip bytes of a base layer"), true);
    assertEquals(archive.includes('"annotations":{"org.opencontainers.image.base.digest"'), true);
    assertEquals(
      archive.includes(
        '"history":[{"created":"2020-01-01T00:00:00Z","created_by":"base"},{"created":"2023-11-14T22:13:20Z","created_by":"r10e: artifacts"}]',
      ),
      true,
    );
  });
  await t.step("bytes that are not the blob's digest are an error", async () => {
    await assertRejects(
      () =>
        writeImageArchive(spec(enc.encode("Pretend gzip bytes of a base layer")), () => {}, {
          compress: false,
        }),
      RangeError,
      `Cannot write layer "${digest}"`,
    );
  });
});

Deno.test("writeImageArchive writes a given blob (a base image's layer) as it is, checked against its digest", async () => {
  const bytes = enc.encode("a base layer's compressed bytes");
  const digest = `sha256:${sha256Hex(bytes)}`;
  const given = (claimed: string): ArchiveSpec => {
    const spec = fixedSpec();
    spec.images[0].layers.unshift({
      createdBy: "base",
      entries: [],
      blob: {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: claimed,
        size: bytes.length,
        diffId: `sha256:${"d".repeat(64)}`,
        read: async function* () {
          yield bytes;
        },
      },
    });
    return spec;
  };
  const { result, bytes: archive } = await write(given(digest), false);
  assertEquals(result.images[0].layers[0].digest, digest);
  assertEquals(result.images[0].diffIds[0], `sha256:${"d".repeat(64)}`);
  const at = archive.findIndex((_, i) => bytes.every((b, j) => archive[i + j] === b));
  assertEquals(at > 0, true, "the blob's bytes are in the archive");
  const other = `sha256:${"e".repeat(64)}`;
  await assertRejects(
    () => write(given(other), false),
    RangeError,
    `Cannot write layer "${other}": its bytes have ${digest}`,
  );
});

Deno.test("writeImageArchive: a gzip layer of several blocks kept in memory is written as hashed", async () => {
  // Several 1 MiB blocks compressed on this thread alone (no workers), whose output buffers gzip
  // reuses; the compressed layer (under the memory bound) is kept between the two passes.
  let seed = 7;
  const text = new Uint8Array(3_500_000).map(() => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return 97 + ((seed >>> 16) % 16);
  });
  const spec: ArchiveSpec = {
    repository: "blocks",
    tag: "latest",
    created: 0,
    layerCompression: "gzip",
    images: [{
      platform: { os: "linux", architecture: "amd64" },
      config: { Env: [] },
      layers: [{ createdBy: "x", entries: [file("data.txt", text)] }],
    }],
  };
  const { bytes } = await write(spec, false, { workers: 0 });
  const path = await Deno.makeTempFile({ suffix: ".tar" });
  try {
    await Deno.writeFile(path, bytes);
    const { openImage } = await import("./reader.ts");
    // The reader checks every blob against its digest, and the layer against its diff_id.
    await using input = await openImage(path);
    const image = input.image();
    assertEquals(image.layers.map((l) => l.compression), ["gzip"]);
    let size = 0;
    for await (const e of input.layerEntries(image, 0)) {
      for await (const c of e.body) size += c.length;
    }
    assertEquals(size, text.length);
  } finally {
    await Deno.remove(path);
  }
});
