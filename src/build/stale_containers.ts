/**
 * The containers of `build --in docker` carry their owner in their names
 * (`r10e-build-<host>-<pid>-<hex>`, `r10e-context-…`): a build killed too hard to clean up
 * (SIGKILL) leaves them, and the next build on the same machine removes those whose process is
 * gone. Only r10e's own names are touched, only with an engine on this
 * machine (a pid means nothing on another one), never a container of a live process.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { processAlive } from "../signals.ts";

/** `r10e-build-` / `r10e-context-` + this id: the host tag, the owner's pid, a random part. */
const NAME = /^r10e-(?:build|context)-([0-9a-f]{8})-(\d+)-[0-9a-f]{6}$/;

/** Eight hex digits naming this machine (its host name): pids are compared only on it. */
export function hostTag(name = hostname()): string {
  return createHash("sha256").update(name).digest("hex").slice(0, 8);
}

/** The owner of a container named by {@linkcode containerId}: its host tag and pid, else null. */
export function ownerOfContainer(name: string): { host: string; pid: number } | null {
  const m = NAME.exec(name);
  return m ? { host: m[1], pid: Number(m[2]) } : null;
}

/**
 * A fresh id for this build's container names, with this process as their owner; first removes
 * the containers (and their context images) that a killed build of this machine left. Removal is
 * best effort: a build never fails because an old container could not be removed.
 */
export async function containerId(ctx: { env: Record<string, string> }): Promise<string> {
  const tag = hostTag();
  if (engineOnThisMachine(ctx.env.DOCKER_HOST)) await removeStale(ctx.env, tag);
  const rand = Array.from(
    crypto.getRandomValues(new Uint8Array(3)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return `${tag}-${Deno.pid}-${rand}`;
}

async function removeStale(env: Record<string, string>, tag: string): Promise<void> {
  const list = await run(env, [
    "ps",
    "--all",
    "--no-trunc",
    "--filter",
    "name=^r10e-",
    "--format",
    "{{.Names}}\t{{.Image}}",
  ]);
  if (list === null) return;
  const names: string[] = [];
  const images: string[] = [];
  for (const line of list.split("\n")) {
    const [name, image] = line.split("\t");
    const owner = ownerOfContainer(name ?? "");
    if (!owner || owner.host !== tag || owner.pid === Deno.pid || processAlive(owner.pid)) {
      continue;
    }
    names.push(name);
    // A context container's image holds only the project (docker.ts removes it too).
    if (name.startsWith("r10e-context-") && /^sha256:[0-9a-f]{64}$/.test(image ?? "")) {
      images.push(image);
    }
  }
  if (names.length === 0) return;
  await run(env, ["rm", "--force", ...names]);
  if (images.length) await run(env, ["image", "rm", ...images]);
}

/** Stdout of a docker command, or null when it fails or cannot start. */
async function run(env: Record<string, string>, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("docker", {
      args,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

/** DOCKER_HOST unset, a unix socket, or loopback tcp. */
function engineOnThisMachine(dockerHost: string | undefined): boolean {
  if (!dockerHost || dockerHost.startsWith("unix://")) return true;
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+)/.exec(dockerHost);
  return !!m && ["localhost", "127.0.0.1", "[::1]"].includes(m[1]);
}
