/**
 * `r10e push` against real registries: Debian's docker-registry on loopback with TLS and
 * htpasswd Basic auth, with token auth (an issuer of ours), and the shared loopback registry
 * that the Docker engine pulls from. The digests the registry serves are checked with crane
 * and skopeo; docker pulls by digest and runs the image.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { r10e } from "./_cli.ts";
import {
  docker,
  dockerTest,
  importImage,
  requireTool,
  run,
  testRegistry,
  writeBusyboxRootfs,
} from "./_docker.ts";
import {
  basicAuth,
  cacheEnv,
  findCrane,
  makeCa,
  makeHtpasswd,
  startProxy,
  startRegistry,
  suffix,
  writeDockerConfig,
  writeTestArchive,
} from "./_registry.ts";
import { startTokenIssuer } from "./_token_issuer.ts";
import { readTar } from "../src/tar/reader.ts";

interface PushJson {
  reference: string;
  digest: string;
  tag: string | null;
  blobs: { digest: string; size: number; action: string; sent: number; resumedAt?: number }[];
}

function tools(t: Deno.TestContext): { crane: string; skopeo: string } | undefined {
  if (!requireTool(t, "docker-registry") || !requireTool(t, "openssl")) return undefined;
  const skopeo = requireTool(t, "skopeo");
  if (!skopeo) return undefined;
  const crane = findCrane();
  if (!crane) {
    if (Deno.env.get("R10E_REQUIRE_DOCKER") === "1") {
      throw new Error("R10E_REQUIRE_DOCKER=1 but crane is not installed (bash scripts/setup.sh)");
    }
    console.log(`skipped: "${t.name}": crane is not installed (bash scripts/setup.sh installs it)`);
    return undefined;
  }
  return { crane, skopeo };
}

dockerTest(
  "push to the loopback registry: docker pulls it by digest and runs it; crane and skopeo agree",
  async (t) => {
    const found = tools(t);
    if (!found) return;
    const registry = testRegistry();
    if (!registry) throw new Error("no shared loopback registry (scripts/dockerd.sh start)");
    const dir = await Deno.makeTempDir({ prefix: "r10e-push-" });
    const name = `r10e-push-${suffix()}`;
    let pulled: string | undefined;
    try {
      const image = await writeTestArchive(`${dir}/app.tar.gz`, { size: 300_000, seed: 7 });
      const env = { DOCKER_CONFIG: `${dir}/docker`, ...cacheEnv(dir) };
      const pushed = await r10e(["push", `${dir}/app.tar.gz`, `${registry}/${name}:v1`], { env });
      assertEquals(
        [pushed.code, pushed.stderr.includes("r10e: uploaded") || pushed.stderr === ""],
        [0, true],
      );
      const ref = `${registry}/${name}@${image.manifestDigest}`;
      assertEquals(pushed.stdout, ref + "\n");

      const crane = await run(found.crane, ["digest", "--insecure", `${registry}/${name}:v1`]);
      assertEquals(crane.stdout.trim(), image.manifestDigest, crane.stderr);
      const skopeo = await run(found.skopeo, [
        "inspect",
        "--tls-verify=false",
        `docker://${registry}/${name}:v1`,
      ]);
      assertEquals(JSON.parse(skopeo.stdout).Digest, image.manifestDigest, skopeo.stderr);

      await docker(["pull", ref]);
      pulled = ref;
      const inspect = await docker(["image", "inspect", "--format", "{{.Id}}", ref]);
      assertEquals(inspect.stdout.trim(), image.imageId);
      const ran = await docker([
        "run",
        "--rm",
        "--network",
        "none",
        ref,
        "echo",
        "hello from r10e push",
      ]);
      assertEquals(ran.stdout, "hello from r10e push\n");

      // Again: everything is there, nothing is sent.
      const again = await r10e(["push", "--json", `${dir}/app.tar.gz`, `${registry}/${name}:v1`], {
        env,
      });
      assertEquals(again.code, 0, again.stderr);
      const json = JSON.parse(again.stdout) as PushJson;
      assertEquals(json.blobs.map((b) => [b.action, b.sent]), json.blobs.map(() => ["present", 0]));
      assertEquals([json.reference, json.tag], [ref, "v1"]);
    } finally {
      if (pulled) await docker(["rmi", pulled], { allowFail: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
);

dockerTest(
  "push of a docker save archive without index.json (Docker 20.10): a manifest made by the push, pulled and run by docker; verify says same image",
  async (t) => {
    const found = tools(t);
    if (!found) return;
    const registry = testRegistry();
    if (!registry) throw new Error("no shared loopback registry (scripts/dockerd.sh start)");
    const dir = await Deno.makeTempDir({ prefix: "r10e-push-save-" });
    const name = `r10e-push-save-${suffix()}`;
    const made: string[] = [];
    try {
      await Deno.mkdir(`${dir}/rootfs`);
      await writeBusyboxRootfs(`${dir}/rootfs`);
      await Deno.writeTextFile(`${dir}/rootfs/hello.txt`, `saved by docker ${name}\n`);
      await importImage(`${dir}/rootfs`, `${name}:src`, {
        changes: ['ENTRYPOINT ["/bin/busybox"]'],
      });
      made.push(`${name}:src`);
      await docker(["save", "-o", `${dir}/saved.tar`, `${name}:src`]);
      const listing = await run("tar", ["-tf", `${dir}/saved.tar`]);
      const names = listing.stdout.split("\n");
      // What Docker before 25 writes: manifest.json and <id>/layer.tar, no OCI index.
      assertEquals(
        [names.includes("manifest.json"), names.includes("index.json")],
        [true, false],
        listing.stdout,
      );
      const env = { DOCKER_CONFIG: `${dir}/docker`, ...cacheEnv(dir) };
      const pushed = await r10e(
        ["push", "-q", "--json", `${dir}/saved.tar`, `${registry}/${name}:v1`],
        { env },
      );
      assertEquals(pushed.code, 0, pushed.stderr);
      const json = JSON.parse(pushed.stdout) as PushJson & { madeByPush?: boolean };
      assertEquals(json.madeByPush, true);
      assertStringIncludes(pushed.stderr, "holds no manifest (docker save before Docker 25");
      assertStringIncludes(pushed.stderr, `${json.digest} is a digest made by the push`);
      const ref = `${registry}/${name}@${json.digest}`;
      assertEquals(json.reference, ref);
      // The plain output is the line to deploy with, as for an OCI archive.
      const plain = await r10e(["push", `${dir}/saved.tar`, `${registry}/${name}:v1`], { env });
      assertEquals([plain.code, plain.stdout], [0, ref + "\n"], plain.stderr);

      // The registry, crane and skopeo serve and see that digest; the image ID is docker's.
      const crane = await run(found.crane, ["digest", "--insecure", `${registry}/${name}:v1`]);
      assertEquals(crane.stdout.trim(), json.digest, crane.stderr);
      const skopeo = await run(found.skopeo, [
        "inspect",
        "--tls-verify=false",
        `docker://${registry}/${name}:v1`,
      ]);
      assertEquals(JSON.parse(skopeo.stdout).Digest, json.digest, skopeo.stderr);
      const imageId = (await docker(["image", "inspect", "--format", "{{.Id}}", `${name}:src`]))
        .stdout.trim();
      await docker(["rmi", `${name}:src`]);
      made.length = 0;
      await docker(["pull", ref]);
      made.push(ref);
      const pulledId = (await docker(["image", "inspect", "--format", "{{.Id}}", ref])).stdout
        .trim();
      assertEquals(pulledId, imageId);
      const ran = await docker(["run", "--rm", "--network", "none", ref, "cat", "/hello.txt"]);
      assertEquals(ran.stdout, `saved by docker ${name}\n`);

      // The auditor's command finds the registry's image the archive's: same config, same layers.
      const v = await r10e(["verify", ref, `${dir}/saved.tar`], { env });
      assertEquals(v.code, 0, v.stdout + v.stderr);
      assertStringIncludes(v.stdout, "Images are identical");
      // A docker save archive with two images: which one to push is not guessed.
      await importImage(`${dir}/rootfs`, `${name}:other`);
      made.push(`${name}:other`);
      await Deno.writeTextFile(`${dir}/rootfs/other.txt`, "other\n");
      await importImage(`${dir}/rootfs`, `${name}:third`);
      made.push(`${name}:third`);
      await docker(["save", "-o", `${dir}/two.tar`, `${name}:other`, `${name}:third`]);
      const two = await r10e(["push", `${dir}/two.tar`, `${registry}/${name}:two`], { env });
      assertEquals([two.code, two.stdout], [2, ""], two.stderr);
      assertStringIncludes(two.stderr, "its manifest.json lists 2 images");
    } finally {
      for (const image of made) await docker(["rmi", image], { allowFail: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("push over TLS with htpasswd Basic auth: --ca-file, docker config auths, credsStore and credHelpers, mounts; secrets never printed", async (t) => {
  const found = tools(t);
  if (!found || !requireTool(t, "htpasswd")) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-push-tls-" });
  const password = `pw-${suffix()}-secret`;
  let registry;
  try {
    const ca = await makeCa(dir);
    await makeHtpasswd(`${dir}/htpasswd`, { pusher: password });
    registry = await startRegistry(`${dir}/registry`, { tls: ca, htpasswd: `${dir}/htpasswd` });
    const image = await writeTestArchive(`${dir}/app.tar`, { size: 2_500_000, seed: 11 });
    const cache = cacheEnv(dir);
    const target = `${registry.host}/team/app:v1`;
    const secrets = [password, basicAuth("pusher", password)];
    const noSecret = (text: string) => {
      for (const s of secrets) {
        assertEquals(text.includes(s), false, `a secret was printed: ${text}`);
      }
    };

    await t.step("without --ca-file the certificate is not trusted: exit 2", async () => {
      const r = await r10e(["push", `${dir}/app.tar`, target], {
        env: { ...cache, DOCKER_CONFIG: `${dir}/none` },
      });
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, `Cannot reach registry "${registry!.host}"`);
      assertStringIncludes(r.stderr.toLowerCase(), "certificate");
    });

    await t.step("without credentials: exit 2 with the registry's own words", async () => {
      const r = await r10e(["push", "--ca-file", ca.caCert, `${dir}/app.tar`, target], {
        env: { ...cache, DOCKER_CONFIG: `${dir}/none` },
      });
      assertEquals([r.code, r.stdout], [2, ""], r.stderr);
      assertStringIncludes(r.stderr, "HTTP 401");
      // docker-registry's own words for it
      assertStringIncludes(r.stderr, "UNAUTHORIZED authentication required");
      assertStringIncludes(r.stderr, "docker login");
    });

    await t.step("a wrong password: exit 2, not accepted, the password not printed", async () => {
      await writeDockerConfig(`${dir}/wrong`, {
        auths: { [registry!.host]: { auth: basicAuth("pusher", "wrong-" + password) } },
      });
      const r = await r10e(
        ["--verbose", "push", "--ca-file", ca.caCert, `${dir}/app.tar`, target],
        {
          env: { ...cache, DOCKER_CONFIG: `${dir}/wrong` },
        },
      );
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, "were not accepted");
      noSecret(r.stdout + r.stderr);
      assertEquals(r.stderr.includes("wrong-" + password), false);
    });

    await t.step(
      "auths in DOCKER_CONFIG: pushed, digest as built, chunked; --verbose shows no secret",
      async () => {
        await writeDockerConfig(`${dir}/auths`, {
          auths: { [`https://${registry!.host}`]: { auth: basicAuth("pusher", password) } },
        });
        const r = await r10e([
          "--verbose",
          "push",
          "--json",
          "--chunk-size",
          "1MiB",
          "--ca-file",
          ca.caCert,
          `${dir}/app.tar`,
          target,
        ], { env: { ...cache, DOCKER_CONFIG: `${dir}/auths` } });
        assertEquals(r.code, 0, r.stderr);
        noSecret(r.stdout + r.stderr);
        assertStringIncludes(r.stderr, "PATCH https://");
        const json = JSON.parse(r.stdout) as PushJson;
        assertEquals(json.reference, `${registry!.host}/team/app@${image.manifestDigest}`);
        assertEquals(json.blobs.every((b) => b.action === "uploaded" && b.sent === b.size), true);
        const crane = await run(found.crane, ["digest", target], {
          env: { ...Deno.env.toObject(), DOCKER_CONFIG: `${dir}/auths`, SSL_CERT_FILE: ca.caCert },
        });
        assertEquals(crane.stdout.trim(), image.manifestDigest, crane.stderr);
        await Deno.mkdir(`${dir}/certs`);
        await Deno.copyFile(ca.caCert, `${dir}/certs/ca.crt`);
        const skopeo = await run(found.skopeo, [
          "inspect",
          "--cert-dir",
          `${dir}/certs`,
          "--creds",
          `pusher:${password}`,
          `docker://${target}`,
        ]);
        assertEquals(JSON.parse(skopeo.stdout).Digest, image.manifestDigest, skopeo.stderr);
      },
    );

    await t.step(
      "credsStore and credHelpers run docker-credential-* programs; --from mounts blobs",
      async () => {
        const bin = `${dir}/bin`;
        await Deno.mkdir(bin);
        // A credential helper speaking the protocol: the server URL on stdin, JSON on stdout.
        const helper = `#!/bin/sh
[ "$1" = get ] || exit 1
read -r server
echo "$server" >> "${dir}/helper.log"
if [ "$server" = "${registry!.host}" ]; then
  printf '{"ServerURL":"%s","Username":"pusher","Secret":"%s"}' "$server" "${password}"
else
  echo "credentials not found in native keychain"; exit 1
fi
`;
        await Deno.writeTextFile(`${bin}/docker-credential-r10etest`, helper, { mode: 0o755 });
        const path = `${bin}:${Deno.env.get("PATH")}`;
        for (
          const [label, doc] of [["credsStore", { credsStore: "r10etest" }], ["credHelpers", {
            credHelpers: { [registry!.host]: "r10etest" },
          }]] as const
        ) {
          await writeDockerConfig(`${dir}/${label}`, doc);
          const r = await r10e([
            "push",
            "--json",
            "--from",
            "team/app",
            "--ca-file",
            ca.caCert,
            `${dir}/app.tar`,
            `${registry!.host}/team/${label.toLowerCase()}:v1`,
          ], { env: { ...cache, DOCKER_CONFIG: `${dir}/${label}`, PATH: path } });
          assertEquals(r.code, 0, r.stderr);
          noSecret(r.stdout + r.stderr);
          const json = JSON.parse(r.stdout) as PushJson;
          // The blobs are in team/app already: mounted, not sent.
          assertEquals(
            json.blobs.map((b) => [b.action, b.sent]),
            json.blobs.map(() => ["mounted", 0]),
            label,
          );
        }
        assertEquals(
          (await Deno.readTextFile(`${dir}/helper.log`)).trim().split("\n").length >= 2,
          true,
        );
      },
    );
  } finally {
    await registry?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

for (const alg of ["RS256", "ES256"] as const) {
  Deno.test(`push with token auth (${alg}): a scope per repository, a refused push is exit 2 with the registry's words, no token printed`, async (t) => {
    const found = tools(t);
    if (!found) return;
    const dir = await Deno.makeTempDir({ prefix: "r10e-push-token-" });
    const password = `tok-${suffix()}`;
    let registry;
    let issuer;
    try {
      const ca = await makeCa(dir);
      issuer = await startTokenIssuer(dir, ca, {
        alg,
        users: {
          pusher: { password, actions: ["pull", "push"] },
          reader: { password, actions: ["pull"] },
          oauth: {
            password: `unused-${password}`,
            actions: ["pull", "push"],
            refreshToken: `rt-${password}`,
          },
        },
      });
      registry = await startRegistry(`${dir}/registry`, { tls: ca, token: issuer });
      const image = await writeTestArchive(`${dir}/app.tar.gz`, { size: 200_000, seed: 13 });
      const cache = cacheEnv(dir);
      const target = `${registry.host}/org/svc:1.0`;

      await writeDockerConfig(`${dir}/reader`, {
        auths: { [registry.host]: { auth: basicAuth("reader", password) } },
      });
      const refused = await r10e(["push", "--ca-file", ca.caCert, `${dir}/app.tar.gz`, target], {
        env: { ...cache, DOCKER_CONFIG: `${dir}/reader` },
      });
      assertEquals([refused.code, refused.stdout], [2, ""], refused.stderr);
      assertStringIncludes(refused.stderr, "HTTP 401");
      assertStringIncludes(refused.stderr, "UNAUTHORIZED");

      await writeDockerConfig(`${dir}/pusher`, {
        auths: { [registry.host]: { auth: basicAuth("pusher", password) } },
      });
      const r = await r10e([
        "--verbose",
        "push",
        "--ca-file",
        ca.caCert,
        `${dir}/app.tar.gz`,
        target,
      ], {
        env: { ...cache, DOCKER_CONFIG: `${dir}/pusher` },
      });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, `${registry.host}/org/svc@${image.manifestDigest}\n`);
      for (const secret of [password, ...issuer.tokens]) {
        assertEquals(
          (r.stdout + r.stderr + refused.stderr).includes(secret),
          false,
          "a secret was printed",
        );
      }
      const scopes = issuer.requests.filter((q) => q.user === "pusher").flatMap((q) => q.scopes);
      assertEquals([...new Set(scopes)], ["repository:org/svc:pull,push"]);
      const crane = await run(found.crane, ["digest", target], {
        env: { ...Deno.env.toObject(), DOCKER_CONFIG: `${dir}/pusher`, SSL_CERT_FILE: ca.caCert },
      });
      assertEquals(crane.stdout.trim(), image.manifestDigest, crane.stderr);

      // An identity token (docker login with OAuth) is exchanged with the refresh-token grant.
      await writeDockerConfig(`${dir}/oauth`, {
        auths: { [registry.host]: { identitytoken: `rt-${password}` } },
      });
      const oauth = await r10e([
        "--verbose",
        "push",
        "--ca-file",
        ca.caCert,
        `${dir}/app.tar.gz`,
        `${registry.host}/org/oauth:1.0`,
      ], {
        env: { ...cache, DOCKER_CONFIG: `${dir}/oauth` },
      });
      assertEquals(oauth.code, 0, oauth.stderr);
      assertStringIncludes(oauth.stderr, "POST https://localhost:");
      for (const secret of [`rt-${password}`, ...issuer.tokens]) {
        assertEquals((oauth.stdout + oauth.stderr).includes(secret), false, "a secret was printed");
      }
      assertEquals(
        issuer.requests.some((q) =>
          q.user === "oauth" && q.scopes.includes("repository:org/oauth:pull,push")
        ),
        true,
      );

      // Reading needs only pull: the reader's token is enough for verify.
      const read = await r10e([
        "verify",
        "--ca-file",
        ca.caCert,
        `${registry.host}/org/svc@${image.manifestDigest}`,
        `${dir}/app.tar.gz`,
      ], { env: { ...cache, DOCKER_CONFIG: `${dir}/reader` } });
      assertEquals(read.code, 0, read.stdout + read.stderr);
      assertStringIncludes(read.stdout, "Images are identical");
      const pulls = issuer.requests.filter((q) => q.user === "reader").flatMap((q) => q.scopes);
      assertEquals(pulls.includes("repository:org/svc:pull"), true, JSON.stringify(pulls));
    } finally {
      await registry?.stop();
      await issuer?.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a blob of a plain .tar that does not match its name: hashed as it is sent, exit 2, the registry keeps nothing", async (t) => {
  if (!requireTool(t, "docker-registry")) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-push-bad-" });
  let registry;
  try {
    registry = await startRegistry(`${dir}/registry`);
    const env = { DOCKER_CONFIG: `${dir}/docker`, ...cacheEnv(dir) };
    const image = await writeTestArchive(`${dir}/app.tar`, { size: 2_000_000, seed: 9 });
    // One byte of the data layer's content flipped, in place (its name still claims the digest).
    const data = `blobs/sha256/${image.layers[1].slice("sha256:".length)}`;
    let at = -1;
    {
      using f = await Deno.open(`${dir}/app.tar`);
      for await (const e of readTar(f.readable)) {
        if (e.header.name === data) at = e.header.dataOffset + 1_500_000;
      }
    }
    assertEquals(at > 0, true, "the data layer is in the archive");
    {
      using f = await Deno.open(`${dir}/app.tar`, { read: true, write: true });
      const one = new Uint8Array(1);
      await f.seek(at, Deno.SeekMode.Start);
      await f.read(one);
      await f.seek(at, Deno.SeekMode.Start);
      await f.write(new Uint8Array([one[0] ^ 0x01]));
    }
    for (const chunk of ["64MiB", "512KiB"]) { // sent in one request, then in chunks
      const r = await r10e(
        ["push", "--chunk-size", chunk, `${dir}/app.tar`, `${registry.host}/team/bad:v1`],
        { env },
      );
      assertEquals([r.code, r.stdout], [2, ""], r.stderr);
      assertStringIncludes(r.stderr, `blob "${data}" does not match its digest`);
      for (const path of [`blobs/${image.layers[1]}`, "manifests/v1"]) {
        const head = await fetch(`http://${registry.host}/v2/team/bad/${path}`, {
          method: "HEAD",
          headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
        });
        await head.body?.cancel();
        assertEquals(head.status, 404, `${path} after --chunk-size ${chunk}`);
      }
    }
  } finally {
    await registry?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an interrupted push (the registry stopped mid-upload, then restarted) completes on re-run without sending a byte twice", async (t) => {
  const found = tools(t);
  if (!found) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-push-resume-" });
  const registry = await startRegistry(`${dir}/registry`);
  // A proxy in front, so that the registry stops between two chunks, never inside one: from
  // the 6th accepted chunk on, it answers 503 for the registry while the test stops it.
  let accepted = 0;
  let downAt = -1;
  const proxy = startProxy(registry.host, {
    before: () =>
      downAt >= 0
        ? Response.json({ errors: [{ code: "UNAVAILABLE", message: "registry stopped" }] }, {
          status: 503,
        })
        : undefined,
    after: (kind, response) => {
      if (kind.startsWith("PATCH ") && response.status === 202 && ++accepted === 6) {
        downAt = proxy.seen.length;
      }
      return undefined;
    },
  });
  try {
    const image = await writeTestArchive(`${dir}/app.tar`, { size: 24_000_000, seed: 17 });
    const env = { ...cacheEnv(dir), DOCKER_CONFIG: `${dir}/docker` };
    const target = `${proxy.host}/resume/app:v1`;
    const args = [
      "push",
      "--json",
      "--jobs",
      "1",
      "--chunk-size",
      "1MiB",
      `${dir}/app.tar`,
      target,
    ];
    const running = r10e(["--verbose", ...args], { env });
    while (downAt < 0) await new Promise((r) => setTimeout(r, 20));
    await registry.stop(true);
    const first = await running;
    assertEquals(first.code, 2, first.stderr);
    assertStringIncludes(first.stderr, "registry stopped");

    // What the registry had of the large blob: the chunks accepted since its upload began.
    const before = proxy.seen.slice(0, downAt);
    const start = before.lastIndexOf("POST /v2/resume/app/blobs/uploads/");
    const chunks = before.slice(start).filter((k) => k.startsWith("PATCH ")).length;
    assertEquals(chunks >= 1, true, before.join("\n"));

    await registry.start();
    downAt = -1;
    accepted = -1000;
    const again = await r10e(args, { env });
    assertEquals(again.code, 0, again.stderr);
    const json = JSON.parse(again.stdout) as PushJson;
    assertEquals(json.reference, `${proxy.host}/resume/app@${image.manifestDigest}`);
    const big = json.blobs.find((b) => b.size > 20_000_000)!;
    // The small layers went before the large one: they are there already. The large one resumed
    // where the registry said it stood, and only the rest was sent.
    assertEquals(json.blobs.filter((b) => b !== big).map((b) => b.action), ["present", "present"]);
    assertEquals(big.action, "uploaded");
    assertEquals(big.resumedAt, chunks * 1024 * 1024, JSON.stringify(big));
    assertEquals(big.sent, big.size - big.resumedAt!);
    assertStringIncludes(again.stderr, "resuming");
    const crane = await run(found.crane, [
      "digest",
      "--insecure",
      `${registry.host}/resume/app:v1`,
    ]);
    assertEquals(crane.stdout.trim(), image.manifestDigest, crane.stderr);
  } finally {
    await proxy.close();
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
