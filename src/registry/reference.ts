/**
 * Image references as docker writes them: `[host[:port]/]path[:tag][@sha256:<hex>]`,
 * with Docker Hub's defaults (`docker.io`, `library/` for one-component names).
 * Pure: no I/O.
 *
 * @module
 */

/** A parsed reference. */
export interface Reference {
  /** Registry host as written (`127.0.0.1:5000`, `ghcr.io`); `docker.io` when none was. */
  registry: string;
  /** Repository path inside the registry (`library/alpine`, `team/app`). */
  repository: string;
  /** The tag, when one was written. */
  tag?: string;
  /** `sha256:<hex>`, when one was written. */
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$/;

/** True when the first path component names a registry host rather than a repository (docker's rule). */
function isHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost" ||
    component !== component.toLowerCase();
}

/**
 * Parses a reference.
 * @throws {SyntaxError} naming the part that is not valid.
 */
export function parseReference(text: string): Reference {
  const fail = (detail: string) => new SyntaxError(`Invalid image reference "${text}": ${detail}`);
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw fail(`"${digest}" is not sha256:<64 lowercase hex digits>`);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw fail(`"${tag}" is not a valid tag`);
  }
  if (!rest) throw fail("the repository name is empty");
  const parts = rest.split("/");
  let registry = "docker.io";
  if (parts.length > 1 && isHost(parts[0])) {
    registry = parts.shift()!;
    if (!HOST.test(registry)) throw fail(`"${registry}" is not a valid registry host`);
  }
  for (const p of parts) {
    if (!COMPONENT.test(p)) {
      throw fail(`"${p}" is not a valid repository component (lowercase letters, digits, . _ -)`);
    }
  }
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = "docker.io";
  if (registry === "docker.io" && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (repository.length > 255) throw fail("the repository name is longer than 255 characters");
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `registry/repository` (the name part, without tag or digest). */
export function formatName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The reference as text: name, `:tag` when set, `@digest` when set. */
export function formatReference(ref: Reference): string {
  return formatName(ref) + (ref.tag ? `:${ref.tag}` : "") + (ref.digest ? `@${ref.digest}` : "");
}

/** The host to talk to: Docker Hub's API lives at registry-1.docker.io. */
export function apiHost(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

/** True for hosts on the loopback interface, where plain http is allowed without `--insecure`. */
export function isLoopback(registry: string): boolean {
  const host = registry.startsWith("[")
    ? registry.slice(1, registry.indexOf("]"))
    : registry.replace(/:[0-9]+$/, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * True when `text` should be read as a registry reference rather than a file path (the caller
 * checks first that no such path exists): it has a digest (`…@sha256:…`), or its first
 * component is a registry host (`host/repo[:tag]`, `localhost:5000/app`).
 */
export function looksLikeReference(text: string): boolean {
  let ref: Reference;
  try {
    ref = parseReference(text);
  } catch {
    return false;
  }
  if (ref.digest) return true;
  const first = text.split("/")[0];
  return text.includes("/") && isHost(first) && ref.registry !== "docker.io" ||
    /^(?:docker\.io|index\.docker\.io)\//.test(text);
}
