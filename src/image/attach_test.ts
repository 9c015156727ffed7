/**
 * The documents attached to each image (format version 3): OCI 1.1 artifacts in the layout,
 * the image itself untouched. Read back with tar(1) and r10e's reader.
 */
import { assertEquals } from "../../tests/_assert.ts";
import { dirEntry, fileEntry } from "../../tests/_bytes.ts";
import { sha256Hex } from "./digest.ts";
import { openImage } from "./reader.ts";
import {
  type ArchiveSpec,
  type AttachContext,
  type Attachment,
  EMPTY_MEDIA_TYPE,
  type ImageResult,
  MediaType,
  writeImageArchive,
} from "./writer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function spec(platforms: string[]): ArchiveSpec {
  return {
    repository: "attach",
    tag: "latest",
    created: 1700000000,
    revision: "0123456789abcdef0123456789abcdef01234567",
    images: platforms.map((p) => {
      const [os, architecture] = p.split("/");
      return {
        platform: { os, architecture },
        config: { Env: ["PATH=/bin"], Entrypoint: ["/app/server"] },
        layers: [{
          createdBy: "r10e: artifacts",
          entries: [dirEntry("app"), fileEntry("app/server", `\x7fELF ${p}`, 0o755)],
        }],
      };
    }),
  };
}

/** Two documents per image that name the image they describe. */
function documents(image: ImageResult, archive: AttachContext): Promise<Attachment[]> {
  const about = `${image.manifestDigest} of ${archive.images.length}`;
  return Promise.resolve([
    { artifactType: "application/spdx+json", bytes: enc.encode(`{"spdx":"${about}"}`) },
    { artifactType: "application/vnd.in-toto+json", bytes: enc.encode(`{"toto":"${about}"}`) },
  ]);
}

/** Writes a plain tar to a temporary file; returns its path, the result and the unpacked folder. */
async function write(s: ArchiveSpec, attach?: typeof documents) {
  const dir = await Deno.makeTempDir({ prefix: "r10e-attach-" });
  const file = await Deno.open(`${dir}/image.tar`, { write: true, create: true });
  const result = await writeImageArchive(s, async (c) => {
    let off = 0;
    while (off < c.length) off += await file.write(c.subarray(off));
  }, { compress: false, attach });
  file.close();
  await Deno.mkdir(`${dir}/x`);
  const tar = await new Deno.Command("tar", { args: ["-xf", `${dir}/image.tar`, "-C", `${dir}/x`] })
    .output();
  assertEquals(tar.code, 0, dec.decode(tar.stderr));
  const json = async (name: string) => JSON.parse(await Deno.readTextFile(`${dir}/x/${name}`));
  const blob = (digest: string) => json(`blobs/sha256/${digest.slice(7)}`);
  return { dir, result, json, blob };
}

Deno.test("attachments: the images' manifest digests, configs and manifest.json do not change", async (t) => {
  for (const platforms of [["linux/amd64"], ["linux/amd64", "linux/arm64"]]) {
    await t.step(platforms.join(" + "), async () => {
      const plain = await write(spec(platforms));
      const attached = await write(spec(platforms), documents);
      try {
        assertEquals(attached.result.images, plain.result.images);
        assertEquals(await attached.json("manifest.json"), await plain.json("manifest.json"));
        for (const image of plain.result.images) {
          assertEquals(await attached.blob(image.imageId), await plain.blob(image.imageId));
          assertEquals(
            await attached.blob(image.manifestDigest),
            await plain.blob(image.manifestDigest),
          );
        }
        const [ip, ia] = [await plain.json("index.json"), await attached.json("index.json")];
        // The image's own entry (its manifest, or the index of several) first and unchanged;
        // then one per document and image.
        assertEquals(ip.manifests.length, 1);
        assertEquals(ia.manifests.slice(0, 1), ip.manifests);
        assertEquals(ia.manifests.length, 1 + platforms.length * 2);
      } finally {
        await Deno.remove(plain.dir, { recursive: true });
        await Deno.remove(attached.dir, { recursive: true });
      }
    });
  }
});

Deno.test("attachments: artifact manifests with artifactType, the empty config, the document, the image as subject", async () => {
  const w = await write(spec(["linux/amd64", "linux/arm64"]), documents);
  try {
    const index = await w.json("index.json");
    const artifacts = index.manifests.slice(1);
    assertEquals(artifacts.map((d: { artifactType: string }) => d.artifactType), [
      "application/spdx+json",
      "application/vnd.in-toto+json",
      "application/spdx+json",
      "application/vnd.in-toto+json",
    ]);
    for (const [i, d] of artifacts.entries()) {
      const image = w.result.images[i >> 1];
      // No name: no tool takes a document for an image to tag.
      assertEquals(Object.keys(d).sort(), ["artifactType", "digest", "mediaType", "size"]);
      assertEquals(d.mediaType, MediaType.manifest);
      const bytes = await Deno.readFile(`${w.dir}/x/blobs/sha256/${d.digest.slice(7)}`);
      assertEquals(bytes.length, d.size);
      assertEquals("sha256:" + sha256Hex(bytes), d.digest);
      const m = JSON.parse(dec.decode(bytes));
      assertEquals(m.artifactType, d.artifactType);
      assertEquals(m.mediaType, MediaType.manifest);
      assertEquals(m.schemaVersion, 2);
      // The OCI empty descriptor (image-spec 1.1): `{}`, sha256:44136fa3…
      assertEquals(m.config, {
        mediaType: EMPTY_MEDIA_TYPE,
        digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        size: 2,
      });
      assertEquals(
        await Deno.readTextFile(`${w.dir}/x/blobs/sha256/${m.config.digest.slice(7)}`),
        "{}",
      );
      const subject = await Deno.readFile(
        `${w.dir}/x/blobs/sha256/${image.manifestDigest.slice(7)}`,
      );
      assertEquals(m.subject, {
        mediaType: MediaType.manifest,
        digest: image.manifestDigest,
        size: subject.length,
      });
      assertEquals(m.layers.length, 1);
      assertEquals(m.layers[0].mediaType, d.artifactType);
      const doc = await w.blob(m.layers[0].digest);
      // Each image's documents were made from its own result, with every digest known.
      assertEquals(Object.values(doc)[0], `${image.manifestDigest} of 2`);
    }
  } finally {
    await Deno.remove(w.dir, { recursive: true });
  }
});

Deno.test("attachments: r10e's reader lists the images only", async () => {
  const w = await write(spec(["linux/amd64", "linux/arm64"]), documents);
  try {
    await using input = await openImage(`${w.dir}/image.tar`);
    assertEquals(
      input.images.map((i) => i.manifestDigest),
      w.result.images.map((i) => i.manifestDigest),
    );
    assertEquals(input.image("linux/arm64").manifestDigest, w.result.images[1].manifestDigest);
  } finally {
    await Deno.remove(w.dir, { recursive: true });
  }
});

Deno.test("attachments: golden archive digest (a change is a format change)", async () => {
  const w = await write(spec(["linux/amd64"]), documents);
  try {
    const sha = sha256Hex(await Deno.readFile(`${w.dir}/image.tar`));
    if (Deno.env.get("R10E_PRINT_GOLDEN")) console.log(sha);
    // Format 4: the image's layer is gzip (layer_compression's default).
    assertEquals(sha, "818b2ab8eb678914aa385c6d1fd2802f4daf35a2dedba6ea6273b0e653940733");
  } finally {
    await Deno.remove(w.dir, { recursive: true });
  }
});
