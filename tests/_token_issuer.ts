/**
 * A token issuer for docker-registry's `auth: token` (the distribution token spec), run in the
 * test process on loopback over TLS: it checks Basic credentials, grants the actions a user may
 * have on the repositories asked for, and signs a JWT (RS256 or ES256) with its own key, whose
 * certificate the registry trusts as `rootcertbundle` (the JWT names it in `x5c`).
 *
 * @module
 */
import { freePort, type TestCa } from "./_registry.ts";
import { run } from "./_docker.ts";

/** A running issuer. */
export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM path of the signing certificate (the registry's rootcertbundle). */
  rootCertBundle: string;
  /** Every scope asked for, in order, and the user that asked ("" for anonymous). */
  requests: { user: string; scopes: string[] }[];
  /** Every token handed out (to check that none is ever printed). */
  tokens: string[];
  close(): Promise<void>;
}

/** users: name → password and the actions granted on every repository. */
export async function startTokenIssuer(
  dir: string,
  tls: TestCa,
  options: {
    alg: "RS256" | "ES256";
    /** `refreshToken`: the identity token `docker login` would have stored (OAuth2 refresh grant). */
    users: Record<string, { password: string; actions: string[]; refreshToken?: string }>;
  },
): Promise<TokenIssuer> {
  const keyArgs = options.alg === "RS256"
    ? ["-newkey", "rsa:2048"]
    : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  const made = await run("openssl", [
    "req",
    "-x509",
    ...keyArgs,
    "-nodes",
    "-keyout",
    "issuer.key",
    "-out",
    "issuer.crt",
    "-days",
    "2",
    "-subj",
    "/CN=r10e test token issuer",
  ], { cwd: dir });
  if (made.code !== 0) throw new Error(`openssl: ${made.stderr}`);
  const der = await run("openssl", [
    "x509",
    "-in",
    "issuer.crt",
    "-outform",
    "DER",
    "-out",
    "issuer.der",
  ], { cwd: dir });
  if (der.code !== 0) throw new Error(`openssl: ${der.stderr}`);
  const certDer = await Deno.readFile(`${dir}/issuer.der`);
  const keyPem = await Deno.readTextFile(`${dir}/issuer.key`);
  const pkcs8 = Uint8Array.from(
    atob(keyPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "")),
    (c) => c.charCodeAt(0),
  );
  const algorithm = options.alg === "RS256"
    ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
    : { name: "ECDSA", namedCurve: "P-256" };
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, algorithm, false, ["sign"]);
  const service = "r10e-test-registry";
  const issuer = "r10e-test-issuer";
  const requests: TokenIssuer["requests"] = [];
  const tokens: string[] = [];
  const b64url = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const json64 = (v: unknown) => b64url(new TextEncoder().encode(JSON.stringify(v)));
  const sign = async (claims: unknown) => {
    const header = { alg: options.alg, typ: "JWT", x5c: [btoa(String.fromCharCode(...certDer))] };
    const input = `${json64(header)}.${json64(claims)}`;
    const sig = await crypto.subtle.sign(
      options.alg === "RS256" ? algorithm : { name: "ECDSA", hash: "SHA-256" },
      key,
      new TextEncoder().encode(input),
    );
    return `${input}.${b64url(new Uint8Array(sig))}`;
  };
  const port = freePort();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    cert: await Deno.readTextFile(tls.cert),
    key: await Deno.readTextFile(tls.key),
    onListen: () => {},
  }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/token") return new Response("not found", { status: 404 });
    let user = "";
    const auth = req.headers.get("authorization");
    if (auth) {
      const [u, p] = atob(auth.replace(/^Basic /, "")).split(":");
      if (options.users[u]?.password !== p) {
        return Response.json({
          errors: [{ code: "UNAUTHORIZED", message: "wrong user or password" }],
        }, { status: 401 });
      }
      user = u;
    }
    let scopes = url.searchParams.getAll("scope");
    if (req.method === "POST") {
      // The OAuth2 refresh-token grant of docker's token spec: a form, scopes space-separated.
      const form = new URLSearchParams(await req.text());
      const found = Object.entries(options.users).find(([, u]) =>
        u.refreshToken !== undefined && u.refreshToken === form.get("refresh_token")
      );
      if (form.get("grant_type") !== "refresh_token" || !found) {
        return Response.json({ error: "invalid_grant" }, { status: 401 });
      }
      user = found[0];
      scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
    }
    requests.push({ user, scopes });
    const allowed = user ? options.users[user].actions : [];
    const access = scopes.map((s) => {
      const [type, name, actions] = s.split(":");
      return { type, name, actions: actions.split(",").filter((a) => allowed.includes(a)) };
    });
    const now = Math.floor(Date.now() / 1000);
    const token = await sign({
      iss: issuer,
      sub: user,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    });
    tokens.push(token);
    // The refresh grant answers `access_token`, the GET flow `token` (both as the spec says).
    return Response.json(
      req.method === "POST"
        ? { access_token: token, expires_in: 300 }
        : { token, expires_in: 300, issued_at: new Date().toISOString() },
    );
  });
  return {
    // By name: crane refuses a realm at a private IP literal (ggcr's SSRF guard, issue #2258).
    realm: `https://localhost:${port}/token`,
    service,
    issuer,
    rootCertBundle: `${dir}/issuer.crt`,
    requests,
    tokens,
    close: () => server.shutdown(),
  };
}
