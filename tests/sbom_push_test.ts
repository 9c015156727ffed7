/**
 * `r10e push` attaches the documents `r10e build` wrote beside the archive (format 5: the
 * archive is the image alone) as OCI 1.1 referrers:
 *
 * - against Debian's docker-registry (distribution 2.8, no referrers API), for real: the
 *   referrers tag schema's index `sha256-<hex>`, read back with crane and skopeo;
 * - the referrers-API branch only at the HTTP level, through a tiny registry of this test's
 *   own that implements the distribution spec's referrers API (`GET /v2/<name>/referrers/
 *   <digest>`, the `OCI-Subject` header): no registry on this machine implements it.
 *
 * A second push sends nothing again: no artifact manifest, no referrers index.
 */
import { createHash } from "node:crypto";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, git, r10eInProcess } from "./_cli.ts";
import { requireTool, run } from "./_docker.ts";
import { findCrane, findGoTool, startRegistry } from "./_registry.ts";
import { buildJson, multiplatformProject } from "./_multiplatform.ts";

interface Built {
  manifestDigest: string;
  archivePath: string;
  documents: { kind: string; path: string }[];
}
interface Pushed {
  digest: string;
  blobs: { action: string }[];
  referrers: {
    digest: string;
    artifactType: string;
    subject: string;
    action: string;
    listedBy: string;
  }[];
}

const TYPES = [
  "application/spdx+json",
  "application/vnd.cyclonedx+json",
  "application/vnd.in-toto+json",
];

/** The example, built in a temporary git project (a clean commit). */
async function builtExample(): Promise<{ dir: string; built: Built }> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-push-" });
  await copyExample(dir);
  await Deno.writeTextFile(`${dir}/.gitignore`, "/build/\n/r10e-docker/out/\n");
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "example");
  const r = await r10eInProcess(["build", "--in", "host", "--json", "-q"], { cwd: dir });
  assertEquals(r.code, 0, r.stderr);
  return { dir, built: JSON.parse(r.stdout) as Built };
}

async function push(archive: string, ref: string): Promise<{ result: Pushed; stderr: string }> {
  const r = await r10eInProcess(["push", "--json", archive, ref]);
  assertEquals(r.code, 0, r.stderr);
  return { result: JSON.parse(r.stdout), stderr: r.stderr };
}

Deno.test("push to docker-registry (no referrers API): the referrers tag schema, read back with crane and skopeo; a re-run sends nothing again", async (t) => {
  if (!requireTool(t, "docker-registry")) return;
  const skopeo = requireTool(t, "skopeo");
  if (!skopeo) return;
  const crane = findCrane();
  if (!crane) {
    if (Deno.env.get("R10E_REQUIRE_DOCKER") === "1") throw new Error("crane is not installed");
    console.log(`skipped: "${t.name}": crane is not installed (bash scripts/setup.sh)`);
    return;
  }
  const { dir: project, built } = await builtExample();
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-registry-" });
  const registry = await startRegistry(dir);
  try {
    const repo = `${registry.host}/team/hello`;
    const subject = built.manifestDigest;
    const tag = `${repo}:sha256-${subject.slice(7)}`;
    const first = await push(built.archivePath, `${repo}:v1`);
    await t.step(
      "the image's digest is build's; each document is pushed, listed by the tag schema",
      () => {
        assertEquals(first.result.digest, subject);
        assertEquals(
          first.result.referrers.map((r) => [r.artifactType, r.subject, r.action, r.listedBy]),
          TYPES.map((type) => [type, subject, "pushed", "tag schema"]),
        );
        assertStringIncludes(
          first.stderr,
          `listed 3 attached documents of ${subject.slice(0, 19)} in "sha256-${subject.slice(7)}"`,
        );
      },
    );
    await t.step(
      "verify REF ARCHIVE: exit 0, the referrers are no difference; r10e sbom REF@digest gives the attached bytes",
      async () => {
        const v = await r10eInProcess(["verify", `${repo}@${subject}`, built.archivePath]);
        assertEquals(v.code, 0, v.stdout + v.stderr);
        assertStringIncludes(v.stdout, "Images are identical");
        assertEquals(/referrer|attached|document/i.test(v.stdout), false, v.stdout);
        for (const [format, suffix] of [["spdx", "spdx.json"], ["cyclonedx", "cdx.json"]]) {
          const s = await r10eInProcess(["sbom", "--format", format, `${repo}@${subject}`]);
          assertEquals(s.code, 0, s.stderr);
          const beside = built.archivePath.replace(/\.tar\.gz$/, `.${suffix}`);
          assertEquals(s.stdout, await Deno.readTextFile(beside));
        }
      },
    );
    let indexBytes = "";
    await t.step("crane manifest REF:sha256-<hex> lists them with their artifactType", async () => {
      const r = await run(crane, ["manifest", "--insecure", tag]);
      assertEquals(r.code, 0, r.stderr);
      indexBytes = r.stdout;
      const index = JSON.parse(r.stdout);
      assertEquals(index.mediaType, "application/vnd.oci.image.index.v1+json");
      assertEquals(
        index.manifests.map((
          m: { artifactType: string; digest: string },
        ) => [m.artifactType, m.digest]),
        first.result.referrers.map((r) => [r.artifactType, r.digest]),
      );
    });
    await t.step(
      "skopeo inspect --raw reads the same index; each artifact leads to its document",
      async () => {
        const r = await run(skopeo, ["inspect", "--raw", "--tls-verify=false", `docker://${tag}`]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, indexBytes);
        for (const ref of first.result.referrers) {
          const m = await run(crane, ["manifest", "--insecure", `${repo}@${ref.digest}`]);
          assertEquals(m.code, 0, m.stderr);
          const manifest = JSON.parse(m.stdout);
          assertEquals(manifest.subject.digest, subject);
          assertEquals(manifest.config.mediaType, "application/vnd.oci.empty.v1+json");
          const blob = await run(crane, [
            "blob",
            "--insecure",
            `${repo}@${manifest.layers[0].digest}`,
          ]);
          assertEquals(blob.code, 0, blob.stderr);
          const kind = {
            "application/spdx+json": "spdx",
            "application/vnd.cyclonedx+json": "cyclonedx",
            "application/vnd.in-toto+json": "provenance",
          }[ref.artifactType]!;
          const beside = built.documents.find((d) => d.kind === kind)!.path;
          assertEquals(blob.stdout, await Deno.readTextFile(beside));
        }
      },
    );
    await t.step(
      "a second push: every blob and artifact present, the index left as it was",
      async () => {
        const again = await push(built.archivePath, `${repo}:v1`);
        assertEquals(again.result.blobs.every((b) => b.action === "present"), true);
        assertEquals(again.result.referrers.map((r) => r.action), [
          "present",
          "present",
          "present",
        ]);
        assertEquals(again.stderr.includes("listed"), false, again.stderr);
        const r = await run(crane, ["manifest", "--insecure", tag]);
        assertEquals(r.stdout, indexBytes);
      },
    );
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
});

/** One request the test registry saw: method and path. */
type Seen = [string, string];

/**
 * A registry of this test's own, in memory, implementing what push uses of the distribution
 * spec and the referrers API: `OCI-Subject` on a PUT of a manifest with a subject (unless
 * `subjectHeader` is false), and `GET /v2/<name>/referrers/<digest>` (an index of the
 * manifests whose subject is that digest, with their artifactType).
 */
function referrersRegistry(options: { subjectHeader: boolean }) {
  const blobs = new Map<string, Uint8Array<ArrayBuffer>>();
  const manifests = new Map<string, { type: string; bytes: Uint8Array<ArrayBuffer> }>();
  const seen: Seen[] = [];
  const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const path = url.pathname;
    seen.push([req.method, path]);
    if (path === "/v2/") return new Response("{}");
    let m = /^\/v2\/(.+)\/blobs\/uploads\/(\w*)$/.exec(path);
    if (m && req.method === "POST") {
      return new Response(null, {
        status: 202,
        headers: { location: `/v2/${m[1]}/blobs/uploads/u${seen.length}` },
      });
    }
    if (m && req.method === "PUT") {
      const bytes = new Uint8Array(await req.arrayBuffer());
      const digest = url.searchParams.get("digest")!;
      if (sha(bytes) !== digest) return new Response("digest", { status: 400 });
      blobs.set(digest, bytes);
      return new Response(null, { status: 201, headers: { "docker-content-digest": digest } });
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (m) {
      const b = blobs.get(m[2]);
      if (!b) return new Response(null, { status: 404 });
      return new Response(req.method === "HEAD" ? null : b, {
        headers: { "content-length": String(b.length) },
      });
    }
    m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (m && req.method === "GET") {
      const list = [];
      for (const [digest, { type, bytes }] of manifests) {
        const doc = JSON.parse(new TextDecoder().decode(bytes));
        if (doc.subject?.digest !== m[2] || !/^sha256:/.test(digest)) continue;
        list.push({
          mediaType: type,
          digest,
          size: bytes.length,
          artifactType: doc.artifactType ?? doc.config.mediaType,
        });
      }
      return Response.json(
        { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: list },
        { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } },
      );
    }
    m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(path);
    if (m && req.method === "PUT") {
      const bytes = new Uint8Array(await req.arrayBuffer());
      const digest = sha(bytes);
      const entry = { type: req.headers.get("content-type") ?? "", bytes };
      manifests.set(digest, entry);
      manifests.set(m[2], entry);
      const headers: Record<string, string> = { "docker-content-digest": digest };
      const doc = JSON.parse(new TextDecoder().decode(bytes));
      if (doc.subject && options.subjectHeader) headers["oci-subject"] = doc.subject.digest;
      return new Response(null, { status: 201, headers });
    }
    if (m) {
      const e = manifests.get(m[2]);
      if (!e) return new Response(null, { status: 404 });
      return new Response(req.method === "HEAD" ? null : e.bytes, {
        headers: {
          "content-type": e.type,
          "docker-content-digest": sha(e.bytes),
          "content-length": String(e.bytes.length),
        },
      });
    }
    return new Response(null, { status: 404 });
  });
  return {
    host: `127.0.0.1:${server.addr.port}`,
    seen,
    referrers: (subject: string) =>
      fetch(`http://127.0.0.1:${server.addr.port}/v2/team/hello/referrers/${subject}`).then((r) =>
        r.json()
      ),
    close: () => server.shutdown(),
  };
}

Deno.test("push to a registry with the referrers API (a test server of ours): no referrers tag; a re-run sends no artifact again", async (t) => {
  const { dir, built } = await builtExample();
  try {
    for (const subjectHeader of [true, false]) {
      await t.step(
        subjectHeader ? "the PUT answers with OCI-Subject" : "found by GET …/referrers/<digest>",
        async () => {
          const reg = referrersRegistry({ subjectHeader });
          try {
            const subject = built.manifestDigest;
            const first = await push(built.archivePath, `${reg.host}/team/hello:v1`);
            assertEquals(
              first.result.referrers.map((r) => [r.artifactType, r.action, r.listedBy]),
              TYPES.map((type) => [type, "pushed", "referrers API"]),
            );
            // Nothing read or written under the tag schema's name.
            const tagged = reg.seen.filter(([, p]) => p.includes(`sha256-${subject.slice(7)}`));
            assertEquals(tagged, []);
            const listing = await reg.referrers(subject);
            assertEquals(
              listing.manifests.map((
                m: { artifactType: string; digest: string },
              ) => [m.artifactType, m.digest]).sort(),
              first.result.referrers.map((r) => [r.artifactType, r.digest]).sort(),
            );
            const before = reg.seen.length;
            const again = await push(built.archivePath, `${reg.host}/team/hello:v1`);
            assertEquals(again.result.referrers.map((r) => r.action), [
              "present",
              "present",
              "present",
            ]);
            const artifactPuts = reg.seen.slice(before).filter(([m, p]) =>
              m === "PUT" && first.result.referrers.some((r) => p.endsWith(r.digest))
            );
            assertEquals(artifactPuts, [], "no artifact manifest sent again");
          } finally {
            await reg.close();
          }
        },
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("push of a two-platform build: each platform's SBOMs on its manifest; the provenance and an SBOM set per format on the index; oras discover and pull, cosign tree", async (t) => {
  if (!requireTool(t, "docker-registry")) return;
  const crane = findCrane();
  const oras = findGoTool("oras");
  if (!crane || !oras) {
    if (Deno.env.get("R10E_REQUIRE_DOCKER") === "1") {
      throw new Error("crane or oras is not installed");
    }
    console.log(`skipped: "${t.name}": crane or oras is not installed (bash scripts/setup.sh)`);
    return;
  }
  const project = await multiplatformProject(["linux/amd64", "linux/arm64"]);
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-registry-" });
  const registry = await startRegistry(dir);
  try {
    const built = await buildJson(project);
    const repo = `${registry.host}/team/multi`;
    const { result } = await push(built.archivePath, `${repo}:v1`);
    // The tag is the index; the documents are not part of it.
    assertEquals(result.digest, built.indexDigest);
    const served = JSON.parse((await run(crane, ["manifest", "--insecure", `${repo}:v1`])).stdout);
    assertEquals(
      served.manifests.map((m: { digest: string }) => m.digest),
      built.images.map((i) => i.manifestDigest),
    );
    const subjects = [
      ...built.images.map((i) => [i.manifestDigest, TYPES.slice(0, 2)] as const),
      [built.indexDigest!, TYPES] as const,
    ];
    for (const [subject, types] of subjects) {
      const mine = result.referrers.filter((r) => r.subject === subject);
      assertEquals(
        mine.map((r) => [r.artifactType, r.listedBy]),
        types.map((x) => [x, "tag schema"]),
      );
      const r = await run(oras, [
        "discover",
        "--plain-http",
        "--format",
        "json",
        `${repo}@${subject}`,
      ]);
      assertEquals(r.code, 0, r.stderr);
      const found = JSON.parse(r.stdout).referrers ?? JSON.parse(r.stdout).manifests;
      assertEquals(
        found.map((m: { artifactType: string; digest: string }) => [m.artifactType, m.digest]),
        mine.map((m) => [m.artifactType, m.digest]),
      );
    }
    await t.step("cosign tree of the index lists the provenance and both SBOM sets", async () => {
      const cosign = findGoTool("cosign");
      if (!cosign) {
        if (Deno.env.get("R10E_REQUIRE_DOCKER") === "1") throw new Error("cosign is not installed");
        console.log("skipped: cosign is not installed (bash scripts/setup.sh)");
        return;
      }
      const r = await run(cosign, [
        "tree",
        "--experimental-oci11",
        "--allow-insecure-registry",
        "--allow-http-registry",
        `${repo}@${built.indexDigest}`,
      ]);
      assertEquals(r.code, 0, r.stderr);
      const mine = result.referrers.filter((x) => x.subject === built.indexDigest);
      assertEquals(mine.length, 3);
      for (const m of mine) {
        assertStringIncludes(
          r.stdout,
          `${m.artifactType} artifacts via OCI referrer: ${repo}@${m.digest}`,
        );
      }
    });
    await t.step(
      "oras pull of the index's SBOM set writes every platform's SPDX file, as build wrote it",
      async () => {
        const set = result.referrers.find((r) =>
          r.subject === built.indexDigest && r.artifactType === TYPES[0]
        )!;
        const pulled = `${dir}/pulled`;
        const r = await run(oras, ["pull", "--plain-http", "-o", pulled, `${repo}@${set.digest}`]);
        assertEquals(r.code, 0, r.stderr);
        for (const platform of ["linux-amd64", "linux-arm64"]) {
          const name = `r10e-hello-latest.${platform}.spdx.json`;
          assertEquals(
            await Deno.readTextFile(`${pulled}/${name}`),
            await Deno.readTextFile(`${project}/r10e-docker/out/${name}`),
          );
        }
      },
    );
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("push: a missing SBOM is made again (the same bytes), a missing provenance is said, a document of another image is exit 2, --documents DIR", async (t) => {
  if (!requireTool(t, "docker-registry")) return;
  const { dir: project, built } = await builtExample();
  const dir = await Deno.makeTempDir({ prefix: "r10e-sbom-registry-" });
  const registry = await startRegistry(dir);
  const path = (kind: string) => built.documents.find((d) => d.kind === kind)!.path;
  try {
    const cdx = await Deno.readFile(path("cyclonedx"));
    const moved = `${dir}/docs`;
    await Deno.mkdir(moved);
    for (const d of built.documents) {
      await Deno.rename(d.path, `${moved}/${d.path.split("/").pop()}`);
    }
    await Deno.remove(`${moved}/${path("cyclonedx").split("/").pop()}`);
    await Deno.remove(`${moved}/${path("provenance").split("/").pop()}`);
    const r = await r10eInProcess([
      "push",
      "--json",
      "--documents",
      moved,
      built.archivePath,
      `${registry.host}/team/missing:v1`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const pushed = JSON.parse(r.stdout) as Pushed;
    assertEquals(pushed.referrers.map((x) => x.artifactType), TYPES.slice(0, 2));
    assertStringIncludes(r.stderr, `no "r10e-hello-latest.cdx.json" in "${moved}": made again`);
    assertStringIncludes(
      r.stderr,
      `no provenance "r10e-hello-latest.provenance.json" in "${moved}"`,
    );
    const s = await r10eInProcess([
      "sbom",
      "--format",
      "cyclonedx",
      `${registry.host}/team/missing@${pushed.digest}`,
    ]);
    assertEquals(s.stdout, new TextDecoder().decode(cdx));
    // An SBOM of another image beside it: refused before anything is sent.
    await Deno.writeTextFile(`${moved}/r10e-hello-latest.cdx.json`, '{"other":"image"}');
    const bad = await r10eInProcess([
      "push",
      "--documents",
      moved,
      built.archivePath,
      `${registry.host}/team/bad:v1`,
    ]);
    assertEquals(bad.code, 2, bad.stderr);
    assertStringIncludes(bad.stderr, "it does not describe this image");
    const none = await r10eInProcess([
      "push",
      "--json",
      "--no-documents",
      built.archivePath,
      `${registry.host}/team/none:v1`,
    ]);
    assertEquals(none.code, 0, none.stderr);
    assertEquals(JSON.parse(none.stdout).referrers, []);
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
});
