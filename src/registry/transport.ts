/**
 * The wire below the registry client: one HTTP request, with the rules that let r10e talk to a
 * server it does not trust (DESIGN: registries and trust).
 *
 * - Only `http:` and `https:` URLs are followed, and never from https down to http: Deno's
 *   fetch reads `file:` and `data:` URLs too, so a Location must be checked before it is used.
 * - No byte for `timeoutMs` (connecting, waiting for the answer, or between two chunks of its
 *   body) ends the request with a {@linkcode StallError}: a server that stalls cannot hang r10e.
 * - A body is read with a limit while it streams ({@linkcode readCapped}): an endless answer
 *   costs at most the limit.
 * - A request with a streamed body carries Content-Length: Deno's fetch drops that header and
 *   sends such a body chunked, which zot takes for an empty body (DIGEST_INVALID). Those go
 *   through node:http, which sends the length it is given.
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import tls from "node:tls";
import { RegistryError } from "./errors.ts";
import { concatBytes } from "../bytes.ts";

/** The limit of a manifest or an index read from a registry (ggcr and containerd use 4 MiB). */
export const MANIFEST_LIMIT = 4 * 1024 * 1024;
/** The limit of an error body or a token server's answer: words, not data. */
export const SMALL_LIMIT = 64 * 1024;
/** No byte for this long ends a request (`--timeout`). */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** No byte came for the idle timeout: not retried (a stalled server stalls again). */
export class StallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StallError";
  }
}

/** One request on the wire. */
export interface WireRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Bytes, or a stream of exactly `length` bytes. */
  body?: Uint8Array | ReadableStream<Uint8Array>;
  /** The length of a streamed body (sent as Content-Length). */
  length?: number;
  timeoutMs: number;
  /** For https with fetch: the client holding the trusted CAs. */
  client?: () => Deno.HttpClient;
  /** For https with a streamed body: the trusted CAs as PEM text. */
  caCerts?: () => string[];
}

/**
 * Checks a URL the client is about to request or follow (`target`, relative to `from`).
 * @throws {RegistryError} for a scheme other than http(s), or a step from https down to http.
 */
export function checkTarget(target: string, from: string, registry: string): URL {
  let url: URL;
  try {
    url = new URL(target, from);
  } catch {
    throw new RegistryError(
      `Registry "${registry}" sent a location that is not a URL: "${target.slice(0, 200)}"`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RegistryError(
      `Registry "${registry}" sent r10e to a "${url.protocol}" URL: refused (only http and https are followed)`,
    );
  }
  if (url.protocol === "http:" && new URL(from).protocol === "https:") {
    throw new RegistryError(
      `Registry "${registry}" sent r10e from https down to plain http (${url.origin}): refused`,
    );
  }
  return url;
}

/**
 * Sends one request. The response's body stalls into a {@linkcode StallError} after
 * `timeoutMs` without a byte.
 * @throws {StallError} when no answer came in time; the fetch or node:http error otherwise.
 */
export function send(request: WireRequest): Promise<Response> {
  if (request.body instanceof ReadableStream) return sendStreamed(request);
  return sendFetch(request);
}

async function sendFetch(request: WireRequest): Promise<Response> {
  const abort = new AbortController();
  const stall = () => new StallError(stalled(request));
  const timer = setTimeout(() => abort.abort(stall()), request.timeoutMs);
  const init: RequestInit & { client?: Deno.HttpClient } = {
    method: request.method,
    headers: request.headers,
    redirect: "manual",
    body: request.body as BodyInit | undefined,
    signal: abort.signal,
  };
  if (request.url.startsWith("https:") && request.client) init.client = request.client();
  let response: Response;
  try {
    response = await fetch(request.url, init);
  } catch (e) {
    if (abort.signal.aborted) throw abort.signal.reason;
    throw e;
  } finally {
    clearTimeout(timer);
  }
  if (!response.body) return response;
  return new Response(watched(response.body, request.timeoutMs, stall, () => abort.abort()), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function sendStreamed(request: WireRequest): Promise<Response> {
  const url = new URL(request.url);
  const secure = url.protocol === "https:";
  const headers = { ...request.headers, "content-length": String(request.length ?? 0) };
  return new Promise<Response>((resolve, reject) => {
    const options: https.RequestOptions = {
      method: request.method,
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port || (secure ? 443 : 80),
      path: url.pathname + url.search,
      headers,
      // node's `ca` replaces its roots: the bundled ones stay, as fetch keeps its own.
      ...(secure && request.caCerts ? { ca: [...tls.rootCertificates, ...request.caCerts()] } : {}),
    };
    const req = (secure ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      const out = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) out.append(k, one);
      }
      const empty = status === 204 || status === 205 || status === 304 ||
        request.method === "HEAD";
      if (empty) res.resume();
      const body = empty ? null : watched(
        Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>,
        request.timeoutMs,
        () => new StallError(stalled(request)),
        () => req.destroy(),
      );
      resolve(new Response(body, { status, headers: out }));
    });
    // No byte either way for the timeout, from connecting on: the request ends.
    req.setTimeout(request.timeoutMs, () => req.destroy(new StallError(stalled(request))));
    req.on("error", reject);
    const body = request.body as ReadableStream<Uint8Array>;
    (async () => {
      let sent = 0;
      for await (const chunk of body) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          await new Promise<void>((r) => {
            const done = () => {
              req.off("drain", done);
              req.off("close", done);
              r();
            };
            req.on("drain", done);
            req.on("close", done);
          });
        }
        if (req.destroyed) return;
      }
      if (sent !== request.length) {
        req.destroy(new RangeError(`the body has ${sent} bytes, not the ${request.length} sent`));
        return;
      }
      req.end();
    })().catch((e) => req.destroy(e));
  });
}

function stalled(request: WireRequest): string {
  const q = request.url.indexOf("?");
  const shown = q < 0 ? request.url : request.url.slice(0, q);
  return `no byte for ${
    seconds(request.timeoutMs)
  } from ${request.method} ${shown} (the server stalled; --timeout sets how long to wait)`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * `body` read on demand (nothing is read ahead), each read given `ms` to bring a byte: then
 * `onStall` runs (to drop the connection) and the stream errors with `stall()`.
 */
function watched(
  body: ReadableStream<Uint8Array>,
  ms: number,
  stall: () => Error,
  onStall: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(stall()), ms);
      });
      try {
        const r = await Promise.race([reader.read(), late]);
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      } catch (e) {
        onStall();
        reader.cancel().catch(() => {});
        controller.error(e);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * The whole body of `response`, at most `limit` bytes, read as it streams: more is cancelled
 * and refused, never buffered.
 * @throws {RegistryError} naming `what` when the body is longer than `limit`.
 */
export async function readCapped(
  response: Response,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw new RegistryError(`${what} has ${declared} bytes (limit ${size(limit)})`);
  }
  if (!response.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    total += r.value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new RegistryError(`${what} is longer than ${size(limit)}: refused`);
    }
    parts.push(r.value);
  }
  return concatBytes(parts);
}

/** {@linkcode readCapped} as UTF-8 text. */
export async function readCappedText(
  response: Response,
  limit: number,
  what: string,
): Promise<string> {
  return new TextDecoder().decode(await readCapped(response, limit, what));
}

function size(n: number): string {
  return n >= 1 << 20 ? `${n / (1 << 20)} MiB` : `${n / 1024} KiB`;
}

/** True when `error` (or a cause of it) is a TLS failure: a certificate or handshake problem. */
export function isTlsError(error: unknown): boolean {
  return tlsDetail(error) !== null;
}

/** The TLS problem in `error`'s cause chain, in words, or null when it is not one. */
export function tlsDetail(error: unknown): string | null {
  for (let e = error; e instanceof Error; e = e.cause) {
    // node:http's TLS errors carry an OpenSSL-style code.
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /CERT|UNABLE_TO_VERIFY|SELF_SIGNED|TLS|SSL/.test(code)) {
      return `certificate problem: ${e.message} (${code})`;
    }
    const m = /invalid peer certificate: (.*)|(certificate[^\n]*)|(tls handshake[^\n]*)/i.exec(
      e.message,
    );
    if (!m) continue;
    const what = (m[1] ?? m[2] ?? m[3]).trim();
    if (/CaUsedAsEndEntity/.test(what)) {
      return "certificate problem: the server presents a CA certificate (CA:TRUE) as its own " +
        "certificate, which TLS refuses even when --ca-file names it: sign a server certificate " +
        "(CA:FALSE, subjectAltName of the host) with that CA and pass the CA with --ca-file";
    }
    if (/UnknownIssuer/.test(what)) {
      return "certificate problem: the server's certificate is not signed by a trusted CA " +
        "(for a private registry, pass its CA certificate with --ca-file)";
    }
    if (/NotValidForName/.test(what)) {
      return "certificate problem: the server's certificate does not name this host " +
        "(its subjectAltName must hold the host or IP address used in the reference)";
    }
    if (/Expired|NotValidYet/.test(what)) {
      return `certificate problem: the server's certificate is out of its validity period (${what})`;
    }
    return `certificate problem: ${what}`;
  }
  return null;
}
