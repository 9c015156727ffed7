/**
 * A registry that lies, for the trust tests of the registry client: a small OCI distribution
 * server in memory (uploads, blobs, manifests, Basic or Bearer auth with its own token
 * endpoint) on loopback, with a second origin beside it (another port: "elsewhere") that logs
 * every Authorization header it receives. Faults, switched on per test through `faults`:
 * redirects to the other origin, to `file:` and `data:`, upload Locations on the other origin,
 * endless bodies, a stall after the headers or before them, 401/403 bodies that echo the
 * Authorization header (in their bodies and in an image's label), and zot's reading of a PUT or PATCH body without Content-Length as
 * empty (so a chunked blob fails with DIGEST_INVALID). Bodies without Content-Length are
 * listed in `lengthless` whether or not that fault is on.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { concatBytes as concat } from "../src/bytes.ts";
import { freePort } from "./_registry.ts";

/** What a test switches on. Each is off by default. */
export interface Faults {
  /** POST …/blobs/uploads/ answers with a Location on the other origin. */
  uploadElsewhere?: boolean;
  /** GET of a manifest answers 307 to this URL (`{elsewhere}` is the other origin). */
  manifestRedirect?: string;
  /** GET of a blob answers 307 to the same blob on the other origin. */
  blobElsewhere?: boolean;
  /** Answer with an endless body: a manifest (200), an error (404), or the token server (200). */
  endless?: "manifest" | "error" | "token";
  /** GET of a manifest: the headers, then nothing; or nothing at all. */
  stall?: "after-headers" | "before-headers";
  /** Every authenticated request is refused (403) with the Authorization header in the body. */
  echoAuth?: boolean;
  /** The token endpoint refuses (401) with the Authorization header it got in the body. */
  echoAuthToken?: boolean;
  /** The other origin answers 401 with a Bearer challenge whose realm is its own. */
  elsewhereChallenge?: boolean;
  /**
   * GET of a manifest by tag serves the image with its config's label `echo` set to the
   * Authorization header of the request (a new config blob, the same layers).
   */
  echoInImage?: boolean;
  /** Like zot: a PUT or PATCH body without Content-Length is read as empty. */
  zot?: boolean;
}

/** How the registry authenticates. */
export interface HostileAuth {
  scheme: "basic" | "bearer";
  user: string;
  password: string;
}

/** A request as the other origin saw it. */
export interface Seen {
  method: string;
  path: string;
  authorization: string | null;
}

/** A running hostile registry. */
export interface HostileRegistry {
  /** `127.0.0.1:<port>` of the registry. */
  host: string;
  /** `http://127.0.0.1:<port>` of the other origin. */
  elsewhere: string;
  /** The bearer token the token endpoint hands out (a secret too). */
  token: string;
  faults: Faults;
  /** Every request the other origin received. */
  seenElsewhere: Seen[];
  /** Requests with a body and no Content-Length (zot's refusal), as `METHOD path`. */
  lengthless: string[];
  close(): Promise<void>;
}

/** Starts it. With `tls` (PEM texts) the registry speaks https; the other origin never does. */
export function startHostileRegistry(
  options: { auth?: HostileAuth; tls?: { cert: string; key: string } } = {},
): HostileRegistry {
  const faults: Faults = {};
  const blobs = new Map<string, Uint8Array>();
  const manifests = new Map<string, { bytes: Uint8Array; type: string }>();
  const uploads = new Map<string, Uint8Array[]>();
  const seenElsewhere: Seen[] = [];
  const lengthless: string[] = [];
  const token = `tok-${crypto.randomUUID()}`;
  const port = freePort();
  const otherPort = freePort();
  const scheme = options.tls ? "https" : "http";
  const own = `${scheme}://127.0.0.1:${port}`;
  const elsewhere = `http://127.0.0.1:${otherPort}`;
  const auth = options.auth;
  // Stalls wait for this, so that close() does not wait for them forever.
  let release = () => {};
  const released = new Promise<void>((r) => release = r);
  const basic = auth ? "Basic " + btoa(`${auth.user}:${auth.password}`) : "";

  const json = (status: number, doc: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(doc), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });
  const errors = (status: number, code: string, message: string, headers = {}) =>
    json(status, { errors: [{ code, message }] }, headers);

  const challenge = () =>
    auth?.scheme === "bearer"
      ? `Bearer realm="${own}/token",service="hostile"`
      : `Basic realm="hostile"`;

  /** Reads a body; as zot does (`faults.zot`), one without Content-Length is not there. */
  const body = async (req: Request, what: string): Promise<Uint8Array> => {
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.length > 0 && req.headers.get("content-length") === null) {
      lengthless.push(what);
      if (faults.zot) return new Uint8Array(0);
    }
    return bytes;
  };

  const handle = async (req: Request, origin: string, isElsewhere: boolean) => {
    const url = new URL(req.url);
    const path = url.pathname;
    const authorization = req.headers.get("authorization");
    if (isElsewhere) seenElsewhere.push({ method: req.method, path, authorization });
    if (isElsewhere && faults.elsewhereChallenge) {
      await req.body?.cancel();
      return errors(401, "UNAUTHORIZED", "log in here", {
        "www-authenticate": `Bearer realm="${elsewhere}/token",service="elsewhere"`,
      });
    }

    if (path === "/token" && !isElsewhere) {
      if (faults.echoAuthToken) {
        return json(401, { details: `credentials refused: ${authorization}` });
      }
      if (authorization !== basic) return json(401, { details: "who are you?" });
      if (faults.endless === "token") return endless(200);
      return json(200, { token, expires_in: 300 });
    }
    if (auth && !isElsewhere) {
      const good = auth.scheme === "basic" ? basic : `Bearer ${token}`;
      if (authorization !== good) {
        await req.body?.cancel();
        return errors(401, "UNAUTHORIZED", `authentication required; you sent ${authorization}`, {
          "www-authenticate": challenge(),
        });
      }
      if (faults.echoAuth && path !== "/v2/") {
        await req.body?.cancel();
        return errors(403, "DENIED", `not with ${authorization}`);
      }
    }
    if (path === "/v2/" || path === "/v2") return json(200, {});

    let m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(path);
    if (m) {
      const [, repo, id] = m;
      const base = faults.uploadElsewhere ? elsewhere : origin;
      if (req.method === "POST") {
        await req.body?.cancel();
        const fresh = crypto.randomUUID();
        uploads.set(fresh, []);
        return new Response(null, {
          status: 202,
          headers: { location: `${base}/v2/${repo}/blobs/uploads/${fresh}`, range: "0-0" },
        });
      }
      const parts = uploads.get(id);
      if (!parts) return errors(404, "BLOB_UPLOAD_UNKNOWN", "no such upload");
      const had = parts.reduce((n, p) => n + p.length, 0);
      if (req.method === "GET") {
        return new Response(null, {
          status: 204,
          headers: { location: `${base}${path}`, range: `0-${Math.max(had - 1, 0)}` },
        });
      }
      if (req.method === "PATCH") {
        parts.push(await body(req, `PATCH ${path}`));
        const now = had + parts[parts.length - 1].length;
        return new Response(null, {
          status: 202,
          headers: { location: `${base}${path}`, range: `0-${Math.max(now - 1, 0)}` },
        });
      }
      if (req.method === "PUT") {
        parts.push(await body(req, `PUT ${path}`));
        const all = concat(parts);
        const digest = url.searchParams.get("digest") ?? "";
        const got = "sha256:" + createHash("sha256").update(all).digest("hex");
        uploads.delete(id);
        if (got !== digest) {
          return errors(400, "DIGEST_INVALID", `provided digest did not match uploaded content`);
        }
        blobs.set(`${repo}@${digest}`, all);
        return new Response(null, { status: 201, headers: { "docker-content-digest": digest } });
      }
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (m) {
      const [, repo, digest] = m;
      if (faults.blobElsewhere && !isElsewhere && req.method === "GET") {
        return new Response(null, {
          status: 307,
          headers: { location: `${elsewhere}/v2/${repo}/blobs/${digest}` },
        });
      }
      const bytes = blobs.get(`${repo}@${digest}`);
      if (!bytes) return errors(404, "BLOB_UNKNOWN", "blob unknown to registry");
      const headers: Record<string, string> = {
        "docker-content-digest": digest,
        "content-type": "application/octet-stream",
      };
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
      if (range) {
        const from = Number(range[1]);
        const to = range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
        return new Response(req.method === "HEAD" ? null : bytes.slice(from, to + 1), {
          status: 206,
          headers: { ...headers, "content-range": `bytes ${from}-${to}/${bytes.length}` },
        });
      }
      return new Response(req.method === "HEAD" ? null : bytes as BodyInit, {
        status: 200,
        headers: { ...headers, "content-length": String(bytes.length) },
      });
    }
    m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (m) {
      const [, repo, reference] = m;
      if (req.method === "PUT") {
        const bytes = await body(req, `PUT ${path}`);
        const digest = "sha256:" + createHash("sha256").update(bytes).digest("hex");
        const doc = { bytes, type: req.headers.get("content-type") ?? "" };
        manifests.set(`${repo}@${digest}`, doc);
        manifests.set(`${repo}@${reference}`, doc);
        return new Response(null, {
          status: 201,
          headers: { "docker-content-digest": digest, location: `${origin}${path}` },
        });
      }
      if (req.method === "GET" && !isElsewhere) {
        if (faults.manifestRedirect) {
          return new Response(null, {
            status: 307,
            headers: { location: faults.manifestRedirect.replace("{elsewhere}", elsewhere) },
          });
        }
        if (faults.endless === "manifest") return endless(200);
        if (faults.endless === "error") return endless(404);
        if (faults.stall === "before-headers") {
          await released;
        }
        if (faults.stall === "after-headers") {
          const never = new ReadableStream({ pull: (c) => released.then(() => c.close()) });
          return new Response(never, {
            status: 200,
            headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
          });
        }
      }
      let found = manifests.get(`${repo}@${reference}`);
      if (!found) return errors(404, "MANIFEST_UNKNOWN", "manifest unknown");
      if (faults.echoInImage && !isElsewhere && !reference.startsWith("sha256:")) {
        found = echoed(repo, found, authorization ?? "");
      }
      const digest = "sha256:" + createHash("sha256").update(found.bytes).digest("hex");
      return new Response(req.method === "HEAD" ? null : found.bytes as BodyInit, {
        status: 200,
        headers: {
          "content-type": found.type,
          "docker-content-digest": digest,
          "content-length": String(found.bytes.length),
        },
      });
    }
    if (/^\/v2\/.+\/referrers\//.test(path)) return errors(404, "NAME_UNKNOWN", "no referrers API");
    await req.body?.cancel();
    return errors(404, "NOT_FOUND", `nothing at ${path}`);
  };

  /** The manifest `found` of `repo` with a config whose label `echo` is `value`. */
  const echoed = (repo: string, found: { bytes: Uint8Array; type: string }, value: string) => {
    const doc = JSON.parse(new TextDecoder().decode(found.bytes));
    const old = blobs.get(`${repo}@${doc.config.digest}`)!;
    const config = JSON.parse(new TextDecoder().decode(old));
    config.config = { ...config.config, Labels: { ...config.config?.Labels, echo: value } };
    const bytes = new TextEncoder().encode(JSON.stringify(config));
    const digest = "sha256:" + createHash("sha256").update(bytes).digest("hex");
    blobs.set(`${repo}@${digest}`, bytes);
    doc.config = { ...doc.config, digest, size: bytes.length };
    return { bytes: new TextEncoder().encode(JSON.stringify(doc)), type: found.type };
  };

  const quiet = { onListen: () => {}, onError: () => new Response("error", { status: 500 }) };
  const main = Deno.serve(
    { hostname: "127.0.0.1", port, ...quiet, ...(options.tls ?? {}) },
    (req) => handle(req, own, false),
  );
  const other = Deno.serve(
    { hostname: "127.0.0.1", port: otherPort, ...quiet },
    (req) => handle(req, elsewhere, true),
  );
  return {
    host: `127.0.0.1:${port}`,
    elsewhere,
    token,
    faults,
    seenElsewhere,
    lengthless,
    close: async () => {
      release();
      await Promise.all([main.shutdown(), other.shutdown()]);
    },
  };
}

/** A body that never ends: 64 KiB of "A" each time it is asked for more. */
function endless(status: number): Response {
  const chunk = new Uint8Array(64 * 1024).fill(0x41);
  return new Response(
    new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(chunk) }, { highWaterMark: 1 }),
    { status, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } },
  );
}
