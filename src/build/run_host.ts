/**
 * Running `build_cmd` on the host, with the normalized environment and umask 022.
 *
 * @module
 */
import { spawnGroup } from "../signals.ts";

/** Options of `runOnHost`. */
export interface RunOptions {
  /** The config's build_cmd, run by /bin/sh in `cwd`. */
  command: string;
  cwd: string;
  /** The complete environment (nothing else of the host is passed). */
  env: Record<string, string>;
  /** A command that runs the shell, e.g. `["faketime", "-f", "+3d"]` (empty: none). */
  wrap?: string[];
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
  // A process group, so that an interrupt stops everything build_cmd started, not only the shell.
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) options.onOutput(chunk);
  };
  const { status } = await spawnGroup(
    [...(options.wrap ?? []), "/bin/sh", "-c", 'umask 022 && eval "$R10E_BUILD_CMD"'],
    {
      cwd: options.cwd,
      env: { ...options.env, R10E_BUILD_CMD: options.command },
      signal: options.signal,
    },
    (child) => Promise.all([pump(child.stdout), pump(child.stderr)]),
  );
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
