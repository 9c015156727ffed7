/**
 * Credentials as docker finds them (docker/cli `config/configfile`): `$DOCKER_CONFIG/config.json`
 * (default `~/.docker/config.json`), `credHelpers[host]`, then an `auths` entry, then
 * `credsStore`; helpers are `docker-credential-<name>` programs speaking the credential-helpers
 * protocol (`get`, the server on stdin, `{"Username","Secret"}` on stdout).
 *
 * @module
 */
import { RegistryError } from "./errors.ts";
import { isObject } from "../json_object.ts";

/** What a registry is authenticated with. */
export type Credential =
  | { kind: "anonymous" }
  | { kind: "basic"; username: string; password: string }
  /** An identity (refresh) token, exchanged at the token endpoint (`docker login` with OAuth). */
  | { kind: "identity"; username: string; token: string };

/** Runs a credential helper: `program get` with `server` on stdin; its stdout, or null when it says "not found". */
export type HelperRunner = (program: string, server: string) => Promise<string | null>;

/** Where credentials come from: the environment and a way to run helper programs. */
export interface CredentialSource {
  env: Record<string, string>;
  /** Default: spawn the program from PATH. */
  runHelper?: HelperRunner;
  /** A spawned helper that has not answered in this long is an error (default 30 s). */
  helperTimeoutMs?: number;
}

/** How long a credential helper may take (a keychain prompt, a cloud CLI): 30 s. */
export const HELPER_TIMEOUT_MS = 30_000;

const HUB_KEY = "https://index.docker.io/v1/";

/** The keys docker's config may use for a registry: Hub's legacy URL, bare host, URLs. */
function normalizeKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

/**
 * The credential for `registry` (`docker.io`, `host:port`).
 * @throws {RegistryError} when config.json is not valid JSON or a helper fails.
 */
export async function findCredential(
  registry: string,
  source: CredentialSource,
): Promise<Credential> {
  const env = source.env;
  const dir = env.DOCKER_CONFIG || (env.HOME ? `${env.HOME}/.docker` : "");
  if (!dir) return { kind: "anonymous" };
  const path = `${dir}/config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "anonymous" };
    throw new RegistryError(`Cannot read docker config "${path}"`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new RegistryError(`Cannot read docker config "${path}": not valid JSON`, { cause: e });
  }
  if (!isObject(doc)) throw new RegistryError(`Cannot read docker config "${path}": not an object`);
  const want = normalizeKey(registry);
  const server = want === "docker.io" ? HUB_KEY : registry;
  const run = source.runHelper ?? spawnHelper(env, source.helperTimeoutMs ?? HELPER_TIMEOUT_MS);
  const helpers = isObject(doc.credHelpers) ? doc.credHelpers : {};
  for (const [key, name] of Object.entries(helpers)) {
    if (normalizeKey(key) === want && typeof name === "string" && name) {
      return await fromHelper(run, name, server);
    }
  }
  const auths = isObject(doc.auths) ? doc.auths : {};
  for (const [key, entry] of Object.entries(auths)) {
    if (normalizeKey(key) !== want || !isObject(entry)) continue;
    const found = fromAuthEntry(entry, path, key);
    if (found) return found;
  }
  if (typeof doc.credsStore === "string" && doc.credsStore) {
    return await fromHelper(run, doc.credsStore, server);
  }
  return { kind: "anonymous" };
}

function fromAuthEntry(
  entry: Record<string, unknown>,
  path: string,
  key: string,
): Credential | null {
  let username = typeof entry.username === "string" ? entry.username : "";
  let password = typeof entry.password === "string" ? entry.password : "";
  if (typeof entry.auth === "string" && entry.auth) {
    let decoded: string;
    try {
      decoded = new TextDecoder().decode(
        Uint8Array.from(atob(entry.auth), (c) => c.charCodeAt(0)),
      );
    } catch {
      // The value is a secret: never repeat it in the message.
      throw new RegistryError(
        `Cannot read docker config "${path}": auths["${key}"].auth is not base64`,
      );
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) {
      throw new RegistryError(
        `Cannot read docker config "${path}": auths["${key}"].auth is not base64 of "user:password"`,
      );
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (typeof entry.identitytoken === "string" && entry.identitytoken) {
    return { kind: "identity", username, token: entry.identitytoken };
  }
  if (username || password) return { kind: "basic", username, password };
  return null;
}

async function fromHelper(run: HelperRunner, name: string, server: string): Promise<Credential> {
  const program = `docker-credential-${name}`;
  const out = await run(program, server);
  if (out === null) return { kind: "anonymous" };
  let doc: unknown;
  try {
    doc = JSON.parse(out);
  } catch {
    // Not quoted: the text may be the secret itself.
    throw new RegistryError(`Credential helper "${program}" printed something that is not JSON`);
  }
  if (!isObject(doc) || typeof doc.Secret !== "string") {
    throw new RegistryError(`Credential helper "${program}" printed no "Secret"`);
  }
  const username = typeof doc.Username === "string" ? doc.Username : "";
  // docker-credential-helpers: the user "<token>" marks an identity token.
  if (username === "<token>") return { kind: "identity", username: "", token: doc.Secret };
  return { kind: "basic", username, password: doc.Secret };
}

function spawnHelper(env: Record<string, string>, timeoutMs: number): HelperRunner {
  return async (program, server) => {
    let child;
    try {
      child = new Deno.Command(program, {
        args: ["get"],
        env,
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new RegistryError(
          `Credential helper "${program}" named in the docker config is not in PATH`,
        );
      }
      throw new RegistryError(`Cannot run credential helper "${program}"`, { cause: e });
    }
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // ended just now
      }
    }, timeoutMs);
    let result;
    try {
      const writer = child.stdin.getWriter();
      // A helper that exits without reading its stdin is answered by its exit code alone.
      await writer.write(new TextEncoder().encode(server)).catch(() => {});
      await writer.close().catch(() => {});
      result = await child.output();
    } finally {
      clearTimeout(timer);
    }
    if (late) {
      throw new RegistryError(
        `Credential helper "${program}" did not answer in ${timeoutMs / 1000} s: stopped`,
      );
    }
    const out = new TextDecoder().decode(result.stdout);
    if (result.code !== 0) {
      const said = out + new TextDecoder().decode(result.stderr);
      // The protocol's answer for "no entry": anonymous access, as docker does.
      if (/credentials not found/i.test(said)) return null;
      // What it printed is not shown: a failing helper may print the secret it holds.
      throw new RegistryError(
        `Credential helper "${program}" failed (exit ${result.code}); its output is not shown, as it may hold a secret: run "${program} get" yourself to see it`,
      );
    }
    return out;
  };
}
