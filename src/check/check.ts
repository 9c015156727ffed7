/**
 * `r10e check [REFERENCE]`: build the committed HEAD twice from fresh clones
 * outside the project, one after the other under deliberately different
 * conditions (paths, TZ, umask, locale, TMPDIR, and what variations.ts plans:
 * the clock, file order, hostname, kernel version, ASLR, CPUs, HOME; optionally
 * a cold Go build cache, host and docker mode when an engine answers and a
 * builder is pinned), compare the two images with verify and their digests
 * strictly, and compare them with REFERENCE (a digest, an image, or the
 * expectation recorded by `r10e build --record`).
 *
 * Each build is r10e's own `build` run as a child process (the same entry point
 * as the CLI), so that the environment and the umask really differ: a umask
 * cannot be set for one part of a process (builds.ts). What B varies is planned
 * in variations.ts, the comparison with REFERENCE is reference.ts, the verdict
 * and the report result.ts.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { ConfigError, formatProblem, UsageError } from "../errors.ts";
import { loadConfig } from "../config/load.ts";
import {
  registerProcessGroup,
  registerTemporary,
  releaseProcessGroup,
  removeTemporary,
  stopProcessGroup,
  untilAborted,
} from "../signals.ts";
import { FORMAT_VERSION } from "../image/writer.ts";
import { homeCaches, type HostFacts, planVariations, type VariationPlan } from "./variations.ts";
import { againstReference, classifyReference } from "./reference.ts";
import { buildBoth, type Plan } from "./builds.ts";
import { dirtyPaths, headRevision } from "../project/git.ts";
import { findProjectRoot } from "../project/root.ts";
import { parsePins } from "../project/pins.ts";
import type { ResolveOptions } from "../registry/resolve.ts";
import { verifyImages } from "../verify/verify.ts";
import { type CheckResult, type Condition, differingDigests } from "./result.ts";
import { PINS_PATH } from "../project/layout.ts";
import { plural } from "../plural.ts";

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
  /** Warnings the user must see even with -q (unknown config fields). */
  onWarning?: (line: string) => void;
  /** The builds' own progress and build_cmd output, prefixed with `A: ` or `B: `. */
  onBuildOutput?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Runs the check: two clones of HEAD built side by side under different conditions, compared
 * with each other strictly and with the reference.
 * @throws {UsageError} outside a git repository or before the first commit (exit 2).
 * @throws {ConfigError} when a build cannot run or fails (exit 2: the check could not run).
 */
export async function check(options: CheckOptions): Promise<CheckResult> {
  const head = await findHead(options);
  // A malformed REFERENCE is found before minutes of building, not after.
  const referenceKind = options.reference === undefined
    ? null
    : await classifyReference(options.reference, options.cwd);
  const work = await Deno.makeTempDir({ dir: options.env.TMPDIR || "/tmp", prefix: "r10e-check-" });
  registerTemporary(work);
  const mounted: { unmount?: () => Promise<void> } = {};
  try {
    const clones = await cloneTwice(head, work, options, mounted);
    const { plans, conditions } = await planBuilds(head, clones, work, options);
    const builds = await buildBoth(plans, { ...options, root: head.root, work });
    options.onProgress?.("comparing A and B with verify");
    // verify takes no signal: an interrupt stops waiting for it, and the finally below unmounts
    // and removes what it reads while it goes on until the process exits.
    const report = await untilAborted(
      verifyImages(builds[0].archivePath, builds[1].archivePath, {
        tempDir: work,
        registry: options.registry,
      }),
      options.signal,
    );
    report.a.input = "A";
    report.b.input = "B";
    const { reference, notes } = await againstReference(builds[0], {
      ...options,
      kind: referenceKind,
      root: head.root,
      commit: head.commit,
      work,
    });
    const differing = differingDigests(builds[0], builds[1], FORMAT_VERSION);
    return {
      commit: head.commit,
      dirty: head.dirty,
      conditions,
      builds,
      // Strict: the digests people pin must be equal, whatever verify accepts as the same content.
      reproducible: report.identical && differing.length === 0,
      differing,
      report,
      reference,
      notes,
    };
  } finally {
    if (mounted.unmount) await mounted.unmount();
    await removeTemporary(work);
  }
}

/** The commit check rebuilds, and where the project and its config are inside the repository. */
interface Head {
  /** The project root in the working copy. */
  root: string;
  /** The repository's top folder. */
  toplevel: string;
  commit: string;
  /** The user's branch, or null when HEAD is detached. */
  branch: string | null;
  /** The project root and config.json, relative to the repository's top. */
  rel: string;
  configRel: string;
  /** Uncommitted paths of the working copy (check builds the commit, not these). */
  dirty: string[];
}

/**
 * Finds the project's repository and its HEAD, and says the config's warnings once (the builds'
 * own go to their output).
 * @throws {UsageError} outside a git repository, before the first commit, or for a config.json
 * outside the repository.
 */
async function findHead(options: CheckOptions): Promise<Head> {
  const { root } = await findProjectRoot(options.configPath, options);
  const loaded = await loadConfig(resolve(options.cwd, options.configPath), options.configPath)
    .catch(() => null);
  for (const w of loaded?.warnings ?? []) options.onWarning?.(formatProblem(w));
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
  const configRel = relative(toplevel, resolve(options.cwd, options.configPath));
  if (configRel.startsWith("..")) {
    throw new UsageError(`Cannot check: "${options.configPath}" is outside the repository`);
  }
  const dirty = (await dirtyPaths(toplevel) ?? []).map((d) => d.path);
  if (dirty.length) {
    options.onProgress?.(
      `the working tree is dirty (${plural(dirty.length, "path")}): checking commit ${
        commit.slice(0, 12)
      }, not the working copy`,
    );
  }
  const branch =
    (await gitText(toplevel, ["symbolic-ref", "--quiet", "--short", "HEAD"]))?.trim() ||
    null;
  return { root, toplevel, commit, branch, rel: relative(toplevel, root), configRel, dirty };
}

/** The two clones and how build B varies. */
interface Clones {
  dirA: string;
  /** B's clone, or the disorderfs view of it. */
  dirB: string;
  modeB: { mode: "host" | "docker"; why: string };
  facts: HostFacts;
  plan: VariationPlan;
}

/**
 * Clones HEAD twice at different depths and names (a build path that leaks in shows as a
 * difference), plans B's variations on this host, and mounts B's clone through disorderfs when
 * the plan shuffles directory entries (`mounted.unmount` is set as soon as it is mounted).
 * @throws {ConfigError} when a clone fails or config.json is not in the commit.
 */
async function cloneTwice(
  head: Head,
  work: string,
  options: CheckOptions,
  mounted: { unmount?: () => Promise<void> },
): Promise<Clones> {
  const { commit, toplevel, branch } = head;
  const dirA = join(work, "a", "src");
  let dirB = join(work, "second-build", "nested", "checkout-b");
  options.onProgress?.(`cloning ${commit.slice(0, 12)} into ${dirA}`);
  // The clones check out the user's branch at HEAD (or detach like the user's checkout), so a
  // build that stamps the branch name gets the one the user's own build gets.
  const cloneA = clone(toplevel, commit, dirA, branch);
  cloneA.catch(() => {}); // awaited below, after what runs meanwhile
  const [modeB, host] = await Promise.all([
    options.modeB
      ? { mode: options.modeB, why: `--in-b ${options.modeB}` }
      : chooseModeB(toplevel, head.rel, commit, options.env),
    hostFacts(options.env, join(work, "home-b")),
  ]);
  const facts: HostFacts = { ...host, modeB: modeB.mode };
  const plan = planVariations(facts);
  const rawB = plan.shuffleDirents ? join(work, "second-build-files") : dirB;
  options.onProgress?.(`cloning ${commit.slice(0, 12)} into ${rawB}`);
  await Promise.all([cloneA, clone(toplevel, commit, rawB, branch)]);
  await Deno.mkdir(facts.homeB);
  if (plan.shuffleDirents) {
    await Deno.mkdir(dirB, { recursive: true });
    try {
      mounted.unmount = await mountShuffled(
        rawB,
        dirB,
        facts.tools.disorderfs!,
        facts.tools.fusermount!,
        options.signal,
      );
    } catch (error) {
      // A container without the right to mount (no CAP_SYS_ADMIN) has /dev/fuse but cannot
      // use it: B builds from its clone as it is, and the table says why.
      dirB = rawB;
      const row = plan.conditions.find((c) => c.name === "file order")!;
      Object.assign(row, { a: "", b: "", notVaried: (error as Error).message });
    }
  }
  try {
    await Deno.stat(join(dirA, head.configRel));
  } catch {
    throw new ConfigError(
      `Cannot check: "${head.configRel}" is not in commit ${commit.slice(0, 12)}: commit it first`,
    );
  }
  return { dirA, dirB, modeB, facts, plan };
}

/** What A and B run with (B: its variations, path, TZ, locale, umask, TMPDIR), and the table. */
async function planBuilds(
  head: Head,
  clones: Clones,
  work: string,
  options: CheckOptions,
): Promise<{ plans: [Plan, Plan]; conditions: Condition[] }> {
  const { plan, modeB } = clones;
  const projectA = join(clones.dirA, head.rel);
  const projectB = join(clones.dirB, head.rel);
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
      prefix: [],
      env: { ...base, TZ: "UTC", LC_ALL: "C", LANG: "C", TMPDIR: tmpA },
    },
    {
      label: "B",
      mode: modeB.mode,
      dir: projectB,
      umask: "077",
      prefix: plan.prefix,
      ...(plan.clockShift ? { clockShift: plan.clockShift } : {}),
      env: {
        ...base,
        ...plan.env,
        TZ: "Pacific/Chatham",
        LC_ALL: "tr_TR.UTF-8",
        LANG: "tr_TR.UTF-8",
        TMPDIR: tmpB,
        ...(goCacheB ? { GOCACHE: goCacheB } : {}),
      },
    },
  ];
  // TZ, locale and umask reach r10e's own process: build_cmd runs with TZ=UTC, LC_ALL=C and
  // umask 022 that r10e sets, so the rows say so rather than suggest they reached the build.
  const fixedForBuildCmd = "r10e's own process; build_cmd gets r10e's fixed value";
  const conditions: Condition[] = [
    { name: "path", a: projectA, b: projectB },
    { name: "TZ", a: "UTC", b: "Pacific/Chatham", note: `${fixedForBuildCmd} (TZ=UTC)` },
    { name: "umask", a: "022", b: "077", note: `${fixedForBuildCmd} (022)` },
    {
      name: "locale",
      a: "LC_ALL=C",
      b: "LC_ALL=tr_TR.UTF-8",
      note: `${fixedForBuildCmd} (LC_ALL=C)`,
    },
    { name: "TMPDIR", a: tmpA, b: tmpB },
    ...plan.conditions,
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
  return { plans, conditions };
}

/** The tools and facts the variations of build B depend on. */
async function hostFacts(
  env: Record<string, string>,
  homeB: string,
): Promise<Omit<HostFacts, "modeB">> {
  // Looked up on PATH here rather than by a shell each: check's start-up counts against its time.
  const which = async (name: string) => {
    for (const dir of (env.PATH ?? "").split(":")) {
      if (!dir) continue;
      const info = await Deno.stat(join(dir, name)).catch(() => null);
      if (info?.isFile && ((info.mode ?? 0) & 0o111) !== 0) return join(dir, name);
    }
    return null;
  };
  const [faketime, disorderfs, fusermount, unshare, setarch, taskset, fuse] = await Promise.all([
    which("faketime"),
    which("disorderfs"),
    which("fusermount"),
    which("unshare"),
    which("setarch"),
    which("taskset"),
    Deno.stat("/dev/fuse").then(() => true, () => false),
  ]);
  // Each wrapper is tried once: installed is not enough where a container or a seccomp
  // profile refuses what it does, and a refusal would fail build B instead.
  const trial = async (argv: string[] | null) => {
    if (argv === null) return undefined;
    try {
      const out = await new Deno.Command(argv[0], {
        args: [...argv.slice(1), "/bin/true"],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        signal: AbortSignal.timeout(10_000),
      }).output();
      if (out.success) return undefined;
      return new TextDecoder().decode(out.stderr).trim().split("\n")[0] ||
        `exit code ${out.code}`;
    } catch (error) {
      return (error as Error).message;
    }
  };
  const [unshareFailed, setarchFailed, tasksetFailed] = await Promise.all([
    trial(unshare && Deno.uid() === 0 ? [unshare, "--uts", "--"] : null),
    trial(setarch ? [setarch, Deno.build.arch, "--uname-2.6", "-R"] : null),
    trial(taskset ? [taskset, "--cpu-list", "0"] : null),
  ]);
  const failed = Object.fromEntries(
    Object.entries({ unshare: unshareFailed, setarch: setarchFailed, taskset: tasksetFailed })
      .filter(([, v]) => v !== undefined),
  );
  return {
    tools: { faketime, disorderfs, fusermount, unshare, setarch, taskset },
    failed,
    root: Deno.uid() === 0,
    fuse,
    // uname -m's names for the architectures Deno runs on (x86_64, aarch64).
    machine: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
    home: env.HOME ?? "",
    caches: homeCaches(env),
    homeB,
  };
}

/**
 * Mounts `raw` at `at` through disorderfs with shuffled directory entries, in its own process
 * group (an interrupt stops it, and a stopped disorderfs unmounts); returns the unmount.
 * @throws {Error} when the mount does not appear within 10 seconds.
 */
async function mountShuffled(
  raw: string,
  at: string,
  disorderfs: string,
  fusermount: string,
  signal?: AbortSignal,
): Promise<() => Promise<void>> {
  const child = new Deno.Command("setsid", {
    args: [disorderfs, "-f", "--shuffle-dirents=yes", "--multi-user=no", raw, at],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // On an interrupt, disorderfs is killed at once and its mount detached: it takes seconds to
  // end on SIGTERM (longer while verify reads B's archive through it), and a passthrough has
  // nothing to save. The lazy unmount lets the work folder be removed right after.
  // Lazy (-z): verify may still be reading B's archive through the mount after an interrupt,
  // and a plain unmount would fail as busy and leave disorderfs running.
  const detach = () => {
    new Deno.Command(fusermount, { args: ["-u", "-z", at], stdout: "null", stderr: "null" })
      .outputSync();
  };
  registerProcessGroup(child.pid, { graceMs: 0, after: detach });
  const stderr = new Response(child.stderr).text();
  const deadline = Date.now() + 10_000;
  let exited = false;
  child.status.then(() => exited = true);
  // Mounted when the folder is on another device than its parent.
  const parent = (await Deno.stat(join(at, ".."))).dev;
  while ((await Deno.stat(at)).dev === parent) {
    if (exited || Date.now() > deadline) {
      stopProcessGroup(child.pid);
      releaseProcessGroup(child.pid);
      throw new Error(
        `disorderfs could not mount B's clone: ${(await stderr).trim() || "no message"}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return async () => {
    detach();
    // Interrupted: stop it now (the command must end within a second); else give it time to go.
    const timer = setTimeout(
      () => stopProcessGroup(child.pid, { graceMs: 0 }),
      signal?.aborted ? 0 : 5_000,
    );
    await child.status;
    await stderr;
    clearTimeout(timer);
    releaseProcessGroup(child.pid);
  };
}

/** Docker mode for B when the commit's pins.json pins a builder and an engine answers; else host, and why. */
async function chooseModeB(
  toplevel: string,
  rel: string,
  commit: string,
  env: Record<string, string>,
): Promise<{ mode: "host" | "docker"; why: string }> {
  let builder: string | null = null;
  const path = [rel, PINS_PATH].filter((p) => p !== "").join("/");
  const text = await gitText(toplevel, ["show", `${commit}:${path}`]);
  try {
    if (text === null) throw new Error("not in the commit");
    builder = parsePins(text, path).builder_image;
  } catch {
    return { mode: "host", why: `${PINS_PATH} is not readable in the commit` };
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
async function clone(
  repo: string,
  commit: string,
  dir: string,
  branch: string | null,
): Promise<void> {
  await Deno.mkdir(resolve(dir, ".."), { recursive: true });
  const steps = [
    ["clone", "--quiet", "--no-checkout", repo, dir],
    [
      "-C",
      dir,
      "-c",
      "advice.detachedHead=false",
      "checkout",
      "--quiet",
      ...(branch ? ["-B", branch, commit] : ["--detach", commit]),
    ],
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
