import assert from "node:assert/strict";
import { InputError } from "../errors.ts";
import { type ImageInput, openImage } from "./reader.ts";
import { writeImageArchive } from "./writer.ts";
import { rawTar, sha256, type TestImageOptions, writeTestImage } from "../../tests/cp_images.ts";

const LAYERS = [
  rawTar([
    { name: "etc/", type: "dir", mode: 0o755 },
    { name: "etc/hello", content: "hello\n" },
  ]),
  rawTar([{ name: "etc/second", content: "two\n", mode: 0o600 }]),
];

async function names(input: ImageInput, layer: number): Promise<string[]> {
  const image = input.image();
  const out: string[] = [];
  for await (const e of input.layerEntries(image, layer)) {
    let text = "";
    for await (const c of e.body) text += new TextDecoder().decode(c);
    out.push(`${e.header.name}=${text}`);
  }
  return out;
}

Deno.test("openImage reads every layout, outer compression and layer compression", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: TestImageOptions[] = [];
    for (const layout of ["oci", "oci-only", "docker-legacy"] as const) {
      for (const outer of ["tar", "gzip", "zstd", "dir"] as const) {
        for (const layerCompression of ["none", "gzip", "zstd"] as const) {
          cases.push({ layout, outer, layerCompression });
        }
      }
    }
    for (const [i, c] of cases.entries()) {
      await t.step(`${c.layout} ${c.outer} layers:${c.layerCompression}`, async () => {
        const written = await writeTestImage(`${dir}/${i}`, LAYERS, c);
        await using input = await openImage(written.path, { tempDir: dir });
        assert.equal(
          input.compression,
          c.outer === "gzip" ? "gzip" : c.outer === "zstd" ? "zstd" : "none",
        );
        assert.equal(input.kind, c.outer === "dir" ? "directory" : "archive");
        const image = input.image();
        assert.equal(image.source, c.layout === "docker-legacy" ? "docker" : "oci");
        assert.equal(image.configDigest, written.configDigests[0]);
        assert.deepEqual(image.layers.map((l) => l.diffId), written.diffIds);
        assert.deepEqual(image.layers.map((l) => l.compression), [
          c.layerCompression,
          c.layerCompression,
        ]);
        if (c.layout !== "docker-legacy") {
          assert.equal(image.manifestDigest, written.manifestDigests[0]);
          assert.deepEqual(image.layers.map((l) => l.digest), written.layerDigests);
        }
        assert.equal(image.platform?.architecture, "amd64");
        assert.deepEqual(await names(input, 0), ["etc/=", "etc/hello=hello\n"]);
        assert.deepEqual(await names(input, 1), ["etc/second=two\n"]);
        if (c.outer !== "dir") {
          for (const e of input.entries) {
            if (e.kind === "file") assert.match(e.sha256!, /^[0-9a-f]{64}$/);
          }
          assert.deepEqual(
            input.entries.filter((e) => e.kind !== "dir").map((e) => e.path),
            written.names,
          );
        }
      });
    }
    // The spool directories are gone once the inputs are closed.
    const left = [];
    for await (const d of Deno.readDir(dir)) {
      if (d.name.startsWith("r10e-image-")) left.push(d.name);
    }
    assert.deepEqual(left, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openImage reads what our writer writes (gzip and plain)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const compress of [true, false]) {
      const path = `${dir}/out-${compress}.tar`;
      using file = await Deno.open(path, { write: true, create: true });
      const result = await writeImageArchive({
        repository: "app",
        tag: "latest",
        created: 0,
        images: [{
          platform: { os: "linux", architecture: "arm64" },
          config: { Env: ["PATH=/"] },
          layers: [{
            createdBy: "x",
            entries: [{
              name: "app",
              kind: "file",
              mode: 0o755,
              size: 3,
              content: async function* () {
                yield new TextEncoder().encode("abc");
              },
            }],
          }],
        }],
      }, async (chunk) => {
        let n = 0;
        while (n < chunk.length) n += await file.write(chunk.subarray(n));
      }, { compress });
      await using input = await openImage(path);
      assert.equal(input.compression, compress ? "gzip" : "none");
      const image = input.image("linux/arm64");
      assert.equal(image.configDigest, result.images[0].imageId);
      assert.equal(image.manifestDigest, result.images[0].manifestDigest);
      assert.deepEqual(image.repoTags, ["app:latest"]);
      assert.equal(image.annotations["org.opencontainers.image.ref.name"], "latest");
      assert.deepEqual(await names(input, 0), ["app=abc"]);
      assert.ok(input.indexJson && input.manifestJson && input.ociLayout);
      assert.equal(input.dockerImages.length, 1);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openImage picks a platform from a nested multi-platform index", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const written = await writeTestImage(`${dir}/multi.tar`, LAYERS, {
      platforms: ["linux/amd64", "linux/arm64/v8"],
    });
    await using input = await openImage(written.path);
    assert.equal(input.images.length, 2);
    assert.equal(input.image("linux/arm64").configDigest, written.configDigests[1]);
    assert.equal(input.image("linux/amd64").configDigest, written.configDigests[0]);
    assert.throws(
      () => input.image(),
      new InputError(
        `Cannot read image "${written.path}": it holds images for linux/amd64, linux/arm64/v8: choose one with --platform`,
      ),
    );
    assert.throws(
      () => input.image("linux/s390x"),
      new InputError(
        `Cannot read image "${written.path}": no image for platform "linux/s390x" (it has linux/amd64, linux/arm64/v8)`,
      ),
    );
    await using chosen = await openImage(written.path, { platform: "linux/arm64" });
    assert.equal(chosen.image().configDigest, written.configDigests[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openImage follows docker save's symlinked duplicate layers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const same = [LAYERS[0], LAYERS[0]];
    const written = await writeTestImage(`${dir}/legacy.tar`, same, {
      layout: "docker-legacy",
      symlinkLastLayer: true,
    });
    await using input = await openImage(written.path);
    const image = input.image();
    assert.equal(image.layers[0].path, image.layers[1].path);
    assert.deepEqual(await names(input, 1), ["etc/=", "etc/hello=hello\n"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openImage follows hardlinked entries of the outer archive", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const enc = new TextEncoder();
    const config = enc.encode(JSON.stringify({
      os: "linux",
      architecture: "amd64",
      rootfs: { type: "layers", diff_ids: LAYERS.map((l) => "sha256:" + sha256(l)) },
    }));
    // Written by hand: a tar of a layout whose second layer is a hardlink to a shared blob.
    const outer = rawTar([
      { name: "c.json", content: config },
      { name: "a/", type: "dir" },
      { name: "a/layer.tar", content: LAYERS[0] },
      { name: "b/", type: "dir" },
      { name: "b/layer.tar", content: LAYERS[1] },
      { name: "d/", type: "dir" },
      { name: "d/layer.tar", type: "hardlink", linkname: "./a/layer.tar" },
      {
        name: "manifest.json",
        content: JSON.stringify([{ Config: "c.json", Layers: ["d/layer.tar", "b/layer.tar"] }]),
      },
    ]);
    await Deno.writeFile(`${dir}/h.tar`, outer);
    await using input = await openImage(`${dir}/h.tar`);
    assert.equal(input.image().layers[0].path, "a/layer.tar");
    assert.deepEqual(await names(input, 0), ["etc/=", "etc/hello=hello\n"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openImage errors name the archive and the entry", async (t) => {
  const dir = await Deno.makeTempDir();
  const expectError = async (path: string, message: string, layer?: number) => {
    await assert.rejects(async () => {
      await using input = await openImage(path);
      if (layer !== undefined) await names(input, layer);
    }, (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.message, message);
      assert.equal(e.exitCode, 2);
      return true;
    });
  };
  try {
    await t.step("a corrupt blob", async () => {
      const w = await writeTestImage(`${dir}/c.tar`, LAYERS, { layout: "oci-only" });
      const bytes = await Deno.readFile(w.path);
      // Flip one byte of the content of "hello" inside the first layer blob.
      const at = findBytes(bytes, new TextEncoder().encode("hello\n"));
      bytes[at] ^= 0x20;
      await Deno.writeFile(w.path, bytes);
      await expectError(
        w.path,
        `Cannot read image "${w.path}": blob "blobs/sha256/${
          w.layerDigests[0].slice(7)
        }" does not match its digest`,
      );
    });
    await t.step("a corrupt blob inside a gzip archive", async () => {
      const w = await writeTestImage(`${dir}/c2.tar`, LAYERS, { layout: "oci-only" });
      const bytes = await Deno.readFile(w.path);
      bytes[findBytes(bytes, new TextEncoder().encode("two\n"))] ^= 1;
      const gz = `${dir}/c2.tar.gz`;
      await Deno.writeFile(gz, new Uint8Array((await import("node:zlib")).gzipSync(bytes)));
      await expectError(
        gz,
        `Cannot read image "${gz}": blob "blobs/sha256/${
          w.layerDigests[1].slice(7)
        }" does not match its digest`,
      );
    });
    await t.step("a docker-archive config that does not match its name", async () => {
      const w = await writeTestImage(`${dir}/cfg.tar`, LAYERS, { layout: "docker-legacy" });
      const bytes = await Deno.readFile(w.path);
      const at = findBytes(bytes, new TextEncoder().encode('"amd64"'));
      bytes.set(new TextEncoder().encode('"arm64"'), at);
      await Deno.writeFile(w.path, bytes);
      const name = `${w.configDigests[0].slice(7)}.json`;
      await expectError(
        w.path,
        `Cannot read image "${w.path}": config "${name}" does not match its digest`,
      );
    });
    await t.step("no manifest", async () => {
      const w = await writeTestImage(`${dir}/m.tar`, LAYERS, {
        layout: "docker-legacy",
        omit: (n) => n === "manifest.json",
      });
      await expectError(w.path, `Cannot read image "${w.path}": manifest.json is missing`);
    });
    await t.step("no index in an OCI layout", async () => {
      const w = await writeTestImage(`${dir}/i.tar`, LAYERS, {
        layout: "oci-only",
        omit: (n) => n === "index.json",
      });
      await expectError(w.path, `Cannot read image "${w.path}": index.json is missing`);
    });
    await t.step("a missing layer", async () => {
      const w0 = await writeTestImage(`${dir}/probe.tar`, LAYERS, { layout: "docker-legacy" });
      const layerName = w0.names.find((n) => n.endsWith("/layer.tar"))!;
      const w = await writeTestImage(`${dir}/l.tar`, LAYERS, {
        layout: "docker-legacy",
        omit: (n) => n === layerName,
      });
      await expectError(w.path, `Cannot read image "${w.path}": layer "${layerName}" is missing`);
    });
    await t.step("a missing layer blob", async () => {
      const hex = sha256(LAYERS[1]);
      const w = await writeTestImage(`${dir}/l2.tar`, LAYERS, {
        omit: (n) => n === `blobs/sha256/${hex}`,
      });
      await expectError(
        w.path,
        `Cannot read image "${w.path}": layer "blobs/sha256/${hex}" is missing`,
      );
    });
    await t.step("an uncompressed layer with a wrong diff_id", async () => {
      const w = await writeTestImage(`${dir}/d.tar`, LAYERS, {
        layout: "docker-legacy",
        badDiffId: 1,
      });
      const layer = w.names.filter((n) => n.endsWith("/layer.tar"))[1];
      await expectError(
        w.path,
        `Cannot read image "${w.path}": layer 1 "${layer}" does not match its diff_id: ` +
          `the config claims "sha256:${"0".repeat(64)}", its content is "sha256:${
            sha256(LAYERS[1])
          }"`,
      );
    });
    await t.step("a gzip layer with a wrong diff_id, found when it is read", async () => {
      const w = await writeTestImage(`${dir}/d2.tar`, LAYERS, {
        layerCompression: "gzip",
        badDiffId: 0,
      });
      await expectError(
        w.path,
        `Cannot read image "${w.path}": layer 0 "blobs/sha256/${
          w.layerDigests[0].slice(7)
        }" does not match its diff_id: the config claims "sha256:${
          "0".repeat(64)
        }", its content is "sha256:${sha256(LAYERS[0])}"`,
        0,
      );
    });
    await t.step("a truncated archive", async () => {
      const w = await writeTestImage(`${dir}/t.tar`, LAYERS);
      const bytes = await Deno.readFile(w.path);
      await Deno.writeFile(w.path, bytes.subarray(0, 1500));
      await expectError(w.path, `Cannot read image "${w.path}": not a valid tar archive`);
    });
    await t.step("a missing file", async () => {
      await expectError(`${dir}/nope.tar`, `Cannot read image "${dir}/nope.tar": file not found`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function findBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("not found");
}

Deno.test("a gzip layer's diff_id covers the record padding after its end blocks, however it is chunked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // GNU tar pads a tar to 10240-byte records; here the padding runs past the first 256 KiB
    // the inflater hands out, after the end-of-archive blocks that stop the tar reader.
    const tar = rawTar([{ name: "big", content: new Uint8Array(508 * 512).fill(7) }]);
    const layer = new Uint8Array(Math.ceil(tar.length / 10240) * 10240);
    layer.set(tar);
    assert.ok(tar.length < 256 << 10 && layer.length > 256 << 10);
    const path = `${dir}/padded.tar`;
    await writeTestImage(path, [layer], { layerCompression: "gzip" });
    await using input = await openImage(path);
    assert.deepEqual((await names(input, 0)).map((n) => n.slice(0, 4)), ["big="]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openImage documentsOnly: a gzip archive's large blobs are passed over, checked when asked", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    // A layer of 2 MiB (over the size below which blobs are always hashed), marked in its middle.
    const big = new Uint8Array(2 << 20).fill(0x61);
    big.set(new TextEncoder().encode("needle"), 1 << 20);
    const w = await writeTestImage(`${dir}/big.tar`, [rawTar([{ name: "big", content: big }])], {
      layout: "oci-only",
    });
    const layer = `blobs/sha256/${w.layerDigests[0].slice(7)}`;
    const bytes = await Deno.readFile(w.path);
    const { gzipSync } = await import("node:zlib");
    await Deno.writeFile(`${dir}/honest.tar.gz`, new Uint8Array(gzipSync(bytes)));
    bytes[findBytes(bytes, new TextEncoder().encode("needle"))] ^= 1;
    await Deno.writeFile(`${dir}/lying.tar.gz`, new Uint8Array(gzipSync(bytes)));
    await t.step(
      "the honest archive: the documents read, the layer checked when asked",
      async () => {
        await using input = await openImage(`${dir}/honest.tar.gz`, { documentsOnly: true });
        assert.equal(input.image().manifestDigest, w.manifestDigests[0]);
        assert.deepEqual([...input.unhashed], [layer]);
        await input.checkBlobs([layer]);
        assert.deepEqual([...input.unhashed], []);
      },
    );
    await t.step("a lying layer: opened for its documents, refused when checked", async () => {
      await using input = await openImage(`${dir}/lying.tar.gz`, { documentsOnly: true });
      assert.deepEqual([...input.unhashed], [layer]);
      await assert.rejects(
        () => input.checkBlobs([layer]),
        new RegExp(`blob "${layer}" does not match its digest$`),
      );
    });
    await t.step("without documentsOnly the lying layer is refused when opened", async () => {
      await assert.rejects(
        async () => {
          await using _ = await openImage(`${dir}/lying.tar.gz`);
        },
        new RegExp(`blob "${layer}" does not match its digest$`),
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
