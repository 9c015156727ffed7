/**
 * Round trip (STYLE: tests): an image r10e writes, large enough that its outer
 * gzip has several members, is read back by r10e's own reader with every
 * digest matching what the writer reported.
 */
import { assertEquals } from "./_assert.ts";
import { openImage } from "../src/image/reader.ts";
import { writeImageArchive } from "../src/image/writer.ts";
import type { TarEntry } from "../src/tar/writer.ts";
import { dirEntry, fileEntry } from "./_bytes.ts";

Deno.test("round trip: a multi-member gzip archive reads back with the digests the writer reported", async () => {
  // 3 MB of a fixed pseudo-random pattern: three 1 MiB gzip members.
  const big = new Uint8Array(3_000_000);
  let x = 7;
  for (let i = 0; i < big.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    big[i] = x >>> 24;
  }
  const entries: TarEntry[] = [dirEntry("app"), fileEntry("app/blob", big)];
  const path = await Deno.makeTempFile({ suffix: ".tar.gz" });
  try {
    using file = await Deno.open(path, { write: true, truncate: true });
    const result = await writeImageArchive({
      repository: "roundtrip",
      tag: "latest",
      created: 0,
      images: [{
        platform: { os: "linux", architecture: "amd64" },
        config: { Env: ["PATH=/bin"] },
        layers: [{ createdBy: "r10e: artifacts", entries }],
      }],
    }, async (chunk) => {
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
    });
    await using input = await openImage(path);
    assertEquals(input.compression, "gzip");
    const image = input.image();
    assertEquals(image.configDigest, result.images[0].imageId);
    assertEquals(image.manifestDigest, result.images[0].manifestDigest);
    // Gzip layers (the default): the blob digest is the manifest's, the diff_id the config's.
    assertEquals(image.layers.map((l) => l.diffId), result.images[0].diffIds);
    assertEquals(image.layers.map((l) => l.digest), result.images[0].layers.map((l) => l.digest));
    assertEquals(image.layers.map((l) => l.compression), ["gzip"]);
    assertEquals(image.repoTags, ["roundtrip:latest"]);
  } finally {
    await Deno.remove(path);
  }
});
