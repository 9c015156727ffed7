/**
 * Faults on the way to a real registry: a proxy of the test's own in front of docker-registry
 * answers 503, 500 and 429 (Retry-After) once each, and loses the answer to a chunk that the
 * registry did store (502 after forwarding it, as a load balancer whose backend timed out).
 * The push must retry, ask the registry where the upload stands, and (docker-registry having
 * dropped that upload) send the blob again; the digest the registry serves is checked with crane.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { r10e } from "./_cli.ts";
import { requireTool, run } from "./_docker.ts";
import { cacheEnv, findCrane, startProxy, startRegistry, writeTestArchive } from "./_registry.ts";

Deno.test("push retries 5xx and 429, asks where an upload stands after a lost answer, and completes", async (t) => {
  if (!requireTool(t, "docker-registry") || !requireTool(t, "curl")) return;
  const crane = findCrane();
  if (!crane) {
    if (Deno.env.get("R10E_REQUIRE_DOCKER") === "1") throw new Error("crane is not installed");
    console.log(`skipped: "${t.name}": crane is not installed (bash scripts/setup.sh)`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "r10e-faults-" });
  const registry = await startRegistry(`${dir}/registry`);
  const faults: string[] = [];
  let patches = 0;
  const once = new Set<string>();
  const first = (kind: string) => !once.has(kind) && (once.add(kind), true);
  const fail = (kind: string, status: number, headers: Record<string, string> = {}) => {
    faults.push(`${status} ${kind}`);
    return Response.json({ errors: [{ code: "UNAVAILABLE", message: "injected" }] }, {
      status,
      headers,
    });
  };
  const server = startProxy(registry.host, {
    before: (kind) => {
      if (kind === "GET /v2/" && first(kind)) return fail(kind, 503);
      if (kind.startsWith("HEAD ") && first("HEAD")) return fail(kind, 500);
      if (kind.startsWith("POST ") && first("POST")) return fail(kind, 429, { "retry-after": "0" });
      if (kind.includes("PUT /v2/faults/app/manifests/") && first("PUT manifest")) {
        return fail(kind, 503);
      }
      return undefined;
    },
    after: (kind) => {
      if (kind.startsWith("PATCH ") && ++patches === 2) {
        // The registry stored the chunk; its answer is lost on the way back.
        faults.push(`502 ${kind} (stored)`);
        return new Response("bad gateway", { status: 502 });
      }
      return undefined;
    },
  });
  const proxy = server.host;
  const seen = server.seen;
  try {
    const image = await writeTestArchive(`${dir}/app.tar`, { size: 5_000_000, seed: 29 });
    const env = { ...cacheEnv(dir), DOCKER_CONFIG: `${dir}/docker` };
    const r = await r10e([
      "--verbose",
      "push",
      "--json",
      "--jobs",
      "1",
      "--chunk-size",
      "1MiB",
      `${dir}/app.tar`,
      `${proxy}/faults/app:v1`,
    ], { env });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(faults, [
      "503 GET /v2/",
      "500 HEAD /v2/faults/app/blobs/<digest>",
      "429 POST /v2/faults/app/blobs/uploads/",
      "502 PATCH /v2/faults/app/blobs/uploads/<id> (stored)",
      "503 PUT /v2/faults/app/manifests/<digest>",
    ]);
    assertStringIncludes(r.stderr, "retrying in");
    // After the lost answer: a status request (GET of the upload). docker-registry cancels an upload
    // asked about with a stale state, so the blob starts again (a new POST) from the first byte.
    const patch = "PATCH /v2/faults/app/blobs/uploads/<id>";
    const lost = seen.indexOf(patch, seen.indexOf(patch) + 1);
    assertEquals(seen.slice(lost + 1, lost + 3), [
      "GET /v2/faults/app/blobs/uploads/<id>",
      "POST /v2/faults/app/blobs/uploads/",
    ]);
    assertStringIncludes(r.stderr, "starting it again");
    const json = JSON.parse(r.stdout);
    const restarted = json.blobs.find((b: { size: number }) => b.size > 1024 * 1024);
    // Honest counts: the restarted blob was sent once and a chunk more; the others once.
    assertEquals(restarted.sent, restarted.size + 1024 * 1024, JSON.stringify(restarted));
    for (const b of json.blobs) {
      if (b !== restarted) assertEquals(b.sent, b.size, JSON.stringify(b));
    }
    assertEquals(json.reference, `${proxy}/faults/app@${image.manifestDigest}`);
    const digest = await run(crane, ["digest", "--insecure", `${registry.host}/faults/app:v1`]);
    assertEquals(digest.stdout.trim(), image.manifestDigest, digest.stderr);
  } finally {
    await server.close();
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a registry that rejects a media type: exit 2 with its own message, and no tag", async (t) => {
  if (!requireTool(t, "docker-registry") || !requireTool(t, "curl")) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-mediatype-" });
  const registry = await startRegistry(`${dir}/registry`);
  try {
    // An OCI layout directory whose manifest claims a media type docker-registry does not know.
    const sha = async (bytes: Uint8Array<ArrayBuffer>) =>
      "sha256:" + Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
        .map((b) => b.toString(16).padStart(2, "0")).join("");
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const layout = `${dir}/layout`;
    await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
    const put = async (bytes: Uint8Array<ArrayBuffer>) => {
      const d = await sha(bytes);
      await Deno.writeFile(`${layout}/blobs/sha256/${d.slice(7)}`, bytes);
      return { digest: d, size: bytes.length };
    };
    const layer = await put(new Uint8Array(1024));
    const config = await put(
      enc({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: [layer.digest] },
      }),
    );
    const weird = "application/vnd.r10e.test.unknown+json";
    const manifest = await put(enc({
      schemaVersion: 2,
      mediaType: weird,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
    }));
    await Deno.writeTextFile(`${layout}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    await Deno.writeTextFile(
      `${layout}/index.json`,
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: weird, ...manifest }] }),
    );
    const r = await r10e(["push", layout, `${registry.host}/weird/app:v1`], {
      env: { ...cacheEnv(dir), DOCKER_CONFIG: `${dir}/docker` },
    });
    assertEquals([r.code, r.stdout], [2, ""], r.stderr);
    assertStringIncludes(r.stderr, `(${weird})`);
    assertStringIncludes(r.stderr, "HTTP 400");
    assertStringIncludes(r.stderr, "MANIFEST_INVALID manifest invalid");
    const tag = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `http://${registry.host}/v2/weird/app/manifests/v1`,
    ]);
    assertEquals(tag.stdout, "404");
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
