/**
 * `r10e verify` proves what it says: a layer is skipped only when both images hold the same
 * blob; a layer whose content is not its diff_id, a config under a digest r10e does not check,
 * a descriptor whose size is not its blob's are unreadable inputs (exit 2); the answer's first
 * line names the identity it was given at. The lying images are made by
 * tests/fixtures/verify/make_fixtures.py (see its README); the registry case pushes one to a
 * docker-registry of the test's own on loopback.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { verify } from "./_verify.ts";
import { r10eInProcess } from "./_cli.ts";
import { requireTool } from "./_docker.ts";
import { cacheEnv, startRegistry } from "./_registry.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAKE = ROOT + "tests/fixtures/verify/make_fixtures.py";

async function sh(script: string, cwd: string): Promise<string> {
  const out = await new Deno.Command("sh", { args: ["-c", script], cwd, stdout: "piped" })
    .output();
  if (!out.success) throw new Error(`sh -c ${script} failed`);
  return new TextDecoder().decode(out.stdout).trim();
}

/** The claimed diff_id of layer 0 and the sha256 of its inflated blob, read with tar and gzip. */
async function layerDigests(archive: string, cwd: string): Promise<[string, string]> {
  const manifest = JSON.parse(await sh(`tar -xOf ${archive} manifest.json`, cwd));
  const config = JSON.parse(await sh(`tar -xOf ${archive} ${manifest[0].Config}`, cwd));
  const real = await sh(`tar -xOf ${archive} ${manifest[0].Layers[0]} | gzip -dc | sha256sum`, cwd);
  return [config.rootfs.diff_ids[0], "sha256:" + real.slice(0, 64)];
}

/** The message of a layer whose content is not its diff_id. */
async function lieMessage(input: string, cwd: string): Promise<string> {
  const manifest = JSON.parse(await sh(`tar -xOf ${input} manifest.json`, cwd));
  const [claimed, real] = await layerDigests(input, cwd);
  ok(claimed !== real);
  return `r10e: Cannot read image "${input}": layer 0 "${
    manifest[0].Layers[0]
  }" does not match its diff_id: the config claims "${claimed}", its content is "${real}"\n`;
}

/**
 * Uploads an OCI archive's blobs and manifest to a registry as they are (the distribution API,
 * one request each: `r10e push` reads the layers and refuses a lying image); returns
 * `host/repo@<manifest digest>`.
 */
async function pushAsIs(host: string, repo: string, archive: string, cwd: string, tag: string) {
  const read = async (name: string) => {
    const out = await new Deno.Command("tar", {
      args: ["-xOf", archive, name],
      cwd,
      stdout: "piped",
    })
      .output();
    if (!out.success) throw new Error(`tar -xOf ${archive} ${name} failed`);
    return out.stdout;
  };
  const index = JSON.parse(new TextDecoder().decode(await read("index.json")));
  const digest: string = index.manifests[0].digest;
  const manifest = await read(`blobs/${digest.replace(":", "/")}`);
  const doc = JSON.parse(new TextDecoder().decode(manifest));
  for (const d of [doc.config, ...doc.layers]) {
    const body = await read(`blobs/${d.digest.replace(":", "/")}`);
    // An upload session, then the whole blob in one PUT (docker-registry's monolithic upload).
    const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: "POST" });
    await start.body?.cancel();
    assertEquals(start.status, 202, `upload of ${d.digest}`);
    const at = new URL(start.headers.get("location")!, `http://${host}`);
    at.searchParams.set("digest", d.digest);
    const r = await fetch(at, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body,
    });
    await r.body?.cancel();
    assertEquals(r.status, 201, `upload of ${d.digest}`);
  }
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": doc.mediaType },
    body: manifest,
  });
  await r.body?.cancel();
  assertEquals(r.status, 201, "manifest upload");
  return `${host}/${repo}@${digest}`;
}

async function fixtures(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-trust-" });
  const out = await new Deno.Command("python3", { args: [MAKE, dir], stderr: "piped" }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return dir;
}

Deno.test("verify: a lying image is an unreadable input (exit 2), whichever side", async (t) => {
  const dir = await fixtures();
  try {
    const cases: [string, string, string][] = [
      ["a patched, re-gzipped layer under the original diff_ids", "honest.tar", "lying.tar"],
      ["the same as B", "lying.tar", "honest.tar"],
      ["docker-archives alone", "honest-docker.tar", "lying-docker.tar"],
      ["a docker-archive and its OCI twin", "honest.tar", "lying-docker.tar"],
      // The same blob and image ID on both sides: an image ID is proven by the content.
      ["the same lying blob, other tags", "lying-docker.tar", "lying-docker-retagged.tar"],
    ];
    for (const [name, a, b] of cases) {
      await t.step(`${name}: ${a} ${b}`, async () => {
        const r = await verify([`trust/${a}`, `trust/${b}`], dir);
        assertEquals([r.code, r.stdout], [2, ""]);
        const liar = a.startsWith("lying") ? a : b;
        assertEquals(r.stderr, await lieMessage(`trust/${liar}`, dir));
      });
    }
    await t.step("a config under a sha512 name, other bytes in it", async () => {
      const r = await verify(["trust/sha512.tar", "trust/sha512-lying.tar"], dir);
      assertEquals([r.code, r.stdout], [2, ""]);
      ok(
        /^r10e: Cannot read image "trust\/sha512\.tar": config "blobs\/sha512\/[0-9a-f]{128}" of blobs\/sha256\/[0-9a-f]{64}: config has a sha512 digest: r10e checks sha256 digests only\n$/
          .test(r.stderr),
        r.stderr,
      );
    });
    await t.step("a layer descriptor one byte larger than its blob", async () => {
      const r = await verify(["trust/honest.tar", "trust/size.tar"], dir);
      assertEquals([r.code, r.stdout], [2, ""]);
      ok(
        /^r10e: Cannot read image "trust\/size\.tar": layer "blobs\/sha256\/[0-9a-f]{64}" has (\d+) bytes, its descriptor in blobs\/sha256\/[0-9a-f]{64}: layers\[0\] says (\d+)\n$/
          .test(r.stderr),
        r.stderr,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify: the first line names the identity the answer is given at", async (t) => {
  const dir = await fixtures();
  try {
    await t.step("a docker-archive and its OCI twin: the image ID, content checked", async () => {
      const r = await verify(["trust/honest.tar", "trust/honest-docker.tar", "--json"], dir);
      assertEquals([r.code, r.stderr], [0, ""]);
      const report = JSON.parse(r.stdout);
      assertEquals(report.identity.level, "image-id");
      assertEquals(report.identity.equal, true);
      const text = await verify(["trust/honest.tar", "trust/honest-docker.tar"], dir);
      assertEquals(
        text.stdout.split("\n")[0],
        `Images are identical: the same image ID ${
          report.a.imageId.slice(0, 19)
        }…, every layer checked against its diff_id (the archive files differ: see the notes)`,
      );
    });
    await t.step("two docker-archives sharing a gzip blob: inflated once, checked", async () => {
      await sh("cp trust/honest-docker.tar trust/twin.tar && printf x >> trust/twin.tar", dir);
      const r = await verify(["trust/honest-docker.tar", "trust/twin.tar", "--json"], dir);
      assertEquals([r.code, r.stderr], [0, ""]);
      const report = JSON.parse(r.stdout);
      assertEquals(report.identity, {
        level: "image-id",
        equal: true,
        a: report.a.imageId,
        b: report.a.imageId,
      });
    });
    await t.step("byte-identical archives: said so, still checked to be an image", async () => {
      await sh("cp trust/lying.tar trust/lying-copy.tar", dir);
      const r = await verify(["trust/lying.tar", "trust/lying-copy.tar"], dir);
      assertEquals([r.code, r.stderr], [0, ""]);
      const sha = await sh("sha256sum trust/lying.tar", dir);
      assertEquals(
        r.stdout.split("\n")[0],
        `Images are identical: the archive files are byte-identical (sha256:${sha.slice(0, 12)}…)`,
      );
      await sh("head -c 5000 trust/honest.tar > trust/junk.tar", dir);
      await sh("cp trust/junk.tar trust/junk-copy.tar", dir);
      const junk = await verify(["trust/junk.tar", "trust/junk-copy.tar"], dir);
      assertEquals([junk.code, junk.stdout], [2, ""]);
      ok(junk.stderr.startsWith('r10e: Cannot read image "trust/junk.tar": '), junk.stderr);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify REF ARCHIVE: a lying image in a registry is read and refused", async (t) => {
  if (!requireTool(t, "docker-registry") || !requireTool(t, "curl")) return;
  const dir = await fixtures();
  let registry;
  try {
    registry = await startRegistry(`${dir}/registry`);
    const env = { ...cacheEnv(dir), DOCKER_CONFIG: `${dir}/docker` };
    const pinned = await pushAsIs(registry.host, "trust/app", "trust/lying.tar", dir, "lying");
    const [claimed, real] = await layerDigests("trust/lying.tar", dir);
    for (
      const [name, args] of [["REF ARCHIVE", [pinned, "trust/honest.tar"]], [
        "ARCHIVE REF",
        ["trust/honest.tar", pinned],
      ]] as const
    ) {
      await t.step(name, async () => {
        const r = await r10eInProcess(["verify", "-q", ...args], { env, cwd: dir });
        assertEquals([r.code, r.stdout], [2, ""]);
        const layer = JSON.parse(await sh("tar -xOf trust/lying.tar manifest.json", dir))[0]
          .Layers[0];
        assertEquals(
          r.stderr,
          `r10e: Cannot read image "${pinned}": layer 0 "${layer}" does not match its diff_id: ` +
            `the config claims "${claimed}", its content is "${real}"\n`,
        );
      });
    }
    await t.step("the same content re-compressed: exit 1, one compression finding", async () => {
      const ref = await pushAsIs(registry!.host, "trust/app", "compression/b.tar", dir, "gz9");
      const same = await r10eInProcess(["verify", "-q", ref, "compression/b.tar"], {
        env,
        cwd: dir,
      });
      assertEquals([same.code, same.stderr], [0, ""]);
      assertEquals(
        same.stdout.split("\n")[0],
        `Images are identical: the same manifest digest ${ref.slice(-71, -52)}…`,
      );
      const other = await r10eInProcess(["verify", "-q", ref, "compression/a.tar"], {
        env,
        cwd: dir,
      });
      assertEquals([other.code, other.stderr], [1, ""]);
      assertEquals(other.stdout.split("\n")[0], "Images differ: 1 finding: compression (1)");
      const accepted = await r10eInProcess(
        ["verify", "-q", "--ignore", "compression", ref, "compression/a.tar"],
        { env, cwd: dir },
      );
      assertEquals([accepted.code, accepted.stdout.split("\n")[0]], [
        0,
        "Images are identical (ignoring 1 difference)",
      ]);
    });
  } finally {
    await registry?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
