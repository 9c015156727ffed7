import { gunzipSync } from "node:zlib";
import { assertEquals, assertRejects } from "../../tests/_assert.ts";
import { collectBytes, dirEntry, fileEntry } from "../../tests/_bytes.ts";
import { sha256Hex } from "./digest.ts";
import {
  type ArchiveSpec,
  fullImageName,
  rfc3339,
  withProvenance,
  writeImageArchive,
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

async function write(spec: ArchiveSpec, compress: boolean) {
  const parts: Uint8Array[] = [];
  const result = await writeImageArchive(spec, (c) => {
    parts.push(c.slice());
  }, { compress });
  const bytes = await collectBytes((async function* () {
    yield* parts;
  })());
  return { result, bytes };
}

// Golden digests: a change to any of these is an image format change. Bump
// FORMAT_VERSION and say so in the commit (DESIGN: the one invariant).
const GOLDEN = {
  layers: [
    "sha256:d4741daeb477ef857fa69b2c7d39f03a47b26b0fe85122763f30a91083e85e04",
    "sha256:01697008b6efdfb17ef93606b00a69191c37ba044b6787e7a70532d8321af71c",
    "sha256:3ae268ec63baa4fd319f3371e9eded6e2e39dfb35030778cebc91e0acc03c7a1",
  ],
  imageId: "sha256:5a1407a0bf0d02c4ecc782e51adcb25e4e77fb214f854d7519ad6afff19f60d8",
  manifestDigest: "sha256:a51b8f8930ff25f3b2b2652620d137461d30deb285b6c0abaabe1014704970d7",
  archiveTar: "1b1a0f65e5d11685af941c77a8c98d1aa7a8814b11578e9c5bce89c22a703c35",
  archiveGz: "cfb90dfb0f28752a53f4a50fc30129d62d948a8c69d9d47d47d55e25abf3d445",
};

Deno.test("writeImageArchive: golden digests for a fixed staged tree and creation time", async () => {
  const { result } = await write(fixedSpec(), true);
  const { result: plain } = await write(fixedSpec(), false);
  if (Deno.env.get("R10E_PRINT_GOLDEN")) console.log(JSON.stringify({ result, plain }, null, 1));
  assertEquals(result.images[0].layers.map((l) => l.digest), GOLDEN.layers);
  assertEquals(result.images[0].imageId, GOLDEN.imageId);
  assertEquals(result.images[0].manifestDigest, GOLDEN.manifestDigest);
  assertEquals(plain.archiveSha256, GOLDEN.archiveTar);
  assertEquals(result.archiveSha256, GOLDEN.archiveGz);
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
    assertEquals(seen["oci-layout"], { imageLayoutVersion: "1.0.0" });
    assertEquals(seen["manifest.json"], [{
      Config: `blobs/sha256/${image.imageId.slice(7)}`,
      Layers: image.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      RepoTags: ["golden:latest"],
    }]);
    const index = seen["index.json"];
    assertEquals(index.manifests[0].digest, image.manifestDigest);
    assertEquals(index.manifests[0].annotations, {
      "io.containerd.image.name": "docker.io/library/golden:latest",
      "org.opencontainers.image.ref.name": "latest",
    });
  } finally {
    await Deno.remove(tmp);
  }
});

Deno.test("writeImageArchive: a file that changes between the two passes is an error", async () => {
  const spec = fixedSpec();
  let calls = 0;
  spec.images[0].layers[2].entries[1].content = async function* () {
    calls++;
    yield enc.encode(calls === 1 ? "\x7fELF not really" : "\x7fELF changed!!!");
  };
  await assertRejects(
    () => write(spec, true),
    RangeError,
    "its files changed while r10e read them",
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
  const { bytes } = await write(fixedSpec(), true);
  assertEquals([...bytes.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
});

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
