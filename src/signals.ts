/**
 * What a command leaves behind while it works, so that an interrupt can undo it.
 * One registry per process: the code that
 * makes a temporary file, a spool directory or a process group registers it and
 * releases it when done; `main.ts`, which alone listens for SIGINT, SIGTERM and
 * SIGHUP and exits (STYLE: shape), calls {@linkcode cleanUp} and then exits
 * with 128 + the signal number.
 *
 * A path is registered as soon as it exists (or before, when its name is
 * known), and released only after it was renamed or removed: an interrupt in
 * between removes a path that is gone, which is harmless.
 *
 * @module
 */

const temporaries = new Set<string>();
const groups = new Map<number, GroupStop>();
let hurried = false;

/** Default time between SIGTERM and SIGKILL for a process group, in milliseconds. */
export const DEFAULT_GRACE_MS = 5000;

/** Registers a temporary file or directory (removed recursively by {@linkcode cleanUp}). */
export function registerTemporary(path: string): void {
  temporaries.add(path);
}

/** Forgets a temporary that was renamed to its final name or removed. */
export function releaseTemporary(path: string): void {
  temporaries.delete(path);
}

/** Removes a registered temporary (recursively, missing is fine), then forgets it. */
export async function removeTemporary(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch {
    // Gone already, or cannot be removed: nothing more to do here.
  }
  temporaries.delete(path);
}

/** The registered temporaries, for tests and messages. */
export function registeredTemporaries(): string[] {
  return [...temporaries].sort();
}

/** How {@linkcode cleanUp} stops one process group. */
export interface GroupStop {
  /** Time between SIGTERM and SIGKILL; the default is cleanUp's (a FUSE daemon gets 0). */
  graceMs?: number;
  /** Run once the group is gone: e.g. unmount what a killed FUSE daemon left mounted. */
  after?: () => void;
}

/**
 * Registers a process group (a child started with `setsid`, whose pid is its
 * group id) that {@linkcode cleanUp} stops.
 */
export function registerProcessGroup(pgid: number, stop: GroupStop = {}): void {
  groups.set(pgid, stop);
}

/** Forgets a process group that is gone. */
export function releaseProcessGroup(pgid: number): void {
  groups.delete(pgid);
}

/** Whether any process of the group is alive (zombies count until reaped). */
export function processGroupAlive(pgid: number): boolean {
  try {
    // Signal 0 checks existence and permission without sending anything (kill(2)).
    Deno.kill(-pgid, 0 as unknown as Deno.Signal);
    return true;
  } catch {
    return false;
  }
}

function send(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stops a process group: SIGTERM, then SIGKILL after `graceMs` (at once after
 * {@linkcode hurry}), and resolves when no process of the group is left, so
 * that the caller does not exit before its children (a SIGKILL
 * timer set by a process that has already exited never fires).
 */
export async function stopProcessGroup(
  pgid: number,
  options: { graceMs?: number } = {},
): Promise<void> {
  const grace = options.graceMs ?? DEFAULT_GRACE_MS;
  const start = Date.now();
  send(pgid, "SIGTERM");
  // SIGCONT: a stopped process (Ctrl-Z) cannot act on SIGTERM until it runs again.
  send(pgid, "SIGCONT");
  let killed = false;
  while (processGroupAlive(pgid)) {
    if (!killed && (hurried || Date.now() - start >= grace)) {
      send(pgid, "SIGKILL");
      killed = true;
    }
    // After SIGKILL, only the reaping of zombies is left: give up after a while.
    if (killed && Date.now() - start >= grace + 10_000) return;
    await delay(25);
  }
}

/** Options of {@linkcode spawnGroup}. */
export interface SpawnGroupOptions {
  cwd: string;
  /** The complete environment (nothing else of this process is passed). */
  env: Record<string, string>;
  /** Aborting stops the whole group (SIGTERM, then SIGKILL after the grace period). */
  signal?: AbortSignal;
}

/**
 * Runs `argv` as the leader of a new process group (`setsid`), registered so that an interrupt
 * stops everything it started, not only itself. `consume` reads the child's stdout and stderr
 * (both piped; stdin is null). Resolves when the child has exited, `consume` is done and, after
 * an abort, every process of the group is gone.
 * @throws {Error} when `setsid` or the program cannot be started.
 */
export async function spawnGroup<T>(
  argv: string[],
  options: SpawnGroupOptions,
  consume: (child: Deno.ChildProcess) => Promise<T>,
): Promise<{ status: Deno.CommandStatus; result: T }> {
  const child = new Deno.Command("setsid", {
    args: argv,
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The registry lets an interrupt stop the group even where no abort signal reaches.
  registerProcessGroup(child.pid);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    // Until the child has called setsid() there is no group to signal, and stopProcessGroup
    // would find nothing left: the child itself is killed, before it can start the command
    // (Deno's handle reaches only this child, never another process given its pid later).
    if (!processGroupAlive(child.pid)) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    }
    stopping ??= stopProcessGroup(child.pid);
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    const [status, result] = await Promise.all([child.status, consume(child)]);
    return { status, result };
  } finally {
    options.signal?.removeEventListener("abort", stop);
    if (stopping) await stopping;
    releaseProcessGroup(child.pid);
  }
}

/** A second signal: send SIGKILL now instead of waiting for the grace period. */
export function hurry(): void {
  hurried = true;
}

/**
 * Stops every registered process group (waiting until they are gone), then
 * removes every registered temporary. The removal is synchronous, so that the
 * caller can exit right after it with nothing of the interrupted command
 * running in between.
 */
export async function cleanUp(options: { graceMs?: number } = {}): Promise<string[]> {
  await Promise.all(
    [...groups].map(async ([g, stop]) => {
      await stopProcessGroup(g, { graceMs: stop.graceMs ?? options.graceMs });
      stop.after?.();
    }),
  );
  groups.clear();
  const removed: string[] = [];
  for (const path of [...temporaries].sort().reverse()) {
    try {
      Deno.removeSync(path, { recursive: true });
      removed.push(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) removed.push(`${path} (${error})`);
    }
  }
  temporaries.clear();
  return removed;
}

/**
 * Removes the temporaries in `dir` that an earlier process left when it was
 * killed too hard to clean up (SIGKILL, power loss). `ownerOf` recognizes
 * r10e's own names and returns the pid in them (null for anything else);
 * a temporary whose process is still alive, other than this one, is kept.
 * Returns the names removed.
 */
export async function removeStaleTemporaries(
  dir: string,
  ownerOf: (name: string) => number | null,
  options: {
    /** Called before a removal: e.g. to make a stale tree's read-only directories writable. */
    prepare?: (path: string) => Promise<void>;
  } = {},
): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return removed;
  }
  for (const e of entries) {
    const pid = ownerOf(e.name);
    if (pid === null) continue;
    if (pid !== Deno.pid && processAlive(pid)) continue;
    // This process's own temporaries are in use (registered): only earlier ones go.
    if (pid === Deno.pid && temporaries.has(`${dir}/${e.name}`)) continue;
    try {
      await options.prepare?.(`${dir}/${e.name}`);
      await Deno.remove(`${dir}/${e.name}`, { recursive: true });
      removed.push(e.name);
    } catch {
      // Someone else removed it, or it is not ours to remove.
    }
  }
  return removed.sort();
}

/** Whether a process with this pid exists (someone else's counts). */
export function processAlive(pid: number): boolean {
  try {
    Deno.kill(pid, 0 as unknown as Deno.Signal);
    return true;
  } catch (error) {
    // EPERM: alive, but someone else's.
    return error instanceof Deno.errors.PermissionDenied;
  }
}

/** The signals that every command handles, with the exit code each gives (128 + its number). */
export const HANDLED_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * `promise`, or a rejection with the signal's reason as soon as it is aborted: for work that
 * cannot be stopped in the middle and whose result is of no use after an interrupt (it goes on
 * until the process exits; its outcome is ignored).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  promise.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
