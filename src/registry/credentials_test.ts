import { assertEquals, assertRejects } from "../../tests/_assert.ts";
import { findCredential, type HelperRunner } from "./credentials.ts";

async function withConfig(doc: unknown, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-docker-config-" });
  try {
    await Deno.writeTextFile(
      `${dir}/config.json`,
      typeof doc === "string" ? doc : JSON.stringify(doc),
    );
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const b64 = (s: string) => btoa(s);

Deno.test("findCredential follows docker: credHelpers, then auths, then credsStore", async (t) => {
  const calls: string[] = [];
  const runHelper: HelperRunner = (program, server) => {
    calls.push(`${program} ${server}`);
    if (server === "gone.io") return Promise.resolve(null);
    if (program === "docker-credential-tok") {
      return Promise.resolve(JSON.stringify({ Username: "<token>", Secret: "refresh-1" }));
    }
    return Promise.resolve(JSON.stringify({ Username: "u-" + program, Secret: "s-" + server }));
  };
  const doc = {
    auths: {
      "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
      "plain.io": { username: "pu", password: "pp" },
      "https://idt.io/v2/": { identitytoken: "idt-1" },
      "helped.io": { auth: b64("never:used") },
      "store.io": {},
    },
    credHelpers: { "helped.io": "h1", "tok.io": "tok" },
    credsStore: "store",
  };
  await withConfig(doc, async (dir) => {
    const env = { DOCKER_CONFIG: dir };
    const cases: [string, unknown][] = [
      ["docker.io", { kind: "basic", username: "hubuser", password: "hubpass" }],
      ["plain.io", { kind: "basic", username: "pu", password: "pp" }],
      ["idt.io", { kind: "identity", username: "", token: "idt-1" }],
      ["helped.io", { kind: "basic", username: "u-docker-credential-h1", password: "s-helped.io" }],
      ["tok.io", { kind: "identity", username: "", token: "refresh-1" }],
      ["store.io", {
        kind: "basic",
        username: "u-docker-credential-store",
        password: "s-store.io",
      }],
      ["gone.io", { kind: "anonymous" }],
    ];
    for (const [host, want] of cases) {
      await t.step(
        host,
        async () => assertEquals(await findCredential(host, { env, runHelper }), want),
      );
    }
  });
  assertEquals(calls, [
    "docker-credential-h1 helped.io",
    "docker-credential-tok tok.io",
    "docker-credential-store store.io",
    "docker-credential-store gone.io",
  ]);
});

Deno.test("findCredential: HOME/.docker without DOCKER_CONFIG, none at all is anonymous", async () => {
  const home = await Deno.makeTempDir({ prefix: "r10e-home-" });
  try {
    assertEquals(await findCredential("r.io", { env: { HOME: home } }), { kind: "anonymous" });
    await Deno.mkdir(`${home}/.docker`);
    await Deno.writeTextFile(
      `${home}/.docker/config.json`,
      JSON.stringify({ auths: { "r.io": { auth: b64("a:b:c") } } }),
    );
    assertEquals(await findCredential("r.io", { env: { HOME: home } }), {
      kind: "basic",
      username: "a",
      password: "b:c",
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("findCredential errors name the file and never the secret", async () => {
  await withConfig("{ not json", async (dir) => {
    await assertRejects(
      () => findCredential("r.io", { env: { DOCKER_CONFIG: dir } }),
      Error,
      "not valid JSON",
    );
  });
  await withConfig({ auths: { "r.io": { auth: b64("no-colon-secret") } } }, async (dir) => {
    const e = await findCredential("r.io", { env: { DOCKER_CONFIG: dir } }).then(
      () => new Error("no error"),
      (e: Error) => e,
    );
    assertEquals(e.message.includes('auths["r.io"].auth'), true, e.message);
    assertEquals(e.message.includes("no-colon-secret"), false);
    assertEquals(e.message.includes(b64("no-colon-secret")), false);
  });
});

Deno.test("a credential helper that does not answer in time is stopped; one that fails is not quoted", async (t) => {
  const bin = await Deno.makeTempDir({ prefix: "r10e-helpers-" });
  try {
    await Deno.writeTextFile(`${bin}/docker-credential-slow`, "#!/bin/sh\nexec sleep 30\n");
    await Deno.writeTextFile(
      `${bin}/docker-credential-leaky`,
      "#!/bin/sh\necho 'the secret is hunter2-secret' >&2\necho hunter2-secret\nexit 3\n",
    );
    await Deno.chmod(`${bin}/docker-credential-slow`, 0o755);
    await Deno.chmod(`${bin}/docker-credential-leaky`, 0o755);
    const env = (dir: string) => ({ DOCKER_CONFIG: dir, PATH: `${bin}:/usr/bin:/bin` });
    await t.step("slow: stopped after the timeout", async () => {
      await withConfig({ credsStore: "slow" }, async (dir) => {
        const started = Date.now();
        await assertRejects(
          () => findCredential("r.io", { env: env(dir), helperTimeoutMs: 300 }),
          Error,
          `Credential helper "docker-credential-slow" did not answer in 0.3 s`,
        );
        assertEquals(Date.now() - started < 5000, true);
      });
    });
    await t.step("leaky: exit code only", async () => {
      await withConfig({ credsStore: "leaky" }, async (dir) => {
        const e = await assertRejects(
          () => findCredential("r.io", { env: env(dir) }),
          Error,
          `Credential helper "docker-credential-leaky" failed (exit 3)`,
        );
        assertEquals(e.message.includes("hunter2"), false, e.message);
      });
    });
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
