import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { InputError } from "../errors.ts";
import { isAttachment, jsonDepth, parseDocuments } from "./documents.ts";
import { EntryStore, type OuterEntry, type Stored } from "./entries.ts";

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

/** An OCI layout held in memory: one image whose index entry and manifest `edit` may change. */
function layout(edit: { index?: (d: Record<string, unknown>) => void; config?: unknown } = {}) {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const blobs = new Map<string, Uint8Array>();
  const add = (bytes: Uint8Array, mediaType: string) => {
    const hex = createHash("sha256").update(bytes).digest("hex");
    blobs.set(`blobs/sha256/${hex}`, bytes);
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  };
  const layer = add(new Uint8Array(1024), "application/vnd.oci.image.layer.v1.tar");
  const config = edit.config ?? add(
    enc({
      os: "linux",
      architecture: "arm64",
      rootfs: { type: "layers", diff_ids: [layer.digest] },
    }),
    "application/vnd.oci.image.config.v1+json",
  );
  const manifest = add(
    enc({ schemaVersion: 2, config, layers: [layer] }),
    "application/vnd.oci.image.manifest.v1+json",
  );
  const entry: Record<string, unknown> = { ...manifest };
  edit.index?.(entry);
  blobs.set("index.json", enc({ schemaVersion: 2, manifests: [entry] }));
  const entries: OuterEntry[] = [...blobs].map(([path, bytes]) => ({
    name: path,
    path,
    header: null,
    kind: "file",
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  }));
  const stored = new Map<string, Stored>(
    [...blobs].map(([path, bytes]) => [path, { kind: "memory", bytes }]),
  );
  return new EntryStore({
    path: "x",
    kind: "directory",
    compression: "none",
    entries,
    stored,
    spool: null,
  });
}

Deno.test("parseDocuments: the image of an index, its platform from the config", async () => {
  const docs = await parseDocuments(layout());
  assert.equal(docs.images.length, 1);
  const [image] = docs.images;
  assert.deepEqual(image.platform, { os: "linux", architecture: "arm64" });
  assert.equal(image.layers[0].compression, "none");
  assert.equal(image.layers[0].diffId, image.layers[0].digest);
  assert.deepEqual(docs.dockerImages, []);
});

Deno.test("parseDocuments refuses a descriptor r10e cannot trust, naming where it is", async () => {
  const refused = async (store: EntryStore, message: RegExp) =>
    await assert.rejects(() => parseDocuments(store), (e: Error) => {
      assert.ok(e instanceof InputError, String(e));
      assert.match(e.message, message);
      return true;
    });
  await refused(
    layout({ index: (d) => (d.size = 1.5) }),
    /^Cannot read image "x": index\.json: manifests\[0\] is not a valid descriptor \(sha256 digest and size\)$/,
  );
  await refused(
    layout({ index: (d) => (d.size = -1) }),
    /index\.json: manifests\[0\] is not a valid descriptor/,
  );
  await refused(
    layout({ index: (d) => (d.digest = String(d.digest).toUpperCase().replace("SHA", "sha")) }),
    /index\.json: manifests\[0\] is not a valid descriptor/,
  );
  const sha512 = `sha512:${"ab".repeat(64)}`;
  await refused(
    layout({
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha512, size: 2 },
    }),
    /: config "blobs\/sha512\/(ab){64}" of blobs\/sha256\/[0-9a-f]{64}: config has a sha512 digest: r10e checks sha256 digests only$/,
  );
  await refused(
    layout({ index: (d) => (d.size = Number(d.size) + 1) }),
    /blob "blobs\/sha256\/[0-9a-f]{64}" has \d+ bytes, its descriptor in index\.json: manifests\[0\] says \d+$/,
  );
});
