import { assertEquals } from "../../tests/_assert.ts";
import { parseConfig } from "../config/schema.ts";
import { sha256Hex } from "../image/digest.ts";
import { concatBytes } from "../bytes.ts";
import { writeImageArchive } from "../image/writer.ts";
import { loadTzdata } from "../pinned/tzdata.ts";
import { LAYER_CREATED_BY, runtimeConfig } from "./build.ts";
import { tzdataItems } from "./collect.ts";
import { layerEntries } from "./stage.ts";

const enc = new TextEncoder();

Deno.test("tzdataItems: one 0644 file per zone under /usr/share/zoneinfo", async () => {
  const tz = await loadTzdata();
  const items = tzdataItems(tz);
  assertEquals(items.length, tz.files.length);
  assertEquals(items.every((i) => i.dest.startsWith("/usr/share/zoneinfo/")), true);
  assertEquals(items.every((i) => i.kind === "file" && i.executable === false), true);
});

Deno.test("runtimeConfig: nonroot sets User 65532 unless config.json names a user", () => {
  const config = (extra: string) =>
    parseConfig(
      `{"project_name": "p", "build_cmd": "true", "artifacts": [{"src": "a", "dest": "/a"}]${extra}}`,
      "config.json",
    ).config;
  assertEquals(runtimeConfig(config(`, "runtime": "nonroot"`)).User, "65532");
  assertEquals(runtimeConfig(config(`, "runtime": "nonroot", "user": "1000"`)).User, "1000");
  assertEquals(runtimeConfig(config(`, "runtime": "root"`)).User, undefined);
  assertEquals(runtimeConfig(config("")).User, undefined);
});

/** Golden digests of an image with exposed_ports, stop_signal and include_tzdata. */
const GOLDEN = {
  /** The uncompressed tzdata layer (its diff_id), unchanged since format 2. */
  tzdataLayer: "sha256:508ac0ea3a2ed85328c84f16dd850ed0d72a1fc8e32e53a483e1495ce20d9e79",
  /** Format 4: the same layer gzip by the pinned compressor (layer_compression's default). */
  tzdataBlob: "sha256:0f1fa0e08b0a040a7533abcd552a1bae976777cb6777a1ded6324f826f17dfba",
  config:
    '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"ExposedPorts":{"53/udp":{},"8080/tcp":{}},"Labels":{"org.opencontainers.image.created":"2023-11-14T22:13:20Z"},"StopSignal":"SIGINT"}',
  imageId: "sha256:3babf3e1f60f58a055ccaf7452f5749dcecd224bff6a6b6a686512e56d6568e6",
  manifestDigest: "sha256:6aa6f47c590950870d91a2cfbd17a7e58f3d4877c275046e8250609aff0383d4",
};

Deno.test("image with exposed_ports, stop_signal and include_tzdata: golden digests", async () => {
  const { config } = parseConfig(
    JSON.stringify({
      project_name: "golden-fields",
      build_cmd: "true",
      artifacts: [{ src: "app", dest: "/app/server" }],
      exposed_ports: ["8080", "53/udp"],
      stop_signal: "SIGINT",
      include_tzdata: true,
    }),
    "config.json",
  );
  const runtime = runtimeConfig(config);
  assertEquals(runtime.ExposedPorts, { "53/udp": {}, "8080/tcp": {} });
  assertEquals(runtime.StopSignal, "SIGINT");
  const parts: Uint8Array[] = [];
  const result = await writeImageArchive(
    {
      repository: config.project_name,
      tag: "latest",
      created: 1700000000,
      images: [{
        platform: { os: "linux", architecture: "amd64" },
        config: runtime,
        layers: [
          {
            createdBy: LAYER_CREATED_BY.tzdata,
            entries: layerEntries(tzdataItems(await loadTzdata())),
          },
          {
            createdBy: LAYER_CREATED_BY.artifacts,
            entries: [{ name: "app", kind: "dir", mode: 0o755, size: 0 }, {
              name: "app/server",
              kind: "file",
              mode: 0o755,
              size: 4,
              content: async function* () {
                yield enc.encode("\x7fELF");
              },
            }],
          },
        ],
      }],
    },
    (chunk) => {
      parts.push(chunk.slice());
      return Promise.resolve();
    },
    { compress: false },
  );
  const image = result.images[0];
  // The config blob: ExposedPorts and StopSignal as Docker writes them.
  const archive = concatBytes(parts);
  const configText = findBlob(archive, image.imageId.slice(7));
  const found = {
    tzdataLayer: image.diffIds[0],
    tzdataBlob: image.layers[0].digest,
    config: JSON.stringify(JSON.parse(configText).config),
    imageId: image.imageId,
    manifestDigest: image.manifestDigest,
  };
  if (Deno.env.get("R10E_PRINT_GOLDEN")) console.log(JSON.stringify(found, null, 1));
  assertEquals(sha256Hex(enc.encode(configText)), image.imageId.slice(7));
  assertEquals(found, GOLDEN);
});

/** The text of the blob `blobs/sha256/<hex>` in an uncompressed archive (ustar names only). */
function findBlob(tar: Uint8Array, hex: string): string {
  const dec = new TextDecoder();
  for (let at = 0; at + 512 <= tar.length;) {
    const name = dec.decode(tar.subarray(at, at + 100)).replace(/\0.*$/s, "");
    const size = parseInt(
      dec.decode(tar.subarray(at + 124, at + 136)).replace(/\0.*$/s, "").trim() || "0",
      8,
    );
    if (name === `blobs/sha256/${hex}`) return dec.decode(tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`blob ${hex} not found`);
}
