/**
 * `base_image` of other shapes, made in the test over the loopback registry's HTTP API: a zstd
 * layer (the busybox layer that `docker import` made, inflated and compressed again with the
 * zstd CLI, under an OCI manifest with the same config) behind an index nested in an index.
 * The build finds the platform's manifest through both indexes, keeps the zstd blob byte for
 * byte, and its SBOMs (which read the base's files through zstd) are what `r10e sbom` reads from
 * the archive.
 */
import { assertEquals } from "./_assert.ts";
import { copyExample, r10e } from "./_cli.ts";
import {
  dockerTest,
  findTool,
  importImage,
  pushToLocalRegistry,
  removeImagesNamed,
  run,
  testRegistry,
  writeBusyboxRootfs,
} from "./_docker.ts";
import { cacheEnv, suffix } from "./_registry.ts";

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd";

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return "sha256:" + [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The loopback registry's API for one repository (plain http). */
function registryApi(registry: string, repo: string) {
  const base = `http://${registry}/v2/${repo}`;
  return {
    async get(path: string, accept?: string): Promise<Uint8Array> {
      const r = await fetch(`${base}/${path}`, { headers: accept ? { accept } : {} });
      assertEquals(r.status, 200, `GET ${path}`);
      return new Uint8Array(await r.arrayBuffer());
    },
    async putBlob(bytes: Uint8Array<ArrayBuffer>): Promise<{ digest: string; size: number }> {
      const digest = await sha256(bytes);
      const start = await fetch(`${base}/blobs/uploads/`, { method: "POST" });
      await start.body?.cancel();
      assertEquals(start.status, 202);
      const location = new URL(start.headers.get("location")!, `http://${registry}`);
      location.searchParams.set("digest", digest);
      const put = await fetch(location, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream" },
        body: bytes,
      });
      await put.body?.cancel();
      assertEquals(put.status, 201);
      return { digest, size: bytes.length };
    },
    async putManifest(doc: unknown, mediaType: string): Promise<{ digest: string; size: number }> {
      const bytes = new TextEncoder().encode(JSON.stringify(doc));
      const digest = await sha256(bytes);
      const put = await fetch(`${base}/manifests/${digest}`, {
        method: "PUT",
        headers: { "content-type": mediaType },
        body: bytes,
      });
      await put.body?.cancel();
      assertEquals(put.status, 201, `PUT manifest ${mediaType}`);
      return { digest, size: bytes.length };
    },
  };
}

dockerTest(
  "base_image: a zstd layer behind a nested index, byte for byte, in the SBOMs",
  async (t) => {
    const zstd = findTool("zstd");
    if (!zstd) throw new Error("zstd is not installed (bash scripts/setup.sh installs it)");
    const registry = testRegistry()!;
    const dir = await Deno.makeTempDir({ prefix: "r10e-base-shapes-" });
    const id = suffix();
    try {
      await Deno.mkdir(`${dir}/rootfs`);
      await writeBusyboxRootfs(`${dir}/rootfs`);
      const tag = `r10e-base-zstd-${id}:gzip`;
      await importImage(`${dir}/rootfs`, tag);
      const gzipRef = await pushToLocalRegistry(tag);
      const repo = gzipRef.slice(gzipRef.indexOf("/") + 1, gzipRef.indexOf("@"));
      const api = registryApi(registry, repo);
      const pushed = JSON.parse(new TextDecoder().decode(
        await api.get(
          `manifests/${gzipRef.split("@")[1]}`,
          "application/vnd.docker.distribution.manifest.v2+json",
        ),
      ));
      // The layer inflated (its diff_id stays the config's), then compressed with zstd.
      const gz = await api.get(`blobs/${pushed.layers[0].digest}`);
      await Deno.writeFile(`${dir}/layer.tar.gz`, gz);
      const gunzip = await run("gzip", ["-d", `${dir}/layer.tar.gz`]);
      assertEquals(gunzip.code, 0, gunzip.stderr);
      const z = await run(zstd, ["-q", "-19", `${dir}/layer.tar`, "-o", `${dir}/layer.tar.zst`]);
      assertEquals(z.code, 0, z.stderr);
      const layer = await api.putBlob(await Deno.readFile(`${dir}/layer.tar.zst`));
      const manifest = await api.putManifest({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { ...pushed.config, mediaType: "application/vnd.oci.image.config.v1+json" },
        layers: [{ mediaType: ZSTD_LAYER, ...layer }],
      }, OCI_MANIFEST);
      const inner = await api.putManifest({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{
          mediaType: OCI_MANIFEST,
          ...manifest,
          platform: { architecture: "amd64", os: "linux" },
        }],
      }, OCI_INDEX);
      const outer = await api.putManifest({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_INDEX, ...inner }],
      }, OCI_INDEX);
      const baseRef = `${registry}/${repo}@${outer.digest}`;

      const project = `${dir}/project`;
      await copyExample(project);
      const original = await Deno.readTextFile(`${project}/config.json`);
      await Deno.writeTextFile(
        `${project}/config.json`,
        original
          .replace(/"project_name": "[^"]*"/, `"project_name": "r10e-based-zstd-${id}"`)
          .replace(/\}\s*$/, `,\n  "base_image": "${baseRef}"\n}\n`),
      );
      const env = { SOURCE_DATE_EPOCH: "1700000000", GOPROXY: "off", ...cacheEnv(dir) };
      const out = await r10e(["build", "--json", "-q"], { cwd: project, env });
      assertEquals(out.code, 0, out.stderr);
      const built = JSON.parse(out.stdout);

      await t.step(
        "the platform's manifest is found through both indexes; its zstd layer kept",
        async () => {
          const x = await run("tar", ["-xzf", built.archivePath, "-C", dir, "index.json", "blobs"]);
          assertEquals(x.code, 0, x.stderr);
          const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
          const m = JSON.parse(
            await Deno.readTextFile(`${dir}/blobs/sha256/${index.manifests[0].digest.slice(7)}`),
          );
          assertEquals(m.annotations["org.opencontainers.image.base.digest"], outer.digest);
          // The zstd layer, byte for byte.
          assertEquals(m.layers[0], { mediaType: ZSTD_LAYER, ...layer });
        },
      );

      await t.step("the SBOMs read the base's files through zstd, as r10e sbom does", async () => {
        const read = await r10e(["sbom", "--format", "spdx", built.archivePath], { env });
        assertEquals(read.code, 0, read.stderr);
        const beside = await Deno.readTextFile(
          built.archivePath.replace(/\.tar\.gz$/, ".spdx.json"),
        );
        assertEquals(read.stdout, beside);
        const spdx = JSON.parse(beside);
        assertEquals(
          spdx.files.some((f: { fileName: string }) => f.fileName === "/bin/busybox"),
          true,
        );
      });
    } finally {
      await removeImagesNamed(id);
      await Deno.remove(dir, { recursive: true });
    }
  },
);
