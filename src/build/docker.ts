/**
 * `r10e build --in docker`: build_cmd runs inside the Go toolchain
 * image that `r10e-docker/Dockerfile` pins by digest, with the same normalized
 * environment as host mode; the artifacts and extern_data are copied out and
 * the image is assembled on the host by the same stager and writer.
 *
 * Steps: check the pins (pure) → `docker build` of the builder stage (FROM the
 * pinned image, COPY of the project: `.dockerignore` is honored by Docker) →
 * `docker run` of build_cmd in it → `docker cp` of what the config names into a
 * staging folder that mirrors the project → `collect` as in host mode.
 *
 * The Docker CLI is the only interface to the engine (no socket client): it
 * reads DOCKER_HOST, contexts and credentials the way users expect.
 *
 * @module
 */
import { dirname } from "node:path";
import { BuildFailed, ConfigError, UsageError } from "../errors.ts";
import { PASSED_THROUGH } from "./toolchain.ts";
import { containerId } from "./stale_containers.ts";
import { DOCKERFILE_PATH, PINS_PATH } from "../project/layout.ts";

// ── pure part: references, Dockerfile, pins ─────────────────────────────────

/** An image reference split into the name (with any tag) and the digest. */
export interface ImageRef {
  /** `golang:1.26.8`, `127.0.0.1:5555/go-builder`, … */
  name: string;
  /** `sha256:<64 hex>` or null when the reference is not pinned. */
  digest: string | null;
}

/**
 * Splits `name[:tag][@sha256:hex]`.
 * @throws {RangeError} for an empty reference or a malformed digest.
 */
export function parseImageRef(ref: string): ImageRef {
  const text = ref.trim();
  if (text === "") throw new RangeError("expected an image reference, found an empty string");
  const at = text.indexOf("@");
  if (at < 0) return { name: text, digest: null };
  const name = text.slice(0, at);
  const digest = text.slice(at + 1);
  if (name === "" || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new RangeError(
      `expected an image reference like "golang:1.26.8@sha256:<64 hex digits>", found "${ref}"`,
    );
  }
  return { name, digest };
}

/** The name without a tag: `127.0.0.1:5555/go:1.26` → `127.0.0.1:5555/go`. */
export function repositoryOf(name: string): string {
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  return colon > slash ? name.slice(0, colon) : name;
}

/** Name of the Dockerfile stage in which build_cmd runs. */
export const BUILDER_STAGE = "builder";

/**
 * The image of the `builder` stage of a Dockerfile (or of its first stage when
 * none is named so), with build-time `ARG` defaults not substituted.
 * @throws {ConfigError} when the Dockerfile has no FROM line
 */
export function dockerfileBuilderImage(text: string, file: string): string {
  let first: string | null = null;
  // Line continuations are joined first; FROM [--platform=…] image [AS name]
  const lines = text.replace(/\\\r?\n/g, " ").split(/\r?\n/);
  for (const line of lines) {
    const m = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (!m) continue;
    if (m[2]?.toLowerCase() === BUILDER_STAGE) return m[1];
    first ??= m[1];
  }
  if (first === null) {
    throw new ConfigError(
      `Cannot build --in docker: "${file}" has no FROM line; run \`r10e init\` to write it again`,
    );
  }
  return first;
}

/** What `checkBuilder` compares. */
export interface BuilderInputs {
  /** `builder_image` of pins.json: the recorded input (null when init could not pin it). */
  pinned: string | null;
  /** The builder stage's FROM of r10e-docker/Dockerfile. */
  dockerfile: string;
  /** `builder_image` of config.json, when set. */
  configured?: string;
  /** `--allow-unpinned`. */
  allowUnpinned?: boolean;
  /** File names for messages. */
  pinsFile: string;
  dockerfileFile: string;
  configFile: string;
}

/**
 * Checks that the recorded builder, the Dockerfile and the config agree and that
 * the builder is pinned by digest; returns the reference to build FROM.
 * Collects every disagreement into one error.
 * @throws {ConfigError} naming the expected and the found reference or digest
 */
export function checkBuilder(inputs: BuilderInputs): string {
  const problems: string[] = [];
  const parse = (ref: string, where: string): ImageRef | null => {
    try {
      return parseImageRef(ref);
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
      return null;
    }
  };
  const fromFile = parse(inputs.dockerfile, `"${inputs.dockerfileFile}"`);
  const recorded = inputs.pinned === null ? null : parse(inputs.pinned, `"${inputs.pinsFile}"`);
  if (recorded && fromFile) {
    if (recorded.digest !== fromFile.digest) {
      problems.push(
        `the builder image digest changed: "${inputs.pinsFile}" records ${
          recorded.digest ?? "none"
        } (expected) but "${inputs.dockerfileFile}" has ${
          fromFile.digest ?? "none (not pinned)"
        } (found)`,
      );
    }
    if (recorded.name !== fromFile.name) {
      problems.push(
        `the builder image changed: "${inputs.pinsFile}" records "${recorded.name}" (expected) but "${inputs.dockerfileFile}" has "${fromFile.name}" (found)`,
      );
    }
  }
  if (inputs.configured !== undefined && (recorded ?? fromFile)) {
    const wanted = parse(inputs.configured, `"${inputs.configFile}" builder_image`);
    const have = (recorded ?? fromFile)!;
    if (wanted && wanted.name !== have.name) {
      problems.push(
        `"${inputs.configFile}" asks for builder_image "${wanted.name}" but r10e-docker/ was written for "${have.name}"`,
      );
    }
    if (wanted?.digest && have.digest && wanted.digest !== have.digest) {
      problems.push(
        `the builder image digest changed: "${inputs.configFile}" asks for ${wanted.digest} (expected) but r10e-docker/ records ${have.digest} (found)`,
      );
    }
  }
  if (problems.length) {
    throw new ConfigError(
      `Cannot build --in docker: ${
        problems.join("; ")
      }. If the new builder is intended, run \`r10e init\` and review the change to r10e-docker/ in a commit`,
    );
  }
  const use = fromFile!;
  if ((recorded === null || use.digest === null) && !inputs.allowUnpinned) {
    throw new ConfigError(
      `Cannot build --in docker: the builder image "${inputs.dockerfile}" is not pinned by digest (${
        recorded === null ? `"${inputs.pinsFile}" records none` : "no @sha256 in the Dockerfile"
      }); run \`r10e init\` where a Docker engine can pull it, or pass --allow-unpinned`,
    );
  }
  return inputs.dockerfile;
}

/** Host variables that reach build_cmd in the container: only how to reach modules, never host paths. */
export const PASSED_INTO_CONTAINER: readonly string[] = PASSED_THROUGH.filter((k) =>
  /^(GOPROXY|GOSUMDB|GONOSUMDB|GONOPROXY|GOPRIVATE|GOINSECURE|GOVCS|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)$/
    .test(k)
);

/** Where the Go caches live in the container: a named volume, so later builds are incremental. */
export const CACHE_MOUNT = "/r10e-cache";

/** Name of the Docker volume holding the Go build and module caches. */
export const CACHE_VOLUME = "r10e-go-cache";

/** Where the host's module cache is mounted, read-only, in the builder container. */
export const MODCACHE_MOUNT = "/r10e-modcache";

/**
 * What build_cmd sees when the modules come from the host: the read-only cache
 * and no way to fetch anything (go.sum is still enforced by -mod=readonly).
 */
export const MODCACHE_ENV: Readonly<Record<string, string>> = {
  GOMODCACHE: MODCACHE_MOUNT,
  GOPROXY: "off",
};

/** Where the project is copied inside the builder (the Dockerfile's WORKDIR). */
export const CONTAINER_ROOT = "/src";

/**
 * The `host` part of `buildEnv` for a container: the image's PATH and HOME,
 * the cache locations in the volume, and the module-access variables of the
 * real host. Nothing else of the host leaks in.
 */
export function containerHostEnv(
  hostEnv: Record<string, string>,
  imageEnv: string[],
): Record<string, string> {
  const fromImage: Record<string, string> = {};
  for (const kv of imageEnv) {
    const eq = kv.indexOf("=");
    if (eq > 0) fromImage[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const env: Record<string, string> = {
    PATH: fromImage.PATH ??
      "/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: fromImage.HOME ?? "/root",
    GOCACHE: `${CACHE_MOUNT}/go-build`,
    GOMODCACHE: `${CACHE_MOUNT}/mod`,
  };
  if (fromImage.GOPATH) env.GOPATH = fromImage.GOPATH;
  for (const key of PASSED_INTO_CONTAINER) {
    if (hostEnv[key] !== undefined) env[key] = hostEnv[key];
  }
  return env;
}

/** `docker create` arguments for the build_cmd container (the environment goes in as `--env` pairs, sorted). */
export function createArgs(options: {
  name: string;
  image: string;
  env: Record<string, string>;
  network: string | null;
  command: string;
  /** The host's module cache, mounted read-only at MODCACHE_MOUNT. */
  modCache?: string;
  /**
   * Several platforms: build_cmd runs once for each of these environments, in
   * one container, each run with the variables that differ between them exported.
   */
  runs?: { platform: string; env: Record<string, string> }[];
}): string[] {
  const env: Record<string, string> = { ...options.env, R10E_BUILD_CMD: options.command };
  if (options.modCache) Object.assign(env, MODCACHE_ENV);
  return [
    "create",
    "--name",
    options.name,
    ...(options.network ? ["--network", options.network] : []),
    "--workdir",
    CONTAINER_ROOT,
    "--volume",
    `${CACHE_VOLUME}:${CACHE_MOUNT}`,
    ...(options.modCache ? ["--volume", `${options.modCache}:${MODCACHE_MOUNT}:ro`] : []),
    ...Object.keys(env).sort().flatMap((k) => ["--env", `${k}=${env[k]}`]),
    "--entrypoint",
    "/bin/sh",
    options.image,
    // As in host mode (run_host.ts): umask 022, then build_cmd through the shell.
    "-c",
    options.runs && options.runs.length > 1
      ? `umask 022 && ${platformLoop(options.runs)}`
      : 'umask 022 && eval "$R10E_BUILD_CMD"',
  ];
}

/**
 * build_cmd once per platform, each in a subshell with the variables that differ between
 * the runs exported; the first failure ends the loop with its exit code.
 */
export function platformLoop(runs: { platform: string; env: Record<string, string> }[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.env)))].sort().filter((k) =>
    runs.some((r) => r.env[k] !== runs[0].env[k])
  );
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  return runs.map((r) =>
    `(echo ${quote(`r10e: build_cmd for ${r.platform}`)} >&2 && export ${
      keys.map((k) => `${k}=${quote(r.env[k] ?? "")}`).join(" ")
    } && eval "$R10E_BUILD_CMD")`
  ).join(" && ");
}

/** The project-relative paths to copy out of the container: every artifact and extern_data src, sorted, deduplicated, none inside another. */
export function pathsToCopy(srcs: string[]): string[] {
  const clean = srcs.map((s) => s.replace(/^\.\/+/, "").replace(/\/+$/, "")).filter((s) =>
    s !== ""
  );
  const unique = [...new Set(clean)].sort();
  // A path inside another one comes out with it: copying both would race.
  return unique.filter((p) => !unique.some((q) => p.startsWith(q + "/")));
}

// ── the edge: the Docker CLI ────────────────────────────────────────────────

/** How to talk to the engine. */
export interface DockerContext {
  /** Environment of the docker CLI (DOCKER_HOST, DOCKER_CONFIG, PATH, HOME…). */
  env: Record<string, string>;
  signal?: AbortSignal;
}

/** Output of one docker command. */
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function spawnDocker(
  ctx: DockerContext,
  args: string[],
  options: { extraEnv?: Record<string, string>; stdin?: boolean } = {},
): Deno.ChildProcess {
  try {
    return new Deno.Command("docker", {
      args,
      env: { ...ctx.env, ...options.extraEnv },
      clearEnv: true,
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      signal: ctx.signal,
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(
        "Cannot build --in docker: the docker command is not installed (install Docker, or build with --in host)",
      );
    }
    throw error;
  }
}

async function docker(
  ctx: DockerContext,
  args: string[],
  options: { onOutput?: (chunk: Uint8Array) => void; extraEnv?: Record<string, string> } = {},
): Promise<Result> {
  const child = spawnDocker(ctx, args, options);
  const dec = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const parts: string[] = [];
    for await (const chunk of stream) {
      if (options.onOutput) options.onOutput(chunk);
      else parts.push(dec.decode(chunk, { stream: true }));
    }
    return parts.join("");
  };
  const [status, stdout, stderr] = await Promise.all([
    child.status,
    collect(child.stdout),
    collect(child.stderr),
  ]);
  return { code: status.code, stdout, stderr };
}

/** The last `n` non-empty lines, indented, for an error message. */
function tail(text: string, n: number): string {
  return text.trim().split("\n").filter((l) => l.trim() !== "").slice(-n).map((l) => "  " + l)
    .join("\n");
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter((l) => l.trim() !== "").pop() ?? "";
}

/** Where DOCKER_HOST points, for messages. */
function hostOf(env: Record<string, string>): string {
  return env.DOCKER_HOST ||
    (env.DOCKER_CONTEXT ? `context "${env.DOCKER_CONTEXT}"` : "the default socket");
}

/**
 * The engine's server version, or the reason it cannot be reached.
 * Never throws for an unreachable engine: `auto` mode falls back to the host.
 */
export function probeEngine(ctx: DockerContext): Promise<EngineProbe> {
  // Asked once per environment object: `auto` and the docker mode share the answer.
  let probe = probes.get(ctx.env);
  if (!probe) {
    probe = askEngine(ctx);
    probes.set(ctx.env, probe);
  }
  return probe;
}

/** The answer of `probeEngine`. */
export type EngineProbe = { ok: true; version: string } | { ok: false; reason: string };

const probes = new WeakMap<object, Promise<EngineProbe>>();

async function askEngine(ctx: DockerContext): Promise<EngineProbe> {
  let r: Result;
  try {
    r = await docker(ctx, ["version", "--format", "{{.Server.Version}}"]);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (r.code !== 0 || r.stdout.trim() === "") {
    return {
      ok: false,
      reason: `no Docker engine reachable at ${hostOf(ctx.env)}: ${
        lastLine(r.stderr) || `docker version exited ${r.code}`
      }`,
    };
  }
  return { ok: true, version: r.stdout.trim() };
}

/**
 * Pins an image by digest through the engine: pulls it (unless present with a
 * repo digest) and returns `name@sha256:…`, or null when that is not possible
 * (no engine, offline, no such image). For `r10e init`, which says why:
 * `onFailure` receives the reason (the engine's or the pull's own error).
 */
export async function pinImage(
  ctx: DockerContext,
  image: string,
  onFailure: (reason: string) => void = () => {},
): Promise<string | null> {
  let ref: ImageRef;
  try {
    ref = parseImageRef(image);
  } catch (error) {
    onFailure((error as Error).message);
    return null;
  }
  if (ref.digest) return image;
  const engine = await probeEngine(ctx);
  if (!engine.ok) {
    onFailure(engine.reason);
    return null;
  }
  const repo = repositoryOf(ref.name);
  const inspect = async () => {
    const r = await docker(ctx, [
      "image",
      "inspect",
      "--format",
      "{{json .RepoDigests}}",
      ref.name,
    ]);
    if (r.code !== 0) return null;
    const digests = JSON.parse(r.stdout) as string[];
    // Docker normalizes "golang" to "golang" in RepoDigests but "docker.io/library/golang" is possible too.
    const hit = digests.find((d) => repositoryOf(d.slice(0, d.indexOf("@"))) === repo) ??
      digests.find((d) => d.slice(0, d.indexOf("@")).endsWith("/" + repo));
    return hit ? `${ref.name}@${hit.slice(hit.indexOf("@") + 1)}` : null;
  };
  // Pull first: the digest of the registry's current image, not of a stale local tag.
  const pull = await docker(ctx, ["pull", "--quiet", ref.name]);
  const pinned = await inspect();
  if (pinned === null) {
    onFailure(
      pull.code !== 0
        ? `docker pull ${ref.name} failed: ${pull.stderr.trim() || `exit ${pull.code}`}`
        : `"${ref.name}" has no registry digest (RepoDigests is empty: an image built or imported locally)`,
    );
  }
  return pinned;
}

/** Options of `runInDocker`. */
export interface DockerRunOptions {
  /** The project root: the build context. */
  root: string;
  /** Path of the Dockerfile (r10e-docker/Dockerfile). */
  dockerfile: string;
  /** The builder stage's FROM reference (checked by `checkBuilder`). */
  baseImage: string;
  /** build_cmd. */
  command: string;
  /** A fixed environment for build_cmd (tests); ignored when `makeEnv` is given. */
  env: Record<string, string>;
  /** Makes the environment from `containerHostEnv` of the builder image (its PATH, HOME), per platform. */
  makeEnv?: (containerHost: Record<string, string>, platform: string) => Record<string, string>;
  /** The platforms to run build_cmd for, in order (default: one run with `env`/`makeEnv`'s first). */
  platforms?: string[];
  /** The host's module cache to mount read-only (see `downloadModulesOnHost`), or null. */
  modCache?: string | null;
  /** Network of the build_cmd container; null for Docker's default. */
  network: string | null;
  /** Project-relative paths to copy out (artifact and extern_data srcs). */
  copyOut: string[];
  /** Folder to copy them into, mirroring the project (created, must not exist). */
  stagingRoot: string;
  onProgress: (message: string) => void;
  onOutput: (chunk: Uint8Array) => void;
}

/** Name of the Dockerfile stage that holds the project, filtered by `.dockerignore`. */
export const CONTEXT_STAGE = "context";

/**
 * Whether `docker build` can use BuildKit: only when the buildx plugin is there,
 * the classic builder otherwise (both honor `.dockerignore`).
 */
function buildkitEnv(ctx: DockerContext): Promise<Record<string, string>> {
  if (ctx.env.DOCKER_BUILDKIT !== undefined) return Promise.resolve({});
  const cached = buildkitChecks.get(ctx.env);
  if (cached) return cached;
  const check = docker(ctx, ["buildx", "version"]).then((r): Record<string, string> =>
    r.code === 0 ? {} : { DOCKER_BUILDKIT: "0" }
  );
  buildkitChecks.set(ctx.env, check);
  return check;
}

const buildkitChecks = new WeakMap<object, Promise<Record<string, string>>>();

/**
 * Builds one stage of the Dockerfile with the project as context; returns its image ID.
 * @throws {BuildFailed} when docker build fails (its output was streamed)
 */
export async function buildStage(
  ctx: DockerContext,
  options: Pick<DockerRunOptions, "root" | "dockerfile"> & {
    target: string;
    /** Streams docker build's output; without it, the output is shown only on failure. */
    onOutput?: (chunk: Uint8Array) => void;
  },
): Promise<string> {
  const iidDir = await Deno.makeTempDir({ prefix: "r10e-iid-" });
  try {
    const iidFile = `${iidDir}/iid`;
    const r = await docker(ctx, [
      "build",
      "--file",
      options.dockerfile,
      "--target",
      options.target,
      "--iidfile",
      iidFile,
      options.root,
    ], { onOutput: options.onOutput, extraEnv: await buildkitEnv(ctx) });
    if (r.code !== 0) {
      const output = options.onOutput ? "" : `:\n${tail(r.stdout + r.stderr, 20)}`;
      if (/failed to reach build target|target stage .* could not be found/i.test(r.stderr)) {
        throw new ConfigError(
          `Cannot build --in docker: "${options.dockerfile}" has no stage "${options.target}" (it needs the stages "${BUILDER_STAGE}" and "${CONTEXT_STAGE}" that \`r10e init\` writes; run \`r10e init --force\` to write it again)`,
        );
      }
      throw new BuildFailed(
        `Cannot build stage "${options.target}" of "${options.dockerfile}": docker build exited with code ${r.code}${output}`,
      );
    }
    return (await Deno.readTextFile(iidFile)).trim();
  } finally {
    await Deno.remove(iidDir, { recursive: true }).catch(() => {});
  }
}

/**
 * Streams `/src` of one container into another: `docker cp A:/src -` piped into `docker cp - B:/`.
 * @throws {BuildFailed} when either side fails
 */
async function copyBetween(ctx: DockerContext, from: string, to: string): Promise<void> {
  const out = spawnDocker(ctx, ["cp", `${from}:${CONTAINER_ROOT}`, "-"]);
  const into = spawnDocker(ctx, ["cp", "-", `${to}:/`], { stdin: true });
  const text = (s: ReadableStream<Uint8Array>) => new Response(s).text();
  const [, outErr, , intoErr, outStatus, intoStatus] = await Promise.all([
    out.stdout.pipeTo(into.stdin),
    text(out.stderr),
    text(into.stdout),
    text(into.stderr),
    out.status,
    into.status,
  ]);
  if (!outStatus.success || !intoStatus.success) {
    throw new BuildFailed(
      `Cannot copy the project into the builder container: ${
        lastLine(outErr) || lastLine(intoErr)
      }`,
    );
  }
}

/**
 * Runs build_cmd in the builder and copies the named paths out into
 * `stagingRoot`. The stages are built from the Dockerfile: `builder` (the pinned
 * toolchain image, plus any steps added to it) and `context` (FROM scratch,
 * COPY of the project: `.dockerignore` is honored by Docker). One container is
 * made from the builder, the context is streamed into it, build_cmd runs, the
 * files come out. Making the project part of the builder image with COPY would
 * copy the whole toolchain once more on storage drivers without layer sharing (vfs).
 * The containers and the context image are removed whatever happens: on failure
 * before this throws, on success in the background (`removed`, to be awaited).
 * @throws {UsageError} when no engine is reachable (exit 2)
 * @throws {BuildFailed} when docker build or build_cmd fails (exit 1)
 */
export async function runInDocker(
  ctx: DockerContext,
  options: DockerRunOptions,
): Promise<{ removed: Promise<void> }> {
  const engine = await probeEngine(ctx);
  if (!engine.ok) {
    throw new UsageError(
      `Cannot build --in docker: ${engine.reason} (start Docker, or build with --in host)`,
    );
  }
  options.onProgress(
    `Building the builder and context stages of ${options.dockerfile} (Docker ${engine.version})`,
  );
  // Both at once; docker build's output is shown only when it fails.
  const [builderId, contextId] = await Promise.all([
    buildStage(ctx, { root: options.root, dockerfile: options.dockerfile, target: BUILDER_STAGE }),
    buildStage(ctx, { root: options.root, dockerfile: options.dockerfile, target: CONTEXT_STAGE }),
  ]);
  const id = await containerId(ctx);
  const contextName = `r10e-context-${id}`;
  const buildName = `r10e-build-${id}`;
  const quiet = { env: ctx.env };
  const remove = async () => {
    await docker(quiet, ["rm", "--force", buildName, contextName]).catch(() => {});
    // The context image holds only the project; the builder image stays for the next build.
    await docker(quiet, ["image", "rm", contextId]).catch(() => {});
  };
  try {
    const [inspect, created] = await Promise.all([
      docker(ctx, ["image", "inspect", "--format", "{{json .Config.Env}}", builderId]),
      docker(ctx, ["create", "--name", contextName, contextId, "/r10e-none"]),
    ]);
    if (inspect.code !== 0) {
      throw new BuildFailed(
        `Cannot inspect the builder image ${builderId}: ${lastLine(inspect.stderr)}`,
      );
    }
    if (created.code !== 0) {
      throw new BuildFailed(`Cannot create the context container: ${lastLine(created.stderr)}`);
    }
    const imageEnv = (JSON.parse(inspect.stdout) as string[] | null) ?? [];
    const platforms = options.platforms ?? ["linux/amd64"];
    const runs = platforms.map((platform) => ({
      platform,
      env: options.makeEnv
        ? options.makeEnv(containerHostEnv(ctx.env, imageEnv), platform)
        : options.env,
    }));
    const build = await docker(
      ctx,
      createArgs({
        name: buildName,
        image: builderId,
        env: runs[0].env,
        network: options.network,
        command: options.command,
        modCache: options.modCache ?? undefined,
        // Every platform in this one container run: Go cross-compiles.
        runs,
      }),
    );
    if (build.code !== 0) {
      throw new BuildFailed(`Cannot create the builder container: ${lastLine(build.stderr)}`);
    }
    await copyBetween(ctx, contextName, buildName);
    options.onProgress(
      `Running build_cmd ${JSON.stringify(options.command)} in the builder container${
        options.network ? ` (network ${options.network})` : ""
      }${platforms.length > 1 ? `, once for each of ${platforms.join(", ")}` : ""}`,
    );
    const run = await docker(ctx, ["start", "--attach", buildName], { onOutput: options.onOutput });
    if (run.code !== 0) {
      throw new BuildFailed(
        `build_cmd ${JSON.stringify(options.command)} failed with exit code ${run.code}`,
      );
    }
    options.onProgress(`Copying ${options.copyOut.length} path(s) out of the builder container`);
    await Deno.mkdir(options.stagingRoot, { recursive: true });
    for (const rel of options.copyOut) {
      await Deno.mkdir(dirname(`${options.stagingRoot}/${rel}`), { recursive: true });
    }
    // In parallel: each is a round trip to the engine; `pathsToCopy` made them disjoint.
    await Promise.all(options.copyOut.map(async (rel) => {
      // -L: the src itself is followed inside the container (like host mode's realpath); links
      // within a copied directory stay links, and `collect` checks they stay inside it.
      const cp = await docker(ctx, [
        "cp",
        "-L",
        `${buildName}:${CONTAINER_ROOT}/${rel}`,
        `${options.stagingRoot}/${rel}`,
      ]);
      // A missing path is left missing: `collect` reports it with the config's position.
      if (cp.code !== 0 && /no such file|could not find/i.test(cp.stderr)) {
        options.onProgress(
          `Warning: "${rel}" is not in the builder container's ${CONTAINER_ROOT} (left out by .dockerignore, or not made by build_cmd)`,
        );
      } else if (cp.code !== 0) {
        throw new BuildFailed(
          `Cannot copy "${rel}" out of the builder container: ${lastLine(cp.stderr)}`,
        );
      }
    }));
  } catch (error) {
    await remove();
    throw error;
  }
  // Removing the containers overlaps with staging and writing on the host.
  return { removed: remove() };
}

// ── the part `build` calls ──────────────────────────────────────────────────

/** What `chooseMode` needs. */
export interface ModeInputs {
  requested: "auto" | "host" | "docker";
  /** pins.json's builder_image. */
  pinnedBuilder: string | null;
  ctx: DockerContext;
  onProgress: (message: string) => void;
}

/**
 * Where build_cmd runs. `auto`: docker when r10e-docker/ pins a builder and an
 * engine is reachable, host otherwise; the choice and its reason are printed.
 */
export async function chooseMode(inputs: ModeInputs): Promise<"host" | "docker"> {
  if (inputs.requested !== "auto") return inputs.requested;
  if (inputs.pinnedBuilder === null) {
    inputs.onProgress("Building on the host (--in auto: r10e-docker/ pins no builder image)");
    return "host";
  }
  const engine = await probeEngine(inputs.ctx);
  if (!engine.ok) {
    inputs.onProgress(`Building on the host (--in auto: ${engine.reason})`);
    return "host";
  }
  inputs.onProgress(
    `Building in the pinned builder container (--in auto: builder pinned, Docker ${engine.version} reachable)`,
  );
  return "docker";
}

/** Options of `dockerBuildCmd`. */
export interface DockerBuildCmdOptions {
  /** The project root (directory of config.json): the build context. */
  root: string;
  /** config.json path, for messages. */
  configFile: string;
  buildCmd: string;
  /** config.json's builder_image. */
  configuredBuilder?: string;
  /** pins.json's builder_image. */
  pinnedBuilder: string | null;
  /** Paths to copy out: every artifact and extern_data src. */
  srcs: string[];
  /** Makes the normalized environment of one platform from the container's `host` part (toolchain.ts `buildEnv`). */
  makeEnv: (containerHost: Record<string, string>, platform: string) => Record<string, string>;
  /** Every platform to build, in order: build_cmd runs once for each in the one container. */
  platforms: string[];
  hostEnv: Record<string, string>;
  allowUnpinned?: boolean;
  /** Network of the build_cmd container; default none: the modules come from the host. */
  network?: string;
  onProgress: (message: string) => void;
  onOutput: (chunk: Uint8Array) => void;
  signal?: AbortSignal;
}

/** Whether the engine runs on this machine, so a bind mount names a host path (DOCKER_HOST unset, unix://, or loopback tcp). */
export function engineIsLocal(dockerHost: string | undefined): boolean {
  if (!dockerHost) return true;
  if (dockerHost.startsWith("unix://") || dockerHost.startsWith("npipe://")) return true;
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+)/.exec(dockerHost);
  return !!m && ["localhost", "127.0.0.1", "[::1]"].includes(m[1]);
}

/** What `downloadModulesOnHost` needs. */
export interface DownloadOptions {
  root: string;
  /** The normalized build environment with the host's PATH, HOME and Go caches (pinned GOTOOLCHAIN, -mod=readonly). */
  env: Record<string, string>;
  /** The docker CLI's environment (DOCKER_HOST), to tell whether a bind mount reaches the engine. */
  dockerEnv: Record<string, string>;
  onProgress: (message: string) => void;
  onOutput: (chunk: Uint8Array) => void;
  signal?: AbortSignal;
}

/**
 * Downloads the project's modules on the host with the pinned toolchain
 * (`go mod download` under GOFLAGS=-mod=readonly: every module is checked
 * against go.sum, and the Go checksum database for what go.sum lacks), and
 * returns the host module cache to mount read-only into the builder container.
 * Null, said why, when that cannot be done (no go.mod at the root, no `go`
 * on the host, a remote engine): the container then reaches modules only
 * through `--network`.
 * @throws {BuildFailed} when `go mod download` fails (a go.sum mismatch, an unknown module)
 */
export async function downloadModulesOnHost(options: DownloadOptions): Promise<string | null> {
  try {
    await Deno.stat(`${options.root}/go.mod`);
  } catch {
    options.onProgress(
      "No go.mod at the project root: no modules are downloaded on the host (build_cmd reaches modules only through --network)",
    );
    return null;
  }
  if (!engineIsLocal(options.dockerEnv.DOCKER_HOST)) {
    options.onProgress(
      `Warning: the Docker engine at ${options.dockerEnv.DOCKER_HOST} is not on this machine, so the host's module cache cannot be mounted; build_cmd reaches modules only through --network`,
    );
    return null;
  }
  const go = async (args: string[], onOutput?: (c: Uint8Array) => void) => {
    const child = new Deno.Command("go", {
      args,
      cwd: options.root,
      env: options.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: options.signal,
    }).spawn();
    const dec = new TextDecoder();
    const read = async (stream: ReadableStream<Uint8Array>, show: boolean) => {
      let text = "";
      for await (const chunk of stream) {
        if (show && onOutput) onOutput(chunk);
        text += dec.decode(chunk, { stream: true });
      }
      return text;
    };
    const [status, stdout, stderr] = await Promise.all([
      child.status,
      read(child.stdout, false),
      read(child.stderr, true),
    ]);
    return { code: status.code, stdout, stderr };
  };
  let modCache: string;
  try {
    const where = await go(["env", "GOMODCACHE"]);
    if (where.code !== 0) {
      throw new BuildFailed(
        `Cannot find the host's Go module cache: go env GOMODCACHE exited with code ${where.code}: ${
          lastLine(where.stderr)
        }`,
      );
    }
    modCache = where.stdout.trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      options.onProgress(
        "Warning: no `go` on the host: modules are not downloaded on the host; build_cmd reaches modules only through --network",
      );
      return null;
    }
    throw error;
  }
  options.onProgress(
    `Downloading modules on the host with Go ${
      options.env.GOTOOLCHAIN?.replace(/^go/, "")
    } (go mod download, checked against go.sum) into "${modCache}"`,
  );
  const download = await go(["mod", "download"], options.onOutput);
  if (download.code !== 0) {
    throw new BuildFailed(
      `Cannot download the modules on the host: go mod download exited with code ${download.code}${
        download.stderr.trim() ? "" : " (no output)"
      }`,
    );
  }
  await Deno.mkdir(modCache, { recursive: true });
  return modCache;
}

/** Where the files copied out of the container are; `await using` removes them. */
export interface DockerStaging extends AsyncDisposable {
  /** A folder that mirrors the project for the paths the config names: pass it to `collect`. */
  root: string;
}

/**
 * Runs build_cmd in the pinned builder and returns the folder holding
 * the artifacts and extern_data copied out of it.
 * @throws {ConfigError} when the builder is unpinned or its digest drifted (exit 2)
 * @throws {UsageError} when no engine is reachable (exit 2)
 * @throws {BuildFailed} when docker build or build_cmd fails (exit 1)
 */
export async function dockerBuildCmd(options: DockerBuildCmdOptions): Promise<DockerStaging> {
  const dockerfileFile = `${options.root}/${DOCKERFILE_PATH}`;
  let dockerfileText: string;
  try {
    dockerfileText = await Deno.readTextFile(dockerfileFile);
  } catch (error) {
    throw new ConfigError(
      `Cannot build --in docker: cannot read "${dockerfileFile}": ${
        (error as Error).message
      } (run \`r10e init\`)`,
    );
  }
  const baseImage = checkBuilder({
    pinned: options.pinnedBuilder,
    dockerfile: dockerfileBuilderImage(dockerfileText, dockerfileFile),
    configured: options.configuredBuilder,
    allowUnpinned: options.allowUnpinned,
    pinsFile: `${options.root}/${PINS_PATH}`,
    dockerfileFile,
    configFile: options.configFile,
  });
  if (parseImageRef(baseImage).digest === null) {
    options.onProgress(
      `Warning: building FROM "${baseImage}", NOT PINNED by digest (--allow-unpinned)`,
    );
  }
  const ctx: DockerContext = { env: options.hostEnv, signal: options.signal };
  const engine = await probeEngine(ctx);
  if (!engine.ok) {
    throw new UsageError(
      `Cannot build --in docker: ${engine.reason} (start Docker, or build with --in host)`,
    );
  }
  // Modules come from the host's cache, so the container needs no network.
  const network = options.network ?? "none";
  const [modCache] = await Promise.all([
    downloadModulesOnHost({
      root: options.root,
      env: options.makeEnv(options.hostEnv, options.platforms[0]),
      dockerEnv: options.hostEnv,
      onProgress: options.onProgress,
      onOutput: options.onOutput,
      signal: options.signal,
    }),
    warnOutsideRepository(options.root, options.onProgress),
  ]);
  const stagingRoot = await Deno.makeTempDir({ prefix: "r10e-docker-out-" });
  let removed: Promise<void> = Promise.resolve();
  const cleanup = async () => {
    await removed;
    await Deno.remove(stagingRoot, { recursive: true }).catch(() => {});
  };
  try {
    ({ removed } = await runInDocker(ctx, {
      root: options.root,
      dockerfile: dockerfileFile,
      baseImage,
      command: options.buildCmd,
      // The env is made after the stage is built, from its image env: see runInDocker.
      env: {},
      makeEnv: options.makeEnv,
      platforms: options.platforms,
      modCache,
      network,
      copyOut: pathsToCopy(options.srcs),
      stagingRoot: `${stagingRoot}/project`,
      onProgress: options.onProgress,
      onOutput: options.onOutput,
    }));
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { root: `${stagingRoot}/project`, [Symbol.asyncDispose]: cleanup };
}

/**
 * Go stamps VCS information from the repository that holds the project; the
 * build context holds only the project, so a project below its repository's
 * root is stamped on the host but not in the container. Says so up front.
 */
async function warnOutsideRepository(root: string, onProgress: (m: string) => void): Promise<void> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", root, "rev-parse", "--show-toplevel"],
      stdout: "piped",
      stderr: "null",
      env: { LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0" },
    }).output();
    if (!out.success) return;
    const top = new TextDecoder().decode(out.stdout).trim();
    const real = await Deno.realPath(root);
    if (top !== "" && top !== real) {
      onProgress(
        `Warning: the project "${real}" is inside the git repository "${top}" but is not its root: ` +
          "the container sees no .git, so Go stamps no VCS information and the binary differs from a host build",
      );
    }
  } catch {
    // no git on the host: nothing to compare with
  }
}
