/**
 * Error classes that `main.ts` branches on. Everything else is a built-in error
 * (STYLE: errors) and exits 2, like every error that is not an answer.
 *
 * @module
 */

/** A finding of a configuration problem: where it is and what was expected. */
export interface Problem {
  /** The file the problem is in. */
  file: string;
  /** 1-based line, 0 when unknown. */
  line: number;
  /** 1-based column, 0 when unknown. */
  column: number;
  /** JSON path such as `artifacts[0].dest`, empty for the whole document. */
  path: string;
  /** What is wrong, expected and found. */
  message: string;
}

/** Formats a problem as `file:line:column: path: message`. */
export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** A mistake in the command line. Exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** Invalid configuration or unreadable input. Exit code 2. Carries every problem found. */
export class ConfigError extends Error {
  readonly exitCode = 2;
  readonly problems: Problem[];
  constructor(message: string, problems: Problem[] = [], options?: ErrorOptions) {
    const details = problems.map((p) => "\n  " + formatProblem(p)).join("");
    super(message + details, options);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** An input (image archive, file) that cannot be read as what it should be. Exit code 2. */
export class InputError extends Error {
  readonly exitCode = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InputError";
  }
}

/** The build command failed. Exit code 1. */
export class BuildFailed extends Error {
  readonly exitCode = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BuildFailed";
  }
}

/**
 * Exit code for an error: the one it carries (1 only for {@linkcode BuildFailed}),
 * else 2. An unexpected error is not an answer: exit 1 is "the build failed" or
 * "the images differ", and a script must be able to tell a crash from those.
 */
export function exitCodeOf(error: unknown): number {
  if (error && typeof error === "object" && "exitCode" in error) {
    const code = (error as { exitCode: unknown }).exitCode;
    if (typeof code === "number") return code;
  }
  return 2;
}
