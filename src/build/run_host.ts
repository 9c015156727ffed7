/**
 * Running `build_cmd` on the host, with the normalized environment and umask 022.
 *
 * @module
 */
import { registerProcessGroup, releaseProcessGroup, stopProcessGroup } from "../signals.ts";

/** Options of `runOnHost`. */
export interface RunOptions {
  /** The config's build_cmd, run by /bin/sh in `cwd`. */
  command: string;
  cwd: string;
  /** The complete environment (nothing else of the host is passed). */
  env: Record<string, string>;
  /** Receives the command's stdout and stderr as they come. */
  onOutput: (chunk: Uint8Array) => void;
  signal?: AbortSignal;
}

/**
 * Runs the command and returns its exit code (128+n for a signal).
 * @throws {Error} when /bin/sh cannot be started.
 */
export async function runOnHost(options: RunOptions): Promise<number> {
  // umask is set by the shell: Deno cannot set it for a child (DESIGN: umask 022).
  // setsid makes the shell lead a process group, so that an interrupt stops
  // everything build_cmd started, not only the shell.
  const child = new Deno.Command("setsid", {
    args: ["/bin/sh", "-c", 'umask 022 && eval "$R10E_BUILD_CMD"'],
    cwd: options.cwd,
    env: { ...options.env, R10E_BUILD_CMD: options.command },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The registry lets an interrupt stop the group even where no abort signal reaches (signals.ts).
  registerProcessGroup(child.pid);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= stopProcessGroup(child.pid);
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) options.onOutput(chunk);
  };
  let status: Deno.CommandStatus;
  try {
    [status] = await Promise.all([child.status, pump(child.stdout), pump(child.stderr)]);
  } finally {
    options.signal?.removeEventListener("abort", stop);
    // Interrupted: return only when every process build_cmd started is gone (issue 10).
    if (stopping) await stopping;
    releaseProcessGroup(child.pid);
  }
  return status.signal ? 128 + signalNumber(status.signal) : status.code;
}

function signalNumber(signal: Deno.Signal): number {
  const numbers: Partial<Record<Deno.Signal, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return numbers[signal] ?? 0;
}
