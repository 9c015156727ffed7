/**
 * `check`'s two builds: each `r10e build --json` run as a child process (so that the environment
 * and the umask really differ) in its own process group, B's build_cmd gated on A's.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { spawnGroup } from "../signals.ts";
import type { BuildDigests } from "./result.ts";

/** What the builds take of check's options. */
export interface BuildsOptions {
  /** config.json, absolute or relative to `cwd`. */
  configPath: string;
  cwd: string;
  /** The command that runs r10e itself: `[deno, run, …, main.ts]`, or `[r10e]` when compiled. */
  self: string[];
  onProgress?: (line: string) => void;
  /** The builds' own progress and build_cmd output, prefixed with `A: ` or `B: `. */
  onBuildOutput?: (line: string) => void;
  signal?: AbortSignal;
}

/** What each build runs with. */
export interface Plan {
  label: "A" | "B";
  mode: "host" | "docker";
  dir: string;
  env: Record<string, string>;
  umask: string;
  /** Wrappers build B runs under (unshare, setarch, taskset). */
  prefix: string[];
  /** `build --clock-shift`: the clock build_cmd sees (faketime, or a shifted `date` in docker). */
  clockShift?: string;
  /** `build --start-after`: build_cmd starts once this file exists. */
  startAfter?: string;
}

/**
 * Builds A and B. Both start now, but B's build_cmd waits until A's has finished (A says so when
 * it starts staging; check then creates the gate file B's build waits for): their wall clocks
 * differ by a whole build_cmd, so a stamp to the second differs too (B's faketime shifts what C
 * programs see by days), while B's start-up overlaps A's build. A failure of A stops B.
 */
export async function buildBoth(
  plans: [Plan, Plan],
  options: BuildsOptions & {
    /** The project root in the working copy, which config.json is relative to in the clones. */
    root: string;
    /** check's folder, where the gate file appears. */
    work: string;
  },
): Promise<[BuildDigests, BuildDigests]> {
  const progress = options.onProgress ?? (() => {});
  // config.json as the project root sees it: each build runs in its clone's project root.
  const config = relative(options.root, resolve(options.cwd, options.configPath));
  const gate = join(options.work, "build-a-ran");
  progress(`building A (host) and B (${plans[1].mode}); B's build_cmd waits for A's`);
  const stopB = new AbortController();
  let gateOpened: Promise<void> | null = null;
  const openGate = () =>
    gateOpened ??= (async () => {
      // 1.1 s after A's build_cmd ended: any instant of B's build_cmd is then more than a
      // second after any of A's, so a stamp to the second differs even without faketime.
      await new Promise((r) => setTimeout(r, 1100));
      await Deno.writeTextFile(gate, "");
      progress("A's build_cmd finished: B's may start");
    })();
  const runA = runBuild(plans[0], config, options, (line) => {
    // Awaited again when A ends, where a failure to write the gate stops B.
    if (line.startsWith("r10e: Staging artifacts")) openGate().catch(() => {});
  }).then(async (digests) => {
    await openGate();
    return digests;
  }).catch((error) => {
    stopB.abort();
    throw error;
  });
  const signalB = options.signal ? AbortSignal.any([options.signal, stopB.signal]) : stopB.signal;
  const runB = runBuild(
    { ...plans[1], startAfter: gate },
    config,
    { ...options, signal: signalB },
  );
  runB.catch(() => {}); // awaited below, after A
  let buildA: BuildDigests;
  try {
    buildA = await runA;
  } catch (error) {
    await runB.catch(() => {});
    throw error;
  }
  return [buildA, await runB];
}

/** Runs `r10e build --json` for one plan in its own process group; its digests. */
async function runBuild(
  plan: Plan,
  config: string,
  options: BuildsOptions,
  onLine?: (line: string) => void,
): Promise<BuildDigests> {
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
    ...(plan.clockShift ? [`--clock-shift=${plan.clockShift}`] : []),
    ...(plan.startAfter ? ["--start-after", plan.startAfter] : []),
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
        onLine?.(l);
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
    [...plan.prefix, "/bin/sh", "-c", `umask ${plan.umask} && exec "$@"`, "sh", ...args],
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
