/**
 * `r10e check [REFERENCE]`: build the committed HEAD twice from fresh clones
 * outside the project, under deliberately different conditions (paths, TZ,
 * umask, locale, TMPDIR, optionally a cold Go build cache, host and docker
 * mode when an engine answers and a builder is pinned), compare the two images
 * with verify, and compare them with REFERENCE (a digest, an image, or the
 * expectation recorded by `r10e build --record`) (issue 13).
 *
 * Each build is r10e's own `build` run as a child process (the same entry point
 * as the CLI), so that the environment and the umask really differ: a umask
 * cannot be set for one part of a process.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { ConfigError, UsageError } from "../errors.ts";
import { registerTemporary, removeTemporary, spawnGroup } from "../signals.ts";
import { dirtyPaths, headRevision } from "../build/git.ts";
import { findProjectRoot } from "../build/project_root.ts";
import { parsePins } from "../build/pins.ts";
import type { ResolveOptions } from "../registry/resolve.ts";
import { verifyImages } from "../verify/verify.ts";
import {
  type BuildDigests,
  type CheckResult,
  compareDigest,
  compareRecorded,
  type Condition,
  DIGESTS_FILE,
  isDigest,
  parseDigests,
  type ReferenceOutcome,
} from "./result.ts";

/** Options of `check`. */
export interface CheckOptions {
  /** config.json, absolute or relative to `cwd` (as build takes it). */
  configPath: string;
  cwd: string;
  projectDir?: string;
  /** REFERENCE as typed: `sha256:…`, an archive or layout path, or a registry reference. */
  reference?: string;
  /** The host environment the builds start from. */
  env: Record<string, string>;
  /** The command that runs r10e itself: `[deno, run, …, main.ts]`, or `[r10e]` when compiled. */
  self: string[];
  /** Give build B an empty Go build cache (slow: the standard library is compiled again). */
  freshGoCache?: boolean;
  /** Build B in this mode instead of choosing (docker when an engine answers and a builder is pinned). */
  modeB?: "host" | "docker";
  /** For a REFERENCE that is a registry reference. */
  registry?: Omit<ResolveOptions, "platform" | "tempDir">;
  onProgress?: (line: string) => void;
  /** The builds' own progress and build_cmd output, prefixed with `A: ` or `B: `. */
  onBuildOutput?: (line: string) => void;
  signal?: AbortSignal;
}

/** What each build runs with. */
interface Plan {
  label: "A" | "B";
  mode: "host" | "docker";
  dir: string;
  env: Record<string, string>;
  umask: string;
}

/**
 * Runs the check.
 * @throws {UsageError} outside a git repository or before the first commit (exit 2).
 * @throws {ConfigError} when a build cannot run or fails (exit 2: the check could not run).
 */
export async function check(options: CheckOptions): Promise<CheckResult> {
  const progress = options.onProgress ?? (() => {});
  const { root } = await findProjectRoot(options.configPath, options);
  const top = await gitText(root, ["rev-parse", "--show-toplevel"]);
  const commit = await headRevision(root);
  if (top === null || commit === null) {
    throw new UsageError(
      `Cannot check "${root}": ${
        top === null ? "not in a git repository" : "the repository has no commit yet"
      } (check rebuilds the committed HEAD)`,
    );
  }
  const toplevel = top.trim();
  const rel = relative(toplevel, root);
  const configRel = relative(toplevel, resolve(options.cwd, options.configPath));
  if (configRel.startsWith("..")) {
    throw new UsageError(`Cannot check: "${options.configPath}" is outside the repository`);
  }
  const dirty = (await dirtyPaths(toplevel) ?? []).map((d) => d.path);
  if (dirty.length) {
    progress(
      `the working tree is dirty (${dirty.length} paths): checking commit ${
        commit.slice(0, 12)
      }, not the working copy`,
    );
  }

  const tmpRoot = options.env.TMPDIR || "/tmp";
  const work = await Deno.makeTempDir({ dir: tmpRoot, prefix: "r10e-check-" });
  registerTemporary(work);
  try {
    // Different depths and names: a build path that leaks in shows as a difference.
    const dirA = join(work, "a", "src");
    const dirB = join(work, "second-build", "nested", "checkout-b");
    progress(`cloning ${commit.slice(0, 12)} into ${dirA} and ${dirB}`);
    await Promise.all([clone(toplevel, commit, dirA), clone(toplevel, commit, dirB)]);
    const projectA = join(dirA, rel);
    const projectB = join(dirB, rel);
    try {
      await Deno.stat(join(dirA, configRel));
    } catch {
      throw new ConfigError(
        `Cannot check: "${configRel}" is not in commit ${commit.slice(0, 12)}: commit it first`,
      );
    }

    const modeB = options.modeB
      ? { mode: options.modeB, why: "--in-b host" }
      : await chooseModeB(projectA, options.env);
    const goCacheB = options.freshGoCache ? join(work, "gocache-b") : undefined;
    const [tmpA, tmpB] = [join(work, "tmp-a"), join(work, "tmp-b")];
    await Promise.all([Deno.mkdir(tmpA), Deno.mkdir(tmpB)]);
    const base = { ...options.env };
    const plans: [Plan, Plan] = [
      {
        label: "A",
        mode: "host",
        dir: projectA,
        umask: "022",
        env: { ...base, TZ: "UTC", LC_ALL: "C", LANG: "C", TMPDIR: tmpA },
      },
      {
        label: "B",
        mode: modeB.mode,
        dir: projectB,
        umask: "077",
        env: {
          ...base,
          TZ: "Pacific/Chatham",
          LC_ALL: "tr_TR.UTF-8",
          LANG: "tr_TR.UTF-8",
          TMPDIR: tmpB,
          ...(goCacheB ? { GOCACHE: goCacheB } : {}),
        },
      },
    ];
    const conditions: Condition[] = [
      { name: "path", a: projectA, b: projectB },
      { name: "TZ", a: "UTC", b: "Pacific/Chatham" },
      { name: "umask", a: "022", b: "077" },
      { name: "locale", a: "LC_ALL=C", b: "LC_ALL=tr_TR.UTF-8" },
      { name: "TMPDIR", a: tmpA, b: tmpB },
      goCacheB
        ? { name: "GOCACHE", a: options.env.GOCACHE || "the user's", b: `${goCacheB} (empty)` }
        : {
          name: "GOCACHE",
          a: "",
          b: "",
          notVaried: "shared with the user's (pass --fresh-gocache for an empty one in B)",
        },
      {
        name: "GOMODCACHE",
        a: "",
        b: "",
        notVaried: "shared, so that no network is needed",
      },
      modeB.mode === "docker"
        ? { name: "mode", a: "host", b: "docker" }
        : { name: "mode", a: "host", b: "host", notVaried: modeB.why },
      {
        name: "user",
        a: "",
        b: "",
        notVaried: userNotVaried(options.env),
      },
    ];
    progress(`building A (host) and B (${modeB.mode}) at the same time`);
    const builds = await Promise.all(
      plans.map((p) =>
        runBuild(p, relative(root, resolve(options.cwd, options.configPath)), options)
      ),
    ) as [BuildDigests, BuildDigests];
    progress("comparing A and B with verify");
    const report = await verifyImages(builds[0].archivePath, builds[1].archivePath, {
      tempDir: work,
      registry: options.registry,
    });
    report.a.input = "A";
    report.b.input = "B";
    const notes: string[] = [];
    let reference: ReferenceOutcome | null = null;
    if (options.reference !== undefined) {
      reference = await compareReference(options.reference, builds[0], options, work);
    } else {
      const recorded = await readRecorded(root);
      if (recorded) {
        if (recorded.digests.commit === commit) {
          reference = compareRecorded(recorded.digests, builds[0], DIGESTS_FILE);
        } else {
          notes.push(
            `${DIGESTS_FILE} was recorded for ${
              recorded.digests.commit
                ? `commit ${recorded.digests.commit.slice(0, 12)}`
                : "no commit"
            }, not HEAD ${commit.slice(0, 12)}: not compared`,
          );
        }
      }
    }
    return {
      commit,
      dirty,
      conditions,
      builds,
      reproducible: report.identical,
      report,
      reference,
      notes,
    };
  } finally {
    await removeTemporary(work);
  }
}

/** REFERENCE against build A: a digest, or an image read by verify (archive, layout, registry). */
async function compareReference(
  text: string,
  build: BuildDigests,
  options: CheckOptions,
  work: string,
): Promise<ReferenceOutcome> {
  if (isDigest(text)) return compareDigest(text, build);
  if (/^sha256:/i.test(text)) {
    throw new UsageError(
      `Invalid REFERENCE "${text}": a digest is sha256: and 64 lowercase hex digits`,
    );
  }
  const path = resolve(options.cwd, text);
  const exists = await Deno.stat(path).then(() => true, () => false);
  options.onProgress?.(`comparing A with ${text} with verify`);
  const report = await verifyImages(build.archivePath, exists ? path : text, {
    tempDir: work,
    registry: options.registry,
  });
  report.a.input = "A";
  report.b.input = text;
  return {
    kind: "image",
    text,
    matches: report.identical,
    detail: report.identical
      ? `same image (manifest ${report.b.manifestDigest || "none"}, image ID ${report.b.imageId})`
      : `the rebuilt image (manifest ${build.manifestDigest}, image ID ${build.imageId}) ` +
        `differs from ${text} (manifest ${
          report.b.manifestDigest || "none"
        }, image ID ${report.b.imageId})`,
    report,
  };
}

async function readRecorded(root: string) {
  const file = join(root, DIGESTS_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    return { file, digests: parseDigests(text, file) };
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** Docker mode for B when pins.json pins a builder and an engine answers; else host, and why. */
async function chooseModeB(
  project: string,
  env: Record<string, string>,
): Promise<{ mode: "host" | "docker"; why: string }> {
  let builder: string | null = null;
  const file = join(project, "r10e-docker", "pins.json");
  try {
    builder = parsePins(await Deno.readTextFile(file), file).builder_image;
  } catch {
    return { mode: "host", why: "r10e-docker/pins.json is not readable in the commit" };
  }
  if (!builder) {
    return {
      mode: "host",
      why: "pins.json pins no builder image (r10e init with Docker pins one)",
    };
  }
  const out = await run("docker", ["version", "--format", "{{.Server.Version}}"], { env }, 15_000);
  if (out === null) return { mode: "host", why: "no Docker engine answers" };
  return { mode: "docker", why: "" };
}

/** Why the user is the same in both builds. */
function userNotVaried(env: Record<string, string>): string {
  // A second user needs read access to the Go module cache and Deno's cache and a Go build
  // cache of its own; under /root (0700) neither is given, and a cold cache is --fresh-gocache.
  return `both run as ${env.USER || env.LOGNAME || `uid ${Deno.uid()}`}: another user cannot ` +
    `read this user's Go module cache and Deno cache`;
}

/**
 * A clone of `commit` at `dir`: a local clone, whose objects are hard links to `repo`'s where the
 * file system allows (nothing fetched). Not `--shared`: its alternates file names `repo` by its
 * absolute path, which a build in the builder container cannot reach (git then fails and Go
 * cannot stamp the VCS information).
 */
async function clone(repo: string, commit: string, dir: string): Promise<void> {
  await Deno.mkdir(resolve(dir, ".."), { recursive: true });
  const steps = [
    ["clone", "--quiet", "--no-checkout", repo, dir],
    ["-C", dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit],
  ];
  for (const args of steps) {
    const out = await new Deno.Command("git", {
      args,
      env: { LC_ALL: "C" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new ConfigError(
        `Cannot clone commit ${commit.slice(0, 12)} into "${dir}": ${
          new TextDecoder().decode(out.stderr).trim()
        }`,
      );
    }
  }
}

/** Runs `r10e build --json` for one plan in its own process group; its digests. */
async function runBuild(plan: Plan, config: string, options: CheckOptions): Promise<BuildDigests> {
  const args = [
    ...options.self,
    "build",
    "-c",
    config,
    "--project-dir",
    ".",
    "--in",
    plan.mode,
    "--json",
  ];
  const tail: string[] = [];
  const lines = async (stream: ReadableStream<Uint8Array>) => {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const l of parts) {
        tail.push(l);
        if (tail.length > 20) tail.shift();
        options.onBuildOutput?.(`${plan.label}: ${l}`);
      }
    }
    if (pending) {
      tail.push(pending);
      options.onBuildOutput?.(`${plan.label}: ${pending}`);
    }
  };
  // umask is set by the shell (Deno cannot set it for a child); a process group that an
  // interrupt stops as a whole (signals.ts).
  const { status, result: text } = await spawnGroup(
    ["/bin/sh", "-c", `umask ${plan.umask} && exec "$@"`, "sh", ...args],
    { cwd: plan.dir, env: plan.env, signal: options.signal },
    async (child) =>
      (await Promise.all([new Response(child.stdout).text(), lines(child.stderr)]))[0],
  );
  if (options.signal?.aborted) throw new ConfigError("Interrupted while building: nothing checked");
  if (!status.success) {
    throw new ConfigError(
      `Cannot check: build ${plan.label} (${plan.mode}, in "${plan.dir}") failed with exit code ${status.code}:\n` +
        tail.map((l) => `  ${l}`).join("\n"),
    );
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`Cannot check: build ${plan.label} printed no JSON summary`);
  }
  return {
    label: plan.label,
    mode: parsed.mode as "host" | "docker",
    archivePath: parsed.archivePath as string,
    archiveSha256: parsed.archiveSha256 as string,
    imageId: parsed.imageId as string,
    manifestDigest: parsed.manifestDigest as string,
    ...(typeof parsed.indexDigest === "string" ? { indexDigest: parsed.indexDigest } : {}),
    revision: (parsed.revision as string | null) ?? null,
  };
}

async function gitText(dir: string, args: string[]): Promise<string | null> {
  return await run("git", ["-C", dir, ...args], { env: { LC_ALL: "C" } }, 30_000);
}

/** Stdout of a command, or null when it fails, is missing or takes longer than `ms`. */
async function run(
  cmd: string,
  args: string[],
  options: { env: Record<string, string> },
  ms: number,
): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(ms),
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}
