/**
 * An OCI distribution-spec client for one registry host: scheme and TLS, authentication as a
 * layer below every request (Basic, or the Bearer token flow with a scope per repository),
 * retries in one place (retry.ts). Learned from go-containerregistry's `pkg/v1/remote/transport`;
 * written anew.
 *
 * Credentials and tokens live only in request headers: never in messages, errors or the
 * `--verbose` lines, which name the method, the URL without its query, and the status. They go
 * to the registry's own origin (scheme, host and port of its `/v2/`) and to the token realm its
 * challenge names, nowhere else: an upload Location or a redirect to another origin is sent
 * without them (ggcr's bearer transport checks the host the same way), and a challenge from
 * another origin is not answered. Every value sent is remembered (secrets.ts) and taken out of
 * any message that quotes a server.
 *
 * @module
 */
import { type Challenge, parseChallenges } from "./challenge.ts";
import { type Credential, findCredential, type HelperRunner } from "./credentials.ts";
import { RegistryError } from "./errors.ts";
import { apiHost, isLoopback } from "./reference.ts";
import { rememberSecret } from "./secrets.ts";
import {
  checkTarget,
  DEFAULT_TIMEOUT_MS,
  readCappedText,
  send,
  SMALL_LIMIT,
  StallError,
  tlsDetail,
} from "./transport.ts";
import {
  backoff,
  DEFAULT_RETRY,
  retriableError,
  retriableStatus,
  type RetryPolicy,
  withRetries,
} from "./retry.ts";

/** How to reach registries. */
export interface ClientOptions {
  /** The environment: DOCKER_CONFIG, HOME, PATH (for credential helpers), SSL_CERT_FILE. */
  env: Record<string, string>;
  /** PEM file of extra CAs trusted besides the system roots. */
  caFile?: string;
  /** Allow plain http to hosts that are not loopback. */
  insecure?: boolean;
  /** Hears one line per request and retry (never a header). */
  onVerbose?: (line: string) => void;
  /** Runs credential helpers (default: spawn them). */
  runHelper?: HelperRunner;
  retry?: Partial<RetryPolicy>;
  /** No byte for this long ends a request (default 60 s; `--timeout`). */
  timeoutMs?: number;
  /** A credential helper that has not answered in this long is an error (default 30 s). */
  helperTimeoutMs?: number;
}

/** One request. */
export interface Call {
  /** Scopes the request needs, e.g. `repository:team/app:pull,push`. */
  scopes: string[];
  headers?: Record<string, string>;
  /**
   * The body: bytes, or a function that makes a fresh stream of them (a retry calls it again).
   * A stream is sent as it is read: a blob never has to fit in memory (and Deno sends a stream
   * about twice as fast as one large buffer).
   */
  body?: Uint8Array | (() => ReadableStream<Uint8Array>);
  /** The length of a streamed body, sent as Content-Length (required with a stream). */
  length?: number;
  /** Statuses that are success for this request; anything else is a RegistryError. */
  expect: number[];
  /** What the request is for, in error messages (`upload blob sha256:…`). */
  what: string;
  /** false: one attempt only (a chunk the caller resumes itself). */
  retry?: boolean;
}

const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine
  "/etc/pki/tls/certs/ca-bundle.crt", // Fedora, RHEL
  "/etc/ssl/cert.pem", // macOS, OpenBSD
];

/** A client for one registry host. */
export class RegistryClient {
  readonly registry: string;
  #host: string;
  #options: ClientOptions;
  #retry: RetryPolicy;
  #base: Promise<string> | null = null;
  #challenge: Challenge | null = null;
  #credential: Promise<Credential> | null = null;
  #tokens = new Map<string, { token: string; until: number }>();
  #http: Deno.HttpClient | null = null;
  #caCerts: string[] | null = null;
  #lastAuth: string | undefined;

  constructor(registry: string, options: ClientOptions) {
    this.registry = registry;
    this.#host = apiHost(registry);
    this.#options = options;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** The retry policy in force (for callers that resume streams themselves). */
  get retryPolicy(): RetryPolicy {
    return this.#retry;
  }

  /** Releases the TLS client. */
  close(): void {
    this.#http?.close();
    this.#http = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `https://host` or (loopback, --insecure) `http://host`, found by pinging `/v2/`. */
  base(): Promise<string> {
    return this.#base ??= this.#ping();
  }

  /**
   * Sends a request to `pathOrUrl` (a `/v2/…` path, or an absolute upload URL the registry gave),
   * authenticated for `init.scopes`, retried on 5xx, 429 and dropped connections.
   * @throws {RegistryError} for a status not in `init.expect`, with the registry's own message.
   */
  async request(method: string, pathOrUrl: string, init: Call): Promise<Response> {
    const base = await this.base();
    // An absolute URL is one the registry gave (an upload Location): checked like a redirect.
    const url = checkTarget(pathOrUrl, base, this.registry).href;
    const own = new URL(url).origin === new URL(base).origin;
    let response: Response;
    try {
      const auth = own ? await this.#authorization(init.scopes) : undefined;
      response = await this.#send(method, url, init, auth);
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw new RegistryError(
        `Cannot ${init.what} at registry "${this.registry}": ${describe(e)}`,
        { cause: e },
      );
    }
    // Only the registry's own origin may ask for credentials: another origin's challenge would
    // name a realm of its choosing.
    if (response.status === 401 && own) {
      // A token may have expired or lack a scope the registry names in its challenge: once more.
      const header = response.headers.get("www-authenticate");
      const bearer = header
        ? parseChallenges(header).find((c) => c.scheme === "bearer")
        : undefined;
      if (bearer) {
        this.#challenge = bearer;
        const extra = bearer.params.scope ? bearer.params.scope.split(" ") : [];
        await response.body?.cancel();
        const auth = await this.#authorization([...init.scopes, ...extra], true);
        try {
          response = await this.#send(method, url, init, auth);
        } catch (e) {
          if (e instanceof RegistryError) throw e;
          throw new RegistryError(
            `Cannot ${init.what} at registry "${this.registry}": ${describe(e)}`,
            { cause: e },
          );
        }
      }
    }
    if (!init.expect.includes(response.status)) {
      throw await this.#refusal(method, url, response, init);
    }
    return response;
  }

  async #ping(): Promise<string> {
    const allowHttp = this.#options.insecure === true || isLoopback(this.registry);
    const schemes = allowHttp ? ["https", "http"] : ["https"];
    let lastError: unknown;
    let busyStatus = 0;
    for (let attempt = 1;; attempt++) {
      let busy: Response | null = null;
      for (const scheme of schemes) {
        const url = `${scheme}://${this.#host}/v2/`;
        let response: Response;
        try {
          response = await this.#fetch("GET", url, {});
        } catch (e) {
          lastError = e;
          // The port speaks TLS and its certificate failed: plain http would only blur that.
          if (tlsDetail(e) !== null) break;
          continue;
        }
        await response.body?.cancel();
        this.#verbose(`GET ${url} -> ${response.status}`);
        // An http request to a TLS port: the server says so with 400.
        if (scheme === "http" && response.status === 400 && lastError) continue;
        if (retriableStatus(response.status)) {
          busy = response;
          busyStatus = response.status;
          break;
        }
        busyStatus = 0;
        if (response.status === 401) {
          const header = response.headers.get("www-authenticate") ?? "";
          const challenges = parseChallenges(header);
          this.#challenge = challenges.find((c) => c.scheme === "bearer") ??
            challenges.find((c) => c.scheme === "basic") ?? null;
        } else if (response.status === 404 || response.status >= 500) {
          throw new RegistryError(
            `Registry "${this.registry}" answered ${response.status} at ${url}: is it an OCI registry?`,
            { status: response.status },
          );
        }
        return `${scheme}://${this.#host}`;
      }
      // Busy (5xx, 429) or unreachable (refused, reset): again, with backoff. A TLS failure is
      // not going to change.
      const tls = !busy && tlsDetail(lastError) !== null;
      if (attempt >= this.#retry.attempts || tls || (!busy && !retriableError(lastError))) break;
      const wait = backoff(this.#retry, attempt, busy?.headers.get("retry-after"));
      this.#verbose(
        `GET /v2/ of "${this.registry}": ${
          busy ? `HTTP ${busy.status}` : "no answer"
        }, retrying in ${wait} ms`,
      );
      await this.#retry.sleep(wait);
    }
    if (busyStatus) {
      throw new RegistryError(
        `Registry "${this.registry}" answered HTTP ${busyStatus} at /v2/ ${this.#retry.attempts} times: try again later`,
        { status: busyStatus },
      );
    }
    const hint = allowHttp
      ? ""
      : " (plain http is tried only for loopback hosts or with --insecure)";
    throw new RegistryError(
      `Cannot reach registry "${this.registry}": ${describe(lastError)}${hint}`,
      { cause: lastError },
    );
  }

  /** The Authorization header value for `scopes`, or undefined for anonymous access. */
  async #authorization(scopes: string[], force = false): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (!challenge) return undefined;
    const credential = await (this.#credential ??= findCredential(this.registry, {
      env: this.#options.env,
      runHelper: this.#options.runHelper,
      helperTimeoutMs: this.#options.helperTimeoutMs,
    }));
    if (challenge.scheme === "basic") {
      if (credential.kind !== "basic") return undefined;
      return basicHeader(credential.username, credential.password);
    }
    if (challenge.scheme !== "bearer") return undefined;
    const wanted = [...new Set(scopes)].sort();
    const key = wanted.join(" ");
    const cached = this.#tokens.get(key);
    if (!force && cached && cached.until > Date.now()) return "Bearer " + cached.token;
    const { token, expiresIn } = await this.#fetchToken(challenge, wanted, credential);
    rememberSecret(token);
    this.#tokens.set(key, { token, until: Date.now() + Math.max(expiresIn - 10, 5) * 1000 });
    return "Bearer " + token;
  }

  async #fetchToken(
    challenge: Challenge,
    scopes: string[],
    credential: Credential,
  ): Promise<{ token: string; expiresIn: number }> {
    const realm = challenge.params.realm;
    if (!realm) {
      throw new RegistryError(
        `Registry "${this.registry}" sent a Bearer challenge without a realm`,
      );
    }
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new RegistryError(`Registry "${this.registry}" sent a token realm that is not a URL`);
    }
    if (
      realmUrl.protocol !== "https:" &&
      !(realmUrl.protocol === "http:" && (this.#options.insecure || isLoopback(realmUrl.host)))
    ) {
      throw new RegistryError(
        `Registry "${this.registry}" sends credentials to "${realmUrl.origin}" without TLS: refused (use --insecure to allow)`,
      );
    }
    // A registry must not send our credentials to link-local addresses (cloud metadata services),
    // nor from a remote registry to loopback (ggcr's realm check, issue #2258, does the same).
    const realmHost = realmUrl.hostname.replace(/^\[|\]$/g, "");
    const sameHost = realmUrl.host === this.#host;
    if (
      !sameHost && (/^169\.254\./.test(realmHost) || /^fe80:/i.test(realmHost) ||
        (isLoopback(realmUrl.host) && !isLoopback(this.registry)))
    ) {
      throw new RegistryError(
        `Registry "${this.registry}" sends credentials to "${realmUrl.origin}", a link-local or loopback address: refused`,
      );
    }
    const service = challenge.params.service;
    let response: Response;
    const where = `${realmUrl.origin}${realmUrl.pathname}`;
    if (credential.kind === "identity") {
      // OAuth2 refresh-token grant (docker's token spec, "OAuth2 token" section).
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: secret(credential.token),
        client_id: "r10e",
        ...(service ? { service } : {}),
        scope: scopes.join(" "),
      });
      response = await withRetries(
        this.#retry,
        () =>
          this.#fetch("POST", realmUrl.href, {
            "content-type": "application/x-www-form-urlencoded",
          }, new TextEncoder().encode(form.toString())),
        (why, ms) => this.#verbose(`POST ${where}: ${why}, retrying in ${ms} ms`),
      );
      this.#verbose(`POST ${where} -> ${response.status}`);
    } else {
      const url = new URL(realmUrl.href);
      if (service) url.searchParams.set("service", service);
      for (const s of scopes) url.searchParams.append("scope", s);
      const headers: Record<string, string> = {};
      if (credential.kind === "basic") {
        headers.authorization = basicHeader(credential.username, credential.password);
      }
      response = await withRetries(
        this.#retry,
        () => this.#fetch("GET", url.href, headers),
        (why, ms) => this.#verbose(`GET ${where}: ${why}, retrying in ${ms} ms`),
      );
      this.#verbose(`GET ${where} -> ${response.status}`);
    }
    const text = await readCappedText(
      response,
      SMALL_LIMIT,
      `The answer of token server "${where}"`,
    );
    if (!response.ok) {
      const who = credential.kind === "anonymous" ? "anonymous access" : "the credentials";
      throw new RegistryError(
        `Token server "${where}" of registry "${this.registry}" refused ${who} for ${
          scopes.join(" ")
        } (HTTP ${response.status})${registryWords(text)}`,
        { status: response.status },
      );
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new RegistryError(`Token server "${where}" answered something that is not JSON`);
    }
    const obj = (doc ?? {}) as Record<string, unknown>;
    const token = typeof obj.token === "string" ? obj.token : obj.access_token;
    if (typeof token !== "string" || !token) {
      throw new RegistryError(`Token server "${where}" answered no token`);
    }
    const expiresIn = typeof obj.expires_in === "number" && obj.expires_in > 0
      ? obj.expires_in
      : 60;
    return { token, expiresIn };
  }

  /** One request with retries, following redirects itself (Authorization stays on its origin). */
  async #send(
    method: string,
    url: string,
    init: Call,
    authorization: string | undefined,
  ): Promise<Response> {
    let current = url;
    const own = new URL(await this.base()).origin;
    for (let hop = 0;; hop++) {
      const headers = { ...init.headers };
      const sameOrigin = new URL(current).origin === own;
      if (authorization && sameOrigin) headers.authorization = authorization;
      this.#lastAuth = sameOrigin ? authorization : undefined;
      const shown = withoutQuery(current);
      const policy = init.retry === false ? { ...this.#retry, attempts: 1 } : this.#retry;
      const response = await withRetries(
        policy,
        () => this.#fetch(method, current, headers, init.body, init.length),
        (why, ms) => this.#verbose(`${method} ${shown}: ${why}, retrying in ${ms} ms`),
      );
      this.#verbose(`${method} ${shown} -> ${response.status}`);
      const location = response.headers.get("location");
      if ([301, 302, 303, 307, 308].includes(response.status) && location && hop < 5) {
        if (method !== "GET" && method !== "HEAD") return response;
        await response.body?.cancel();
        current = checkTarget(location, current, this.registry).href;
        continue;
      }
      return response;
    }
  }

  #fetch(
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: Uint8Array | (() => ReadableStream<Uint8Array>),
    length?: number,
  ): Promise<Response> {
    if (typeof body === "function" && length === undefined) {
      throw new TypeError(`A streamed body for ${method} ${withoutQuery(url)} needs its length`);
    }
    return send({
      method,
      url,
      headers,
      body: typeof body === "function" ? body() : body,
      length,
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      client: () => this.#tls(),
      caCerts: () => this.#trusted(),
    });
  }

  #tls(): Deno.HttpClient {
    this.#http ??= Deno.createHttpClient({ caCerts: this.#trusted() });
    return this.#http;
  }

  /** The system roots and --ca-file, as PEM texts. */
  #trusted(): string[] {
    if (this.#caCerts) return this.#caCerts;
    const caCerts: string[] = [];
    const env = this.#options.env;
    const system = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : SYSTEM_BUNDLES;
    for (const path of system) {
      try {
        caCerts.push(Deno.readTextFileSync(path));
        break;
      } catch {
        // not on this system: the next one
      }
    }
    if (this.#options.caFile) {
      try {
        caCerts.push(Deno.readTextFileSync(this.#options.caFile));
      } catch (e) {
        throw new RegistryError(`Cannot read --ca-file "${this.#options.caFile}"`, { cause: e });
      }
    }
    this.#caCerts = caCerts;
    return caCerts;
  }

  async #refusal(method: string, url: string, response: Response, init: Call) {
    // Words, not data: an endless or huge error body is cut off, and the message goes without.
    const words = (r: Response) => readCappedText(r, SMALL_LIMIT, "an error body").catch(() => "");
    let text = await words(response);
    if (method === "HEAD" && !text && response.status >= 400 && response.status < 500) {
      // A HEAD answer has no body: the same request as GET says why (an error has no blob).
      const headers = { ...init.headers };
      const own = new URL(url).origin === new URL(await this.base()).origin;
      if (this.#lastAuth && own) headers.authorization = this.#lastAuth;
      const again = await this.#fetch("GET", url, headers).catch(() => null);
      if (again && again.status === response.status) text = await words(again);
      else await again?.body?.cancel().catch(() => {});
    }
    const status = response.status;
    let detail = "";
    if (status === 401) {
      const credential = await (this.#credential ?? Promise.resolve({ kind: "anonymous" }));
      detail = credential.kind === "anonymous"
        ? ` (no credentials for "${this.registry}" in the docker config: run docker login)`
        : ` (the credentials for "${this.registry}" were not accepted)`;
    }
    return new RegistryError(
      `Registry "${this.registry}" refused to ${init.what}: HTTP ${status} for ${method} ${
        withoutQuery(url)
      }${registryWords(text)}${detail}`,
      { status },
    );
  }

  #verbose(line: string): void {
    this.#options.onVerbose?.(line);
  }
}

/** The registry's error list (`{"errors":[{"code","message","detail"}]}`) as `: CODE message`. */
function registryWords(text: string): string {
  if (!text) return "";
  try {
    const doc = JSON.parse(text) as {
      errors?: { code?: string; message?: string; detail?: unknown }[];
    };
    if (Array.isArray(doc.errors) && doc.errors.length) {
      return ": " + doc.errors.map((e) => {
        const detail = typeof e.detail === "string"
          ? e.detail
          : e.detail && typeof e.detail === "object" && Object.keys(e.detail).length
          ? JSON.stringify(e.detail)
          : "";
        return [e.code, e.message, detail ? `(${detail.slice(0, 200)})` : ""].filter(Boolean)
          .join(" ");
      }).join("; ");
    }
  } catch {
    // not JSON: the text itself, shortened
  }
  const plain = text.replace(/\s+/g, " ").trim().slice(0, 300);
  return plain ? `: ${plain}` : "";
}

function withoutQuery(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** What went wrong with a request, in words: the TLS problem, the stall, or the innermost cause. */
function describe(error: unknown): string {
  const tls = tlsDetail(error);
  if (tls) return tls;
  if (!(error instanceof Error)) return String(error);
  if (error instanceof StallError) return error.message;
  // fetch says "fetch failed"; what failed is in its cause.
  let inner: Error = error;
  while (inner.cause instanceof Error) inner = inner.cause;
  const text = inner === error ? error.message : `${error.message}: ${inner.message}`;
  return text.replace(/\s+/g, " ").slice(0, 300);
}

/** The Basic Authorization value of a user and password, both remembered as secrets. */
function basicHeader(username: string, password: string): string {
  const value = btoa(utf8Binary(`${username}:${password}`));
  rememberSecret(password);
  rememberSecret(`${username}:${password}`);
  rememberSecret(value);
  return "Basic " + value;
}

/** `value`, remembered as a secret. */
function secret(value: string): string {
  rememberSecret(value);
  return value;
}

/** A string as the binary string `btoa` takes, UTF-8 encoded. */
function utf8Binary(text: string): string {
  return String.fromCharCode(...new TextEncoder().encode(text));
}
