/**
 * The registry client trusts no server: the real CLI against a hostile registry of the test's
 * own (tests/_hostile_registry.ts) on loopback. Each case asserts the exit code, that no secret
 * it holds (password, its base64, the bearer token, a helper's secret) is in stdout, stderr or
 * --json, and, for endless bodies, the peak RSS and the time (a process of its own); the other
 * cases run the CLI in-process through main's Io.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { type CliResult, r10eInProcess } from "./_cli.ts";
import { requireTool } from "./_docker.ts";
import { measure } from "./_hostile.ts";
import {
  type HostileAuth,
  type HostileRegistry,
  startHostileRegistry,
} from "./_hostile_registry.ts";
import { basicAuth, cacheEnv, makeCa, writeDockerConfig, writeTestArchive } from "./_registry.ts";

interface Setup {
  dir: string;
  env: Record<string, string>;
  archive: string;
  registry: HostileRegistry;
  secrets: string[];
}

/** A temporary folder, a test image, a hostile registry and a docker config that logs into it. */
async function setUp(
  options: { scheme?: HostileAuth["scheme"]; tls?: boolean; size?: number } = {},
): Promise<Setup & { [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-registry-" });
  const auth: HostileAuth = {
    scheme: options.scheme ?? "basic",
    user: "hostile-user",
    password: `pw-${crypto.randomUUID()}`,
  };
  let tls;
  if (options.tls) {
    const ca = await makeCa(dir);
    tls = { cert: await Deno.readTextFile(ca.cert), key: await Deno.readTextFile(ca.key) };
  }
  const registry = startHostileRegistry({ auth, tls });
  await writeDockerConfig(`${dir}/docker`, {
    auths: { [registry.host]: { auth: basicAuth(auth.user, auth.password) } },
  });
  const archive = `${dir}/app.tar`;
  await writeTestArchive(archive, { size: options.size ?? 200_000, seed: 17 });
  return {
    dir,
    env: { ...cacheEnv(dir), DOCKER_CONFIG: `${dir}/docker` },
    archive,
    registry,
    secrets: [
      auth.password,
      basicAuth(auth.user, auth.password),
      registry.token,
    ],
    async [Symbol.asyncDispose]() {
      await registry.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Asserts that no secret is in the output, in any of the forms a server could echo. */
function assertNoSecret(r: { stdout: string; stderr: string }, secrets: string[]): void {
  for (const secret of secrets) {
    for (const [name, text] of [["stdout", r.stdout], ["stderr", r.stderr]]) {
      if (text.includes(secret)) {
        throw new Error(`a secret is in ${name}:\n${text.replaceAll(secret, "<<SECRET>>")}`);
      }
    }
  }
}

async function pushed(s: Setup, repo: string): Promise<string> {
  const r = await r10eInProcess(["push", "-q", s.archive, `${s.registry.host}/${repo}:v1`], {
    env: s.env,
  });
  assertEquals(r.code, 0, r.stderr);
  assertNoSecret(r, s.secrets);
  return r.stdout.trim();
}

function show(r: CliResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

Deno.test("credentials go to the registry's own origin only, never to an upload Location or a redirect elsewhere", async (t) => {
  await using s = await setUp();
  await t.step("an upload Location on another origin gets no Authorization header", async () => {
    s.registry.faults.uploadElsewhere = true;
    const r = await r10eInProcess(["push", "--json", s.archive, `${s.registry.host}/team/app:v1`], {
      env: s.env,
    });
    s.registry.faults.uploadElsewhere = false;
    assertEquals(r.code, 0, show(r));
    assertNoSecret(r, s.secrets);
    const uploads = s.registry.seenElsewhere.filter((x) => x.path.includes("/uploads/"));
    assertEquals(uploads.length > 0, true, "the uploads went to the other origin");
    assertEquals(uploads.filter((x) => x.authorization !== null), []);
  });
  await t.step("a challenge from another origin is not answered with credentials", async () => {
    s.registry.faults.uploadElsewhere = true;
    s.registry.faults.elsewhereChallenge = true;
    s.registry.seenElsewhere.length = 0;
    const r = await r10eInProcess(
      ["push", "--json", s.archive, `${s.registry.host}/team/other:v1`],
      {
        env: s.env,
      },
    );
    s.registry.faults.uploadElsewhere = false;
    s.registry.faults.elsewhereChallenge = false;
    assertEquals(r.code, 2, show(r));
    assertStringIncludes(r.stderr, "HTTP 401");
    assertNoSecret(r, s.secrets);
    assertEquals(s.registry.seenElsewhere.length > 0, true);
    assertEquals(s.registry.seenElsewhere.filter((x) => x.authorization !== null), []);
  });
  await t.step(
    "a blob redirected to another origin is fetched there without credentials",
    async () => {
      const ref = await pushed(s, "team/redirected");
      s.registry.seenElsewhere.length = 0;
      s.registry.faults.blobElsewhere = true;
      const r = await r10eInProcess(["verify", "--json", ref, s.archive], { env: s.env });
      s.registry.faults.blobElsewhere = false;
      assertEquals(r.code, 0, show(r));
      assertNoSecret(r, s.secrets);
      const gets = s.registry.seenElsewhere.filter((x) => x.path.includes("/blobs/sha256:"));
      assertEquals(gets.length > 0, true, "the blobs were fetched from the other origin");
      assertEquals(gets.filter((x) => x.authorization !== null), []);
    },
  );
});

Deno.test("only http and https are followed: a redirect to file: or data: is exit 2", async (t) => {
  await using s = await setUp();
  const ref = await pushed(s, "team/app");
  for (
    const [scheme, target] of [
      ["file:", "file:///etc/hostname"],
      ["data:", 'data:application/json,{"schemaVersion":2}'],
      ["ftp:", "ftp://127.0.0.1/manifest"],
    ]
  ) {
    await t.step(`${scheme} is refused`, async () => {
      s.registry.faults.manifestRedirect = target;
      const r = await r10eInProcess(["verify", "--json", ref, s.archive], { env: s.env });
      s.registry.faults.manifestRedirect = undefined;
      assertEquals(r.code, 2, show(r));
      assertStringIncludes(r.stderr, `sent r10e to a "${scheme}" URL: refused`);
      assertEquals(r.stdout, "");
      assertNoSecret(r, s.secrets);
    });
  }
});

Deno.test("no step down from https to http: a redirect to plain http is exit 2", async (t) => {
  if (!requireTool(t, "openssl")) return;
  await using s = await setUp({ tls: true });
  const ca = `${s.dir}/ca.crt`;
  const push = await r10eInProcess([
    "push",
    "-q",
    "--ca-file",
    ca,
    s.archive,
    `${s.registry.host}/team/app:v1`,
  ], { env: s.env });
  assertEquals(push.code, 0, show(push));
  const ref = push.stdout.trim();
  s.registry.faults.manifestRedirect = `{elsewhere}/v2/team/app/manifests/v1`;
  const r = await r10eInProcess(["verify", "--ca-file", ca, ref, s.archive], { env: s.env });
  assertEquals(r.code, 2, show(r));
  assertStringIncludes(r.stderr, "from https down to plain http");
  assertEquals(s.registry.seenElsewhere, []);
  assertNoSecret(r, s.secrets);
});

Deno.test("endless bodies end in exit 2 within seconds, memory flat", async (t) => {
  for (
    const [fault, scheme, words] of [
      ["manifest", "basic", "is longer than 4 MiB: refused"],
      ["error", "basic", "HTTP 404"],
      ["token", "bearer", "is longer than 64 KiB: refused"],
    ] as const
  ) {
    await t.step(`an endless ${fault} body`, async () => {
      await using s = await setUp({ scheme });
      s.registry.faults.endless = fault;
      const r = await measure(
        ["verify", "--json", `${s.registry.host}/team/app:v1`, s.archive],
        { cwd: s.dir, env: s.env, timeoutSeconds: 60 },
      );
      assertEquals(r.timedOut, false, show(r));
      assertEquals(r.code, 2, show(r));
      assertStringIncludes(r.stderr, words);
      assertNoSecret(r, s.secrets);
      assertEquals(r.rssMB < 300, true, `peak RSS ${r.rssMB} MB`);
      assertEquals(r.seconds < 20, true, `${r.seconds} s`);
    });
  }
});

Deno.test("a registry that stalls is left after --timeout", async (t) => {
  for (const stall of ["after-headers", "before-headers"] as const) {
    await t.step(`a stall ${stall.replace("-", " ")}`, async () => {
      await using s = await setUp();
      s.registry.faults.stall = stall;
      const started = Date.now();
      const r = await r10eInProcess([
        "verify",
        "--timeout",
        "1",
        `${s.registry.host}/team/app:v1`,
        s.archive,
      ], { env: s.env });
      const seconds = (Date.now() - started) / 1000;
      assertEquals(r.code, 2, show(r));
      assertStringIncludes(r.stderr, "no byte for 1 s");
      assertNoSecret(r, s.secrets);
      assertEquals(seconds < 15, true, `${seconds} s`);
    });
  }
  await t.step("--timeout that is not a number of seconds is a usage error", async () => {
    const r = await r10eInProcess(["verify", "--timeout", "soon", "127.0.0.1:1/a:b", "x.tar"]);
    assertEquals(r.code, 2, show(r));
    assertStringIncludes(r.stderr, `Invalid --timeout "soon"`);
  });
});

Deno.test("a server that echoes the Authorization header: its words are printed, the credentials are not", async (t) => {
  await t.step("403 with the Basic header in the body (push --json)", async () => {
    await using s = await setUp();
    s.registry.faults.echoAuth = true;
    const r = await r10eInProcess(["push", "--json", s.archive, `${s.registry.host}/team/app:v1`], {
      env: s.env,
    });
    assertEquals(r.code, 2, show(r));
    assertStringIncludes(r.stderr, "DENIED not with Basic <redacted>");
    assertNoSecret(r, s.secrets);
  });
  await t.step("401 echoing a wrong password", async () => {
    await using s = await setUp();
    const wrong = `wrong-${crypto.randomUUID()}`;
    await writeDockerConfig(`${s.dir}/docker`, {
      auths: { [s.registry.host]: { auth: basicAuth("hostile-user", wrong) } },
    });
    const r = await r10eInProcess(["push", s.archive, `${s.registry.host}/team/app:v1`], {
      env: s.env,
    });
    assertEquals(r.code, 2, show(r));
    assertStringIncludes(r.stderr, "you sent Basic <redacted>");
    assertNoSecret(r, [...s.secrets, wrong, basicAuth("hostile-user", wrong)]);
  });
  await t.step("403 with the bearer token in the body", async () => {
    await using s = await setUp({ scheme: "bearer" });
    s.registry.faults.echoAuth = true;
    const r = await r10eInProcess(
      ["verify", "--json", `${s.registry.host}/team/app:v1`, s.archive],
      {
        env: s.env,
      },
    );
    assertEquals(r.code, 2, show(r));
    assertStringIncludes(r.stderr, "not with Bearer <redacted>");
    assertNoSecret(r, s.secrets);
  });
  await t.step("an image whose label is the Authorization header (verify --json)", async () => {
    await using s = await setUp({ scheme: "bearer" });
    await pushed(s, "team/app");
    s.registry.faults.echoInImage = true;
    const r = await r10eInProcess(
      ["verify", "--json", `${s.registry.host}/team/app:v1`, s.archive],
      {
        env: s.env,
      },
    );
    assertEquals(r.code, 1, show(r));
    assertStringIncludes(r.stdout, "Bearer <redacted>");
    assertNoSecret(r, s.secrets);
  });
  await t.step("a token server echoing the Basic header", async () => {
    await using s = await setUp({ scheme: "bearer" });
    s.registry.faults.echoAuthToken = true;
    const r = await r10eInProcess(["verify", `${s.registry.host}/team/app:v1`, s.archive], {
      env: s.env,
    });
    assertEquals(r.code, 2, show(r));
    assertStringIncludes(r.stderr, "credentials refused: Basic <redacted>");
    assertNoSecret(r, s.secrets);
  });
});

Deno.test("every request with a body has a Content-Length: a registry that ignores chunked bodies (zot) takes the push", async (t) => {
  await using s = await setUp({ size: 3_000_000 });
  s.registry.faults.zot = true;
  await t.step("blobs in one PUT each", async () => {
    const r = await r10eInProcess(["push", "--json", s.archive, `${s.registry.host}/team/app:v1`], {
      env: s.env,
    });
    assertEquals(r.code, 0, show(r));
    assertEquals(s.registry.lengthless, []);
    assertNoSecret(r, s.secrets);
  });
  await t.step("blobs in chunks (PATCH)", async () => {
    const r = await r10eInProcess([
      "push",
      "--json",
      "--chunk-size",
      "1MiB",
      s.archive,
      `${s.registry.host}/team/chunked:v1`,
    ], { env: s.env });
    assertEquals(r.code, 0, show(r));
    assertEquals(s.registry.lengthless, []);
    assertNoSecret(r, s.secrets);
  });
});

Deno.test("a failing credential helper's output is never echoed", async () => {
  await using s = await setUp();
  const secret = `helper-secret-${crypto.randomUUID()}`;
  const bin = `${s.dir}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/docker-credential-leaky`,
    `#!/bin/sh\necho '{"Username":"u","Secret":"${secret}"}'\necho "cannot unlock ${secret}" >&2\nexit 1\n`,
  );
  await Deno.chmod(`${bin}/docker-credential-leaky`, 0o755);
  await writeDockerConfig(`${s.dir}/docker`, { credHelpers: { [s.registry.host]: "leaky" } });
  const r = await r10eInProcess(["push", "--json", s.archive, `${s.registry.host}/team/app:v1`], {
    env: { ...s.env, PATH: `${bin}:${Deno.env.get("PATH")}` },
  });
  assertEquals(r.code, 2, show(r));
  assertStringIncludes(r.stderr, `Credential helper "docker-credential-leaky" failed (exit 1)`);
  assertNoSecret(r, [...s.secrets, secret]);
});

Deno.test("TLS failures are named and not retried", async (t) => {
  if (!requireTool(t, "openssl")) return;
  await using s = await setUp({ tls: true });
  await t.step("a certificate of an unknown CA", async () => {
    const r = await r10eInProcess([
      "--verbose",
      "verify",
      `${s.registry.host}/team/app:v1`,
      s.archive,
    ], {
      env: s.env,
    });
    assertEquals(r.code, 2, show(r));
    assertStringIncludes(r.stderr, "certificate problem: the server's certificate is not signed");
    assertStringIncludes(r.stderr, "--ca-file");
    assertEquals(r.stderr.includes("retrying"), false, r.stderr);
  });
  await t.step("a CA:TRUE certificate as the server's own, even with --ca-file", async () => {
    const dir = `${s.dir}/selfsigned`;
    await Deno.mkdir(dir);
    const o = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
    const selfSigned = startHostileRegistry({
      tls: {
        cert: await Deno.readTextFile(`${dir}/cert.pem`),
        key: await Deno.readTextFile(`${dir}/key.pem`),
      },
    });
    try {
      const r = await r10eInProcess([
        "--verbose",
        "verify",
        "--ca-file",
        `${dir}/cert.pem`,
        `${selfSigned.host}/team/app:v1`,
        s.archive,
      ], { env: s.env });
      assertEquals(r.code, 2, show(r));
      assertStringIncludes(r.stderr, "a CA certificate (CA:TRUE)");
      assertEquals(r.stderr.includes("retrying"), false, r.stderr);
    } finally {
      await selfSigned.close();
    }
  });
});
