/**
 * The `healthcheck` field: a documented, simpler shape of Docker's HEALTHCHECK, mapped to the
 * `Healthcheck` object of the image config that Docker reads (`Test`, durations in nanoseconds,
 * `Retries`). Pure.
 *
 * @module
 */
// zod: declarative schema with per-path messages (STYLE: dependencies).
import { z } from "zod";
import type { Healthcheck } from "../image/writer.ts";

export type { Healthcheck };

/** The config.json fields of `healthcheck` and the image config field each becomes. */
const DURATIONS = [
  ["interval", "Interval"],
  ["timeout", "Timeout"],
  ["start_period", "StartPeriod"],
  ["start_interval", "StartInterval"],
] as const;

/** Nanoseconds per unit of a Go duration (time.ParseDuration's units). */
const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Docker refuses a health check duration below one millisecond (other than 0, its default). */
const MIN_NS = 1e6;

/**
 * A Go-style duration (`"30s"`, `"1m30s"`, `"500ms"`) in whole nanoseconds, or null when it is
 * not one, is below 1 ms, or does not fit a JSON number exactly.
 */
export function parseDuration(text: string): number | null {
  if (!/^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(text)) return null;
  let ns = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    ns += Number(m[1]) * UNITS[m[2]];
  }
  if (!Number.isSafeInteger(ns) || ns < MIN_NS) return null;
  return ns;
}

const duration = z.string({
  error: (i) => `expected a duration like "30s" or "500ms", found ${JSON.stringify(i.input)}`,
}).refine((s) => parseDuration(s) !== null, {
  error: (i) =>
    `expected a duration like "30s", "1m30s" or "500ms" (units ns, us, ms, s, m, h; at least 1ms), found ${
      JSON.stringify(i.input)
    }`,
});

const COMMAND =
  `a shell command (a string, run by the image's /bin/sh) or an argument list like ["/app/svc", "-health"]`;

const command = z.union([
  z.string().refine((s) => s.trim() !== "", {
    error: (i) => `expected ${COMMAND}, found ${JSON.stringify(i.input)}`,
  }),
  z.array(z.string().refine((s) => s !== "", { message: `expected ${COMMAND}, found ""` })).min(
    1,
    { message: `expected ${COMMAND}, found an empty array` },
  ),
], { error: (i) => `expected ${COMMAND}, found ${describeValue(i.input)}` });

/** The zod schema of `healthcheck`: unknown fields are errors (a misspelt one would be lost). */
export const healthcheckSchema = z.strictObject({
  test: command,
  interval: duration.nullish(),
  timeout: duration.nullish(),
  start_period: duration.nullish(),
  start_interval: duration.nullish(),
  retries: z.number({
    error: (i) => `expected a whole number of retries, found ${describeValue(i.input)}`,
  }).int({ message: "expected a whole number of retries" }).min(0, {
    message: "expected a number of retries of at least 0",
  }).max(2147483647, { message: "expected a number of retries below 2^31" }).nullish(),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? `unknown field${i.keys.length > 1 ? "s" : ""} ${
        i.keys.map((k) => JSON.stringify(k)).join(", ")
      }: expected "test", "interval", "timeout", "start_period", "start_interval", "retries"`
      : `expected an object {"test", "interval", …}, found ${describeValue(i.input)}`,
});

/** The validated config.json form. */
export type HealthcheckField = z.infer<typeof healthcheckSchema>;

/** The image config's `Healthcheck` for a validated `healthcheck` field. Pure. */
export function toHealthcheck(field: HealthcheckField): Healthcheck {
  const out: Healthcheck = {
    Test: typeof field.test === "string" ? ["CMD-SHELL", field.test] : ["CMD", ...field.test],
  };
  for (const [from, to] of DURATIONS) {
    const text = field[from];
    if (text != null) out[to] = parseDuration(text)!;
  }
  if (field.retries != null) out.Retries = field.retries;
  return out;
}

/**
 * Why the image cannot run its health check, or null: a shell command needs /bin/sh, and an
 * argument list with an absolute program needs that program (Docker reports either only as
 * "unhealthy", forever). A relative program is looked up in PATH at run time: not checked.
 * `provided` holds the image's non-directory paths (files and links). Pure.
 */
export function healthcheckProblem(
  healthcheck: Healthcheck,
  provided: ReadonlySet<string>,
): string | null {
  const [kind, program] = healthcheck.Test;
  if (kind === "CMD-SHELL" && !provided.has("/bin/sh")) {
    return "the image has no /bin/sh to run this shell command: use a base_image with a shell, " +
      'or an argument list such as ["/app/svc", "-health"]';
  }
  if (kind === "CMD" && program.startsWith("/") && !provided.has(program)) {
    return `the image has no ${JSON.stringify(program)} to run`;
  }
  return null;
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  if (Array.isArray(value)) {
    return value.length ? "an array with a non-string item" : "an empty array";
  }
  if (value !== null && typeof value === "object") return "an object";
  return JSON.stringify(value);
}
