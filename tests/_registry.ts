/**
 * Real registries for the registry tests: Debian's `docker-registry` started on a free loopback
 * port with its own config and storage (TLS from a CA made here with openssl, htpasswd Basic
 * auth, or `auth: token` trusting an issuer that runs in the test process), and test images
 * written with r10e's own writer (busybox, so that `docker run` can run them).
 *
 * @module
 */
import { writeImageArchive } from "../src/image/writer.ts";
import { dirEntry, fileEntry } from "./_bytes.ts";
import { findTool, run } from "./_docker.ts";

/** A running registry of ours. */
export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  dir: string;
  /** Stops it (SIGKILL when `hard`, like a crash). */
  stop(hard?: boolean): Promise<void>;
  /** Starts it again with the same config and storage. */
  start(): Promise<void>;
}

/** Certificates made by `makeCa`. */
export interface TestCa {
  /** CA certificate (PEM path). */
  caCert: string;
  /** Server certificate and key for 127.0.0.1, signed by the CA. */
  cert: string;
  key: string;
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function must(cmd: string, args: string[], options: { cwd?: string; stdin?: string } = {}) {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A CA and a server certificate for 127.0.0.1 and localhost (EC P-256), in `dir`. */
export async function makeCa(dir: string): Promise<TestCa> {
  const o = (...a: string[]) => must("openssl", a, { cwd: dir });
  await o(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=r10e test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  );
  await o(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  );
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await o(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  );
  return { caCert: `${dir}/ca.crt`, cert: `${dir}/server.crt`, key: `${dir}/server.key` };
}

/** An htpasswd file (bcrypt, which docker-registry requires) with these users. */
export async function makeHtpasswd(path: string, users: Record<string, string>): Promise<void> {
  const htpasswd = findTool("htpasswd");
  if (!htpasswd) {
    throw new Error("htpasswd is not installed (apache2-utils; bash scripts/setup.sh)");
  }
  let text = "";
  for (const [user, password] of Object.entries(users)) {
    text += await must(htpasswd, ["-nbB", user, password]);
  }
  await Deno.writeTextFile(path, text.replace(/\n+/g, "\n"));
}

/** Options of `startRegistry`. */
export interface RegistryOptions {
  tls?: TestCa;
  htpasswd?: string;
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

/** Starts docker-registry on a free loopback port with storage under `dir`. */
export async function startRegistry(
  dir: string,
  options: RegistryOptions = {},
): Promise<TestRegistry> {
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  await Deno.mkdir(`${dir}/storage`, { recursive: true });
  let yml = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${dir}/storage
  delete:
    enabled: true
http:
  addr: ${host}
  # fixed: upload URLs stay valid across a restart (resumable uploads)
  secret: r10e-test-secret
`;
  if (options.tls) {
    yml += `  tls:\n    certificate: ${options.tls.cert}\n    key: ${options.tls.key}\n`;
  }
  if (options.htpasswd) {
    yml += `auth:\n  htpasswd:\n    realm: r10e-test\n    path: ${options.htpasswd}\n`;
  } else if (options.token) {
    const t = options.token;
    yml +=
      `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootCertBundle}\n`;
  }
  await Deno.writeTextFile(`${dir}/config.yml`, yml);
  let child: Deno.ChildProcess | null = null;
  const scheme = options.tls ? "https" : "http";
  const start = async () => {
    const log = await Deno.open(`${dir}/registry.log`, { append: true, create: true, write: true });
    child = new Deno.Command("/usr/bin/docker-registry", {
      args: ["serve", `${dir}/config.yml`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    child.stderr.pipeTo(log.writable).catch(() => {});
    for (let i = 0; i < 100; i++) {
      const r = await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-k",
        `${scheme}://${host}/v2/`,
      ]);
      if (r.stdout === "200" || r.stdout === "401") return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `docker-registry did not start at ${host}: ${await Deno.readTextFile(`${dir}/registry.log`)}`,
    );
  };
  const stop = async (hard = false) => {
    const c = child as Deno.ChildProcess | null;
    if (!c) return;
    child = null;
    try {
      c.kill(hard ? "SIGKILL" : "SIGTERM");
    } catch {
      // already gone
    }
    await c.status;
  };
  await start();
  return { host, dir, stop, start };
}

/** Digests of a written test image. */
export interface TestArchive {
  manifestDigest: string;
  imageId: string;
  layers: string[];
  /** Every platform's image (one unless `platforms` was given). */
  images: { platform: string; manifestDigest: string; layers: string[] }[];
}

/**
 * Writes a runnable test image (busybox + `size` bytes of data) as an archive; returns its
 * digests. With `platforms`, one image per platform: the busybox layer shared, the data layer
 * different for each.
 */
export async function writeTestArchive(
  path: string,
  options: { size?: number; name?: string; seed?: number; platforms?: string[] } = {},
): Promise<TestArchive> {
  const size = options.size ?? 100_000;
  const data = (seed: number) => {
    const bytes = new Uint8Array(size);
    // A fixed pseudo-random pattern, different per seed: blobs differ between test images.
    let x = seed >>> 0 || 1;
    for (let i = 0; i < size; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[i] = x & 255;
    }
    return bytes;
  };
  const busybox = await Deno.readFile("/bin/busybox");
  const platforms = options.platforms ?? ["linux/amd64"];
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const result = await writeImageArchive({
    repository: options.name ?? "registry-test",
    tag: "latest",
    created: 0,
    // Uncompressed layers: these tests size their blobs (chunks, resumes) by `size`.
    layerCompression: "none",
    images: platforms.map((p, i) => {
      const [os, architecture, variant] = p.split("/");
      return {
        platform: { os, architecture, ...(variant ? { variant } : {}) },
        config: { Env: ["PATH=/bin"], Entrypoint: ["/bin/busybox"] },
        layers: [
          {
            createdBy: "busybox",
            entries: [dirEntry("bin"), fileEntry("bin/busybox", busybox, 0o755)],
          },
          {
            createdBy: "data",
            entries: [dirEntry("data"), fileEntry("data/blob", data((options.seed ?? 1) + i))],
          },
        ],
      };
    }),
  }, async (chunk) => {
    let off = 0;
    while (off < chunk.length) off += await file.write(chunk.subarray(off));
  }, { compress: path.endsWith(".gz") });
  const images = result.images.map((im, i) => ({
    platform: platforms[i],
    manifestDigest: im.manifestDigest,
    layers: im.layers.map((l) => l.digest),
  }));
  return {
    manifestDigest: result.images[0].manifestDigest,
    imageId: result.images[0].imageId,
    layers: images[0].layers,
    images,
  };
}

/** crane: on PATH or where `go install` puts it. */
export function findCrane(): string | undefined {
  return findGoTool("crane");
}

/** A tool scripts/setup.sh installs with go install: on PATH, else in GOPATH/bin. */
export function findGoTool(name: string): string | undefined {
  const found = findTool(name);
  if (found) return found;
  const gopath = Deno.env.get("GOPATH") || `${Deno.env.get("HOME")}/go`;
  try {
    Deno.statSync(`${gopath}/bin/${name}`);
    return `${gopath}/bin/${name}`;
  } catch {
    return undefined;
  }
}

/** A random suffix for names in shared places (the engine, the shared registry). */
export function suffix(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** Writes `$dir/config.json` for DOCKER_CONFIG. */
export async function writeDockerConfig(dir: string, doc: unknown): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(doc));
}

/** `user:password` as docker config's `auth` value. */
export function basicAuth(user: string, password: string): string {
  return btoa(`${user}:${password}`);
}

/**
 * Environment for r10e runs with their own upload state under `dir`: XDG_CACHE_HOME moves
 * Deno's own cache too, so DENO_DIR keeps pointing at the one that holds the dependencies.
 */
export function cacheEnv(dir: string): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "";
  const denoDir = Deno.env.get("DENO_DIR") ||
    `${Deno.env.get("XDG_CACHE_HOME") || `${home}/.cache`}/deno`;
  return { XDG_CACHE_HOME: `${dir}/cache`, DENO_DIR: denoDir };
}

/** A request as the proxy saw it: method and path with digests and upload IDs generalized. */
export type ProxyKind = string;

/** Hooks of `startProxy`: return a Response to answer instead of the registry. */
export interface ProxyHooks {
  /** Before forwarding. */
  before?: (kind: ProxyKind) => Response | undefined;
  /** After the registry answered (it has done the work). */
  after?: (kind: ProxyKind, upstream: Response) => Response | undefined;
}

/**
 * An HTTP proxy on loopback in front of a registry of ours, to inject faults the registry would
 * not make on its own. Upload URLs the registry hands out are rewritten to point at the proxy.
 */
export function startProxy(
  upstream: string,
  hooks: ProxyHooks,
): { host: string; seen: ProxyKind[]; close(): Promise<void> } {
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const seen: ProxyKind[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const kind = `${req.method} ${
      url.pathname.replace(/sha256:[0-9a-f]{64}/, "<digest>").replace(
        /uploads\/[^/]+$/,
        "uploads/<id>",
      )
    }`;
    seen.push(kind);
    const early = hooks.before?.(kind);
    if (early) {
      await req.body?.cancel();
      return early;
    }
    const headers = new Headers(req.headers);
    for (const h of ["host", "content-length", "transfer-encoding", "connection"]) {
      headers.delete(h);
    }
    let response: Response;
    try {
      response = await fetch(`http://${upstream}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: req.body,
        redirect: "manual",
      });
    } catch {
      return new Response("registry down", { status: 502 });
    }
    const late = hooks.after?.(kind, response);
    if (late) {
      // The hook may have read or be reading the upstream body: cancel only one left alone.
      if (response.body && !response.body.locked) await response.body.cancel();
      return late;
    }
    const out = new Headers(response.headers);
    const location = out.get("location");
    if (location) out.set("location", location.replace(`//${upstream}/`, `//${host}/`));
    return new Response(req.method === "HEAD" ? null : response.body, {
      status: response.status,
      headers: out,
    });
  });
  return { host, seen, close: () => server.shutdown() };
}
