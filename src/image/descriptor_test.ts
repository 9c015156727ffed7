import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { DescriptorError, readDescriptor } from "./descriptor.ts";

const HEX = "ab".repeat(32);

Deno.test("readDescriptor keeps what it checks, and a well-formed platform and annotations", () => {
  assertEquals(
    readDescriptor({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: `sha256:${HEX}`,
      size: 0,
      platform: { os: "linux", architecture: "arm", variant: "v7" },
      annotations: { a: "1", b: 2 },
      artifactType: "application/spdx+json",
    }, "index.json: manifests[0]"),
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: `sha256:${HEX}`,
      size: 0,
      platform: { os: "linux", architecture: "arm", variant: "v7" },
      annotations: { a: "1" },
      artifactType: "application/spdx+json",
    },
  );
  assertEquals(
    readDescriptor({ digest: `sha256:${HEX}`, size: 7, platform: { os: "linux" } }, "x"),
    {
      mediaType: "",
      digest: `sha256:${HEX}`,
      size: 7,
    },
  );
});

Deno.test("readDescriptor refuses a digest or size that r10e cannot trust, naming where", () => {
  const bad: unknown[] = [
    null,
    [],
    { size: 1 },
    { digest: `sha256:${HEX.toUpperCase()}`, size: 1 },
    { digest: `sha256:${HEX.slice(1)}`, size: 1 },
    { digest: `sha256:${HEX}0`, size: 1 },
    { digest: `sha256:${"ab".repeat(16)}`, size: 1 },
    { digest: `SHA256:${HEX}`, size: 1 },
    { digest: `sha256:${HEX}`, size: -1 },
    { digest: `sha256:${HEX}`, size: 1.5 },
    { digest: `sha256:${HEX}`, size: 2 ** 53 },
    { digest: `sha256:${HEX}`, size: "1" },
    { digest: `sha256:${HEX}` },
  ];
  for (const d of bad) {
    const e = assertThrows(
      () => readDescriptor(d, "index.json: manifests[3]"),
      DescriptorError,
      "index.json: manifests[3] is not a valid descriptor (sha256 digest and size)",
    ) as DescriptorError;
    assertEquals(e.algorithm, null, JSON.stringify(d));
  }
});

Deno.test("readDescriptor names another algorithm's digest as such", () => {
  const digest = `sha512:${"cd".repeat(64)}`;
  const e = assertThrows(
    () => readDescriptor({ digest, size: 1 }, "m: config"),
    DescriptorError,
    "m: config has a sha512 digest: r10e checks sha256 digests only",
  ) as DescriptorError;
  assertEquals([e.algorithm, e.digest], ["sha512", digest]);
  assertEquals(e instanceof SyntaxError, true);
});
