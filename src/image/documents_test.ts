import assert from "node:assert/strict";
import { isAttachment, jsonDepth } from "./documents.ts";

Deno.test("jsonDepth counts nested arrays and objects, not brackets inside strings", () => {
  const depth = (s: string) => jsonDepth(new TextEncoder().encode(s));
  assert.equal(depth(`"x"`), 0);
  assert.equal(depth(`{"a": [1, {"b": []}]}`), 4);
  assert.equal(depth(`["[[[[", "\\"[[[", {}]`), 2);
  assert.equal(depth(`[[]] [[[]]]`), 3);
  assert.equal(depth("[".repeat(600) + "]".repeat(600)), 600);
});

Deno.test("isAttachment: an artifactType naming an image config is an image (crane's layouts); others, a subject or the empty config are attachments", () => {
  const image = {
    config: { mediaType: "application/vnd.oci.image.config.v1+json" },
    layers: [],
  };
  // crane pull --format oci writes this descriptor for a plain image.
  const crane = { artifactType: "application/vnd.oci.image.config.v1+json" };
  assert.equal(isAttachment(crane, image), false);
  assert.equal(
    isAttachment({ artifactType: "application/vnd.docker.container.image.v1+json" }, image),
    false,
  );
  assert.equal(isAttachment({}, image), false);
  assert.equal(isAttachment({ artifactType: "application/spdx+json" }, image), true);
  assert.equal(isAttachment({}, { ...image, artifactType: "application/vnd.in-toto+json" }), true);
  assert.equal(isAttachment({}, { ...image, subject: { digest: "sha256:00" } }), true);
  assert.equal(
    isAttachment({}, { config: { mediaType: "application/vnd.oci.empty.v1+json" }, layers: [] }),
    true,
  );
});
