/**
 * The command line: argv → command. The only place that reads `Deno.env`,
 * prints, and exits (STYLE: shape). Everything below takes values and returns
 * values or throws.
 *
 * @module
 */
// Only what every call needs is imported here: `r10e version` and `--help` start in about 1.5x
// the time of Deno itself (bench/startup.ts). The signal handling and the error rewriting that
// names temporary files are loaded when a command runs or fails.
import { exitCodeOf } from "./errors.ts";
import { printable } from "./printable.ts";
import { redactSecrets } from "./registry/secrets.ts";
import type { Io, State } from "./cli/cli.ts";

export type { Io } from "./cli/cli.ts";

/** Arguments that only print (help, version, completions): no temporaries, no signal handlers. */
function onlyPrints(args: string[]): boolean {
  return args.length === 0 || args.some((a) => a === "--help" || a === "-h") ||
    ["help", "version", "completions", "-v", "-V", "--version"].includes(args[0]);
}

/**
 * Runs the CLI with `args` and returns the exit code. Does not call `Deno.exit`,
 * so tests can run it in-process. With `io.signals`, SIGINT, SIGTERM and SIGHUP
 * stop the command: its children's process groups are stopped and waited for,
 * its temporaries removed (signals.ts), and the code is 128 + the signal number.
 */
export async function main(args: string[], io: Io): Promise<number> {
  // What a registry sent may hold a credential r10e sent it (an Authorization header echoed into
  // a message or an image's label): every credential value is taken out of the text printed.
  const raw = io;
  io = {
    ...raw,
    stdout: (s) => raw.stdout(redactSecrets(s)),
    stderr: (s) => raw.stderr(redactSecrets(s)),
  };
  const controller = new AbortController();
  const state: State = { exitCode: 0, signal: controller.signal, unwinds: false };
  let processTemp: string | undefined;
  const start = async () => {
    try {
      // The version needs no parser: it is printed before the command line and the commands load.
      if (args.length === 1 && ["version", "-v", "-V", "--version"].includes(args[0])) {
        const { versionLine } = await import("./cli/version_line.ts");
        io.stdout(`${versionLine()}\n`);
        return 0;
      }
      // A computed name: run without --unstable-lazy-dynamic-imports (scripts/r10e gives it), Deno
      // would prepare a literal one's modules (every command's file) before main runs, ~8 ms of CPU
      // for `r10e version`, 0.4x of Deno's own start. Compiled: --include.
      const programModule = "./cli/program.ts";
      const { runProgram } = await import(programModule) as typeof import("./cli/program.ts");
      return await runProgram(args, { io, state });
    } catch (error) {
      // `r10e … | head`: the reader has what it wanted; end quietly, as Unix tools do, with
      // the answer when there is one (verify's 1 for "differ").
      if (isClosedStdout(error)) return state.exitCode;
      const verbose = args.includes("--verbose");
      await namePathsOfUser(error, { systemTemp: io.env.TMPDIR || "/tmp", processTemp });
      io.stderr(formatError(error, verbose) + "\n");
      return exitCodeOf(error);
    }
  };
  if (!io.signals || onlyPrints(args)) return await start();

  // Spools and staging folders of this process go into one folder of its own, removed at the
  // end or on an interrupt; the folders of processes killed too hard to clean up (SIGKILL) are
  // removed by the next run.
  const {
    cleanUp,
    DEFAULT_GRACE_MS,
    HANDLED_SIGNALS,
    hurry,
    registerTemporary,
    removeStaleTemporaries,
    removeTemporary,
  } = await import("./signals.ts");
  const systemTemp = io.env.TMPDIR || "/tmp";
  await removeStaleTemporaries(systemTemp, ownerOfProcessTemp);
  try {
    processTemp = await Deno.makeTempDir({ dir: systemTemp, prefix: `r10e-${Deno.pid}-` });
    registerTemporary(processTemp);
    // Read by Deno.makeTempDir everywhere below; children get `io.env`, taken before this.
    Deno.env.set("TMPDIR", processTemp);
  } catch {
    // An unwritable TMPDIR: the commands say so with their own paths when they need it.
  }
  const interrupted = Promise.withResolvers<number>();
  let caught: Deno.Signal | null = null;
  // Assigned below, after the listeners: a signal from the first moment on is handled.
  let run: Promise<number> = Promise.resolve(0);
  const listeners = (Object.keys(HANDLED_SIGNALS) as (keyof typeof HANDLED_SIGNALS)[]).map(
    (sig) => {
      const listener = () => {
        if (caught) return hurry();
        caught = sig;
        io.stderr(`r10e: interrupted by ${sig}: stopping\n`);
        controller.abort(new Error(`Interrupted by ${sig}`));
        (async () => {
          // build stops its children, removes its containers and partial archive; bounded.
          if (state.unwinds) {
            await Promise.race([run, new Promise((r) => setTimeout(r, DEFAULT_GRACE_MS + 15_000))]);
          }
          await cleanUp();
          interrupted.resolve(HANDLED_SIGNALS[sig]);
        })();
      };
      Deno.addSignalListener(sig, listener);
      return [sig, listener] as const;
    },
  );
  try {
    run = start();
    const code = await Promise.race([run, interrupted.promise]);
    return caught ? await interrupted.promise : code;
  } finally {
    for (const [sig, listener] of listeners) Deno.removeSignalListener(sig, listener);
    if (processTemp) await removeTemporary(processTemp);
  }
}

/** `r10e-<pid>-<hex>`, the folder of a process (see `main`): its pid. */
function ownerOfProcessTemp(name: string): number | null {
  // Deno.makeTempDir appends up to 16 hex digits to the prefix.
  const m = /^r10e-(\d+)-[0-9a-f]{1,16}$/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Rewrites the messages of OS errors in `error`'s chain ("Read-only file system (os error 30):
 * open 'dest/.r10e-cp-1f3a'") so that they name the user's paths: the folder a temporary name
 * sits in, or TMPDIR for the process's spool: a user knows those, not r10e's names.
 */
async function namePathsOfUser(
  error: unknown,
  temp: { systemTemp: string; processTemp?: string },
): Promise<void> {
  const { DiskFullError } = await import("./disk_full.ts");
  const { isTemporaryName } = await import("./atomic_write.ts");
  for (let e = error; e instanceof Error; e = e.cause) {
    // The process's own folder is inside the user's TMPDIR: the message names the latter.
    if (e instanceof DiskFullError && e.folder === "TMPDIR" && temp.processTemp) {
      e.message = new DiskFullError(`${temp.systemTemp}/r10e`, "TMPDIR").message;
    }
    const m = /^(.*\(os error \d+\)): (\w+) '(.*)'$/s.exec(e.message);
    if (!m) continue;
    const [, reason, op, path] = m;
    if (temp.processTemp && path.startsWith(temp.processTemp + "/")) {
      const hint = (e as { code?: string }).code === "ENOSPC"
        ? " (set TMPDIR to a folder with more space)"
        : "";
      e.message = `${reason}, writing temporary files in "${temp.systemTemp}"${hint}`;
    } else if (isTemporaryName(path.slice(path.lastIndexOf("/") + 1))) {
      // The folder by hand, not node:path's dirname: node:path costs every start-up ~8 ms.
      e.message = `${reason}, writing in "${path.slice(0, Math.max(path.lastIndexOf("/"), 1))}"`;
    } else {
      e.message = `${reason}: ${op} "${path}"`;
    }
  }
}

/** Thrown by the writers of standard output when its reader is gone (EPIPE). */
class StdoutClosed extends Error {
  constructor(options?: ErrorOptions) {
    super("Standard output was closed", options);
    this.name = "StdoutClosed";
  }
}

function isClosedStdout(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof StdoutClosed) return true;
  }
  return false;
}

/** `r10e: message`, with the innermost cause, or the whole cause chain when verbose (never a stack). */
export function formatError(error: unknown, verbose: boolean): string {
  const lines: string[] = [];
  let current: unknown = error;
  let first = true;
  while (current) {
    // Messages quote names from images and configs: escaped, keeping the lines they were made of.
    const message = printable(current instanceof Error ? current.message : String(current), {
      multiline: true,
    });
    lines.push(first ? `r10e: ${message}` : `  caused by: ${message}`);
    first = false;
    current = current instanceof Error ? current.cause : undefined;
    if (!verbose && current) {
      // Without --verbose, show only the innermost cause: it says what went wrong at the bottom.
      while (current instanceof Error && current.cause) current = current.cause;
      const inner = printable(current instanceof Error ? current.message : String(current), {
        multiline: true,
      });
      if (!lines[0].includes(inner)) lines.push(`  caused by: ${inner}`);
      break;
    }
  }
  return lines.join("\n");
}

/**
 * Writes everything. A closed pipe (`r10e … | head`) throws {@linkcode StdoutClosed}
 * for standard output, which `main` ends quietly on after the command cleaned up;
 * on standard error it is ignored (there is no one left to tell).
 */
function writeAll(
  out: { writeSync(b: Uint8Array): number },
  bytes: Uint8Array,
  closed: "throw" | "ignore",
): void {
  try {
    let off = 0;
    while (off < bytes.length) off += out.writeSync(bytes.subarray(off));
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) {
      if (closed === "ignore") return;
      throw new StdoutClosed({ cause: error });
    }
    throw error;
  }
}

/** The width of the terminal on standard output, or none when it cannot be read. */
function columns(): number | undefined {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return undefined;
  }
}

/** Standard output as a stream (`cp … -`) whose closed pipe is a {@linkcode StdoutClosed}. */
function stdoutStream(): WritableStream<Uint8Array> {
  return new WritableStream({
    write(chunk) {
      writeAll(Deno.stdout, chunk, "throw");
    },
  });
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const stderr = (s: string) => writeAll(Deno.stderr, encoder.encode(s), "ignore");
  // An error nothing awaited is still an error, not an answer: exit 2
  // with its message, after removing what the command left, instead of Deno's stack trace.
  const fail = (reason: unknown) => {
    const code = isClosedStdout(reason) ? 0 : 2;
    if (code) stderr(formatError(reason, Deno.args.includes("--verbose")) + "\n");
    return import("./signals.ts").then(({ cleanUp }) => cleanUp({ graceMs: 0 }))
      .then(() => Deno.exit(code));
  };
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fail(e.reason);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    fail(e.error);
  });
  const isTerminal = Deno.stdout.isTerminal();
  const code = await main(Deno.args, {
    stdout: (s) => writeAll(Deno.stdout, encoder.encode(s), "throw"),
    stderr,
    stderrBytes: (b) => writeAll(Deno.stderr, b, "ignore"),
    stdoutBytes: stdoutStream,
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    cwdIsProcess: true,
    isTerminal,
    columns: isTerminal ? columns() : undefined,
    stderrIsTerminal: Deno.stderr.isTerminal(),
    signals: true,
  });
  Deno.exit(code);
}
