/**
 * The config.json schema: every field of the r10edocker format, plus the
 * extensions r10e documents (entrypoint, cmd, env, workdir, user, labels,
 * platform, builder_image). Pure: text in, typed config or every problem out.
 *
 * @module
 */
// zod: declarative schema with per-path messages (STYLE: dependencies).
import { z } from "zod";
// jsonc-parser: JSON with comments, and node offsets for line:column (@std/jsonc is JSR-only).
import {
  findNodeAtLocation,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import { ConfigError, type Problem } from "../errors.ts";
import { parsePlatform } from "../image/platform.ts";
import { parseReference, type Reference } from "../registry/reference.ts";
import { type Healthcheck, healthcheckSchema, toHealthcheck } from "./healthcheck.ts";

/** A file or directory copied into the image. */
export interface Mapping {
  /** Path relative to the project root. */
  src: string;
  /** Absolute, normalized path in the image. */
  dest: string;
}

/** A validated config. */
export interface Config {
  project_name: string;
  build_cmd: string;
  maintainers: string[];
  go_version?: string;
  artifacts: Mapping[];
  extern_data: Mapping[];
  include_ca_bundle: boolean;
  entrypoint?: string[];
  cmd?: string[];
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  labels: Record<string, string>;
  /** `os/arch[/variant]`, default `linux/amd64` (never the host's); the first of `platforms`. */
  platform: string;
  /**
   * Every platform to build, in config order: `platforms` when set, else `[platform]`
   * (several platforms make one image with an index).
   */
  platforms: string[];
  builder_image?: string;
  /**
   * An image whose layers go below r10e's own: `host/repo@sha256:…`, or a tag that `init` pins
   * by digest in pins.json.
   */
  base_image?: string;
  /** Where the source is, the label `org.opencontainers.image.source` (a URL without credentials). */
  source?: string;
  /** The image's ExposedPorts, normalized to `port/proto` (`"8080"` → `"8080/tcp"`), sorted, no duplicates. */
  exposed_ports: string[];
  /** The image's StopSignal, as written (`"SIGTERM"`, `"15"`). */
  stop_signal?: string;
  /** Put r10e's pinned zoneinfo tree at /usr/share/zoneinfo (default false). */
  include_tzdata: boolean;
  /** How layer blobs are stored: gzip by r10e's pinned compressor (the default) or uncompressed. */
  layer_compression: "gzip" | "none";
  /**
   * r10e's runtime root (users, nsswitch.conf, /tmp, a nonroot home) as a layer of its own;
   * `"nonroot"` also makes the image run as 65532 unless `user` says otherwise.
   */
  runtime?: "nonroot" | "root";
  /**
   * build_cmd runs with CGO_ENABLED=1 and the audit expects it: the binaries may link the C
   * library, which the base image must provide (its loader and libraries). Present only when true.
   */
  cgo?: true;
  /** The image's `Healthcheck`, in the image config's shape (durations in nanoseconds). */
  healthcheck?: Healthcheck;
}

/** A config with where each value came from, for messages that point into the file. */
export interface LoadedConfig {
  config: Config;
  /** The file, as given. */
  file: string;
  /** Warnings such as unknown fields. */
  warnings: Problem[];
  /** Line and column of a JSON path in the file (0:0 when absent). */
  locate(path: (string | number)[]): { line: number; column: number };
}

/** The fields of an artifacts or extern_data entry. */
const MAPPING_FIELDS: readonly string[] = ["src", "dest"];

/** Known top-level fields, for the unknown-field warning. */
export const KNOWN_FIELDS = [
  "project_name",
  "build_cmd",
  "maintainers",
  "go_version",
  "artifacts",
  "extern_data",
  "include_ca_bundle",
  "entrypoint",
  "cmd",
  "env",
  "workdir",
  "user",
  "labels",
  "platform",
  "platforms",
  "builder_image",
  "base_image",
  "source",
  "exposed_ports",
  "stop_signal",
  "include_tzdata",
  "layer_compression",
  "runtime",
  "healthcheck",
  "cgo",
] as const;

/**
 * `: did you mean "x"?` for the known name nearest to `name` (at most a third of its letters
 * apart, by edit distance with transpositions, case ignored), else "".
 */
export function didYouMean(name: string, known: readonly string[]): string {
  const a = name.toLowerCase().replaceAll("-", "_");
  let best: { word: string; d: number } | null = null;
  for (const word of known) {
    const d = editDistance(a, word.toLowerCase());
    if (d <= Math.max(1, Math.floor(word.length / 3)) && (best === null || d < best.d)) {
      best = { word, d };
    }
  }
  return best ? `: did you mean "${best.word}"?` : "";
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** Docker reference path: lowercase components separated by `/` (distribution/reference grammar). */
const IMAGE_NAME =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const GO_VERSION = /^1\.(\d+)(?:\.(\d+))?$/;
const PLATFORM = /^linux\/(amd64|arm64|arm|386|ppc64le|s390x|riscv64)(\/v[5-8])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `8080`, `8080/tcp`, `53/udp`, `9/sctp` (Docker's EXPOSE forms, without ranges). */
const PORT = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/;
/** Signal names Docker and the OCI runtime spec accept for StopSignal (with or without SIG). */
const SIGNALS = new Set([
  "ABRT",
  "ALRM",
  "BUS",
  "CHLD",
  "CONT",
  "FPE",
  "HUP",
  "ILL",
  "INT",
  "IO",
  "IOT",
  "KILL",
  "PIPE",
  "POLL",
  "PROF",
  "PWR",
  "QUIT",
  "SEGV",
  "STKFLT",
  "STOP",
  "SYS",
  "TERM",
  "TRAP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "USR1",
  "USR2",
  "VTALRM",
  "WINCH",
  "XCPU",
  "XFSZ",
]);

/** Normalizes an exposed port to `port/proto`, or returns null when it is not one. */
export function normalizePort(text: string): string | null {
  const m = PORT.exec(text);
  if (!m) return null;
  const port = Number(m[1]);
  if (port < 1 || port > 65535 || String(port) !== m[1]) return null;
  return `${port}/${m[2] ?? "tcp"}`;
}

/** Whether a stop signal is one Docker accepts: a name (`SIGTERM`, `TERM`, `SIGRTMIN+3`) or a number 1-64. */
export function isStopSignal(text: string): boolean {
  if (/^\d{1,2}$/.test(text)) return Number(text) >= 1 && Number(text) <= 64;
  const name = text.startsWith("SIG") ? text.slice(3) : text;
  if (SIGNALS.has(name)) return true;
  const rt = /^RTM(IN|AX)(?:([+-])(\d{1,2}))?$/.exec(name);
  if (!rt) return false;
  if (rt[3] === undefined) return true;
  // SIGRTMIN+n and SIGRTMAX-n, n within the 32 real-time signals.
  return ((rt[1] === "IN") === (rt[2] === "+")) && Number(rt[3]) <= 30;
}
/** `user[:group]`: what Docker's `USER` takes; no whitespace (a newline would end the field). */
const USER = /^[^\s:\p{Cc}]+(?::[^\s:\p{Cc}]+)?$/u;

/**
 * Limits, each refused with a message naming it. The config file as a whole, how deep
 * its JSON nests (a config needs 3 levels; the parser and the checks recurse), any one string,
 * and build_cmd, which reaches /bin/sh as one environment variable or argument: Linux takes at
 * most MAX_ARG_STRLEN (32 pages, 131072 bytes) for one, the terminating NUL included.
 */
export const LIMITS = {
  fileBytes: 8 << 20,
  depth: 64,
  stringBytes: 64 << 10,
  buildCmdBytes: 131072 - 1 - "R10E_BUILD_CMD=".length,
  projectNameBytes: 255,
  pathBytes: 4096,
  nameBytes: 255,
} as const;

const nonBlank = (what: string) =>
  z.string({ error: (i) => `expected ${what}, found ${describe(i.input)}` }).refine(
    (s) => s.trim() !== "",
    { message: `expected ${what}, found an empty or blank string`, abort: true },
  );

const stringList = (what: string) =>
  z.array(nonBlank(what), {
    error: (i) => `expected an array of ${what}s, found ${describe(i.input)}`,
  });

const mapping = z.object({ src: nonBlank("a relative path"), dest: nonBlank("an absolute path") }, {
  error: (i) => `expected an object {"src", "dest"}, found ${describe(i.input)}`,
});

const stringMap = (what: string) =>
  z.record(
    z.string(),
    z.string({ error: (i) => `expected a string, found ${describe(i.input)}` }),
    {
      error: (i) => `expected an object of ${what}, found ${describe(i.input)}`,
    },
  );

/** `os/arch[/variant]`, checked by `platformProblem`. */
const platformString = z.string({
  error: (i) => `expected a platform like "linux/amd64", found ${describe(i.input)}`,
}).refine((s) => platformProblem(s) === null, {
  error: (i) => platformProblem(String(i.input)) ?? "expected a platform",
});

/**
 * Why `text` is not a platform r10e builds for, or null: `linux/<arch>`, with a
 * variant only where Go has one (`arm/v5`…`arm/v7` for GOARM, `arm64/v8`).
 */
export function platformProblem(text: string): string | null {
  const m = PLATFORM.exec(text);
  if (!m) {
    return `expected a Linux platform like "linux/amd64", "linux/arm64" or "linux/arm/v7" (os/arch[/variant]), found ${
      JSON.stringify(text)
    }`;
  }
  const [, arch, variant] = m;
  const allowed = arch === "arm" ? ["/v5", "/v6", "/v7"] : arch === "arm64" ? ["/v8"] : [];
  if (variant && !allowed.includes(variant)) {
    return `expected ${
      allowed.length
        ? `a variant ${allowed.map((v) => v.slice(1)).join(", ")} of`
        : "no variant for"
    } "linux/${arch}", found ${JSON.stringify(text)}`;
  }
  return null;
}

/** The placeholders an artifact `src` may hold, one value per platform. */
export const PLATFORM_PLACEHOLDERS = ["{os}", "{arch}", "{variant}"] as const;

/**
 * An artifact `src` for one platform: `{os}`, `{arch}` and `{variant}` replaced
 * (`{variant}` is empty for a platform without one): `build/{os}-{arch}/server`
 * → `build/linux-arm64/server`. Pure.
 */
export function expandPlatform(src: string, platform: string): string {
  const { os, architecture: arch, variant = "" } = parsePlatform(platform);
  return src.replaceAll("{os}", os).replaceAll("{arch}", arch).replaceAll("{variant}", variant);
}

const schema = z.object({
  project_name: nonBlank("a lowercase image name").refine((s) => IMAGE_NAME.test(s), {
    error: (i) =>
      `expected a lowercase image name (a-z, 0-9, separators . _ - and /, starting and ending with a letter or digit), found ${
        describe(i.input)
      }`,
  }),
  build_cmd: nonBlank("a command"),
  maintainers: stringList("name").nullish(),
  go_version: z.string({
    error: (i) => `expected a string like "1.26" or "1.26.8", found ${describe(i.input)}`,
  })
    .refine((s) => GO_VERSION.test(s), {
      error: (i) => `expected a Go version like "1.26" or "1.26.8", found ${describe(i.input)}`,
    }).nullish(),
  artifacts: z.array(mapping, {
    error: (i) => `expected a non-empty array of {"src", "dest"}, found ${describe(i.input)}`,
  }).min(1, { message: 'expected at least one artifact {"src", "dest"}, found an empty array' }),
  extern_data: z.array(mapping, {
    error: (i) => `expected an array of {"src", "dest"}, found ${describe(i.input)}`,
  }).nullish(),
  include_ca_bundle: z.boolean({
    error: (i) => `expected true or false, found ${describe(i.input)}`,
  })
    .nullish(),
  entrypoint: stringList("string").nullish(),
  cmd: stringList("string").nullish(),
  env: stringMap("environment variables").nullish(),
  workdir: nonBlank("an absolute path").nullish(),
  user: nonBlank('a user such as "65534" or "65534:65534"').refine((s) => USER.test(s), {
    error: (i) =>
      `expected a user such as "65534" or "65534:65534" (a name or uid, optionally ":" and a group, without spaces or control characters), found ${
        describe(i.input)
      }`,
  }).nullish(),
  labels: stringMap("labels").nullish(),
  platform: platformString.nullish(),
  platforms: z.array(platformString, {
    error: (i) =>
      `expected an array of platforms like ["linux/amd64", "linux/arm64"], found ${
        describe(i.input)
      }`,
  }).min(1, {
    message: 'expected at least one platform like "linux/amd64", found an empty array',
  }).nullish(),
  builder_image: nonBlank("an image reference").nullish(),
  base_image: nonBlank('an image reference like "registry/repo@sha256:<64 hex>"').refine(
    (s) => typeof parseBaseImage(s) !== "string",
    { error: (i) => parseBaseImage(String(i.input)) as string },
  ).nullish(),
  source: nonBlank('a URL such as "https://github.com/org/repo"').nullish(),
  exposed_ports: z.array(
    z.string({ error: (i) => `expected a port like "8080/tcp", found ${describe(i.input)}` })
      .refine((s) => normalizePort(s) !== null, {
        error: (i) =>
          `expected a port like "8080/tcp" (1-65535, /tcp, /udp or /sctp, default tcp), found ${
            describe(i.input)
          }`,
      }),
    { error: (i) => `expected an array of ports like "8080/tcp", found ${describe(i.input)}` },
  ).nullish(),
  stop_signal: z.string({
    error: (i) => `expected a signal like "SIGTERM", found ${describe(i.input)}`,
  }).refine(isStopSignal, {
    error: (i) =>
      `expected a signal name like "SIGTERM" or "SIGRTMIN+3", or a number 1-64, found ${
        describe(i.input)
      }`,
  }).nullish(),
  include_tzdata: z.boolean({
    error: (i) => `expected true or false, found ${describe(i.input)}`,
  }).nullish(),
  layer_compression: z.enum(["gzip", "none"], {
    error: (i) => `expected "gzip" or "none", found ${describe(i.input)}`,
  }).nullish(),
  runtime: z.enum(["nonroot", "root"], {
    error: (i) =>
      `expected "nonroot" (a runtime root, running as user 65532) or "root" (the same root, running as root), found ${
        describe(i.input)
      }`,
  }).nullish(),
  healthcheck: healthcheckSchema.nullish(),
  cgo: z.boolean({ error: (i) => `expected true or false, found ${describe(i.input)}` }).nullish(),
}, { error: (i) => `expected a JSON object, found ${describe(i.input)}` });

const PARSE_ERRORS: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "malformed number",
  PropertyNameExpected: "expected a property name in double quotes",
  ValueExpected: "expected a value",
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: "expected the end of the file",
  UnexpectedEndOfComment: "unterminated comment",
  UnexpectedEndOfString: "unterminated string",
  UnexpectedEndOfNumber: "malformed number",
  InvalidUnicode: "invalid unicode escape",
  InvalidEscapeCharacter: "invalid escape character",
  InvalidCharacter: "invalid character in string",
};

/** How a found value is described in messages: its JSON, shortened, or its type. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "object") return "an object";
  const json = JSON.stringify(value);
  return json.length > 60 ? json.slice(0, 57) + '..."' : json;
}

/**
 * Checks an image path: absolute, normalized, not the root. Returns a message or null.
 * A trailing slash is allowed when `allowDirMarker` (extern_data directories).
 */
export function checkImagePath(dest: string, allowDirMarker = false): string | null {
  const found = JSON.stringify(dest);
  if (!dest.startsWith("/")) return `expected an absolute path in the image, found ${found}`;
  const body = allowDirMarker && dest.length > 1 && dest.endsWith("/") ? dest.slice(0, -1) : dest;
  if (body === "/") {
    return `expected a path below "/", found ${found}: the image root cannot be replaced`;
  }
  const parts = body.slice(1).split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    return `expected a normalized absolute path (no "//", "." or ".." parts${
      allowDirMarker ? "" : ", no trailing slash"
    }), found ${found}`;
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f]/.test(body)) return `expected a path without control characters, found ${found}`;
  const wh = parts.find((p) => p.startsWith(".wh."));
  if (wh !== undefined) {
    return `expected a path without whiteout names, found ${found}: a name starting with ".wh." (${
      JSON.stringify(wh)
    }) marks a deleted file in an image layer`;
  }
  return checkPathSize(dest);
}

/** A path within what a filesystem holds (PATH_MAX, NAME_MAX); a message or null. */
function checkPathSize(path: string): string | null {
  const bytes = utf8Length(path);
  if (bytes > LIMITS.pathBytes) {
    return `expected a path of at most ${LIMITS.pathBytes} bytes, found ${bytes} bytes`;
  }
  const long = path.split(/[\\/]/).find((p) => utf8Length(p) > LIMITS.nameBytes);
  if (long !== undefined) {
    return `expected names of at most ${LIMITS.nameBytes} bytes, found one of ${
      utf8Length(long)
    } bytes: ${describe(long)}`;
  }
  return null;
}

function utf8Length(s: string): number {
  // Cheap when every code unit is ASCII; exact otherwise.
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // 2 bytes below U+0800, 3 above, 4 for a surrogate pair (2 code units).
    if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return n;
}

/** Labels r10e sets itself, and from what. */
const RESERVED_LABELS: [string, string][] = [
  ["org.opencontainers.image.created", "the creation time"],
  ["org.opencontainers.image.revision", "git HEAD"],
];
const SOURCE_LABEL = "org.opencontainers.image.source";

/**
 * Checks the `source` URL: a URL with a scheme, and no credentials in it (the
 * label is public: a token in it would leak with every image). Returns a message or null.
 */
export function checkSourceUrl(source: string): string | null {
  const found = JSON.stringify(source);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(source);
  if (!scheme) {
    return `expected a URL such as "https://github.com/org/repo", found ${found}`;
  }
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return `expected a URL such as "https://github.com/org/repo", found ${found}`;
  }
  // A password, or any user part of an http(s) URL (where tokens go), is a credential.
  const http = /^https?$/i.test(scheme[1]);
  if (url.password !== "" || (http && url.username !== "")) {
    return `expected a URL without credentials (it becomes a public label), found one with "${
      url.password !== "" ? "user:password@" : "user@"
    }": remove the part before "@"`;
  }
  return null;
}

/** Checks a project path: relative and staying inside the project. Returns a message or null. */
export function checkProjectPath(src: string): string | null {
  const found = JSON.stringify(src);
  if (src.startsWith("/") || /^[A-Za-z]:[\\/]/.test(src)) {
    return `expected a path relative to the project root, found the absolute path ${found}`;
  }
  const parts = src.split(/[\\/]/);
  let depth = 0;
  for (const p of parts) {
    if (p === "..") depth--;
    else if (p !== "" && p !== ".") depth++;
    if (depth < 0) {
      return `expected a path inside the project, found ${found}, which leaves it through ".."`;
    }
  }
  if (depth === 0) {
    return `expected a path to a file or directory inside the project, found ${found}`;
  }
  return checkPathSize(src);
}

/**
 * Parses and validates config text. Collects every problem before failing.
 * @throws {ConfigError} with one problem per mistake, each with line:column and JSON path.
 */
export function parseConfig(text: string, file: string): LoadedConfig {
  const { root, position } = readTree(text, file);
  const locate = (path: (string | number)[]) => locateIn(root, path, position);
  const problem: MakeProblem = (path, message) => ({
    file,
    ...locate(path),
    path: jsonPath(path),
    message,
  });

  // Keys that JSON.parse would fold into one, or that JavaScript objects cannot hold as data.
  const keyProblems = keyCheck(root, (offset, path, message) => ({
    file,
    ...position(offset),
    path: jsonPath(path),
    message,
  }), (offset) => {
    const p = position(offset);
    return `line ${p.line}, column ${p.column}`;
  });
  if (keyProblems.length) throw new ConfigError(`Invalid config "${file}"`, keyProblems);

  const value = nodeValue(root);
  const problems: Problem[] = [...sizeProblems(value, problem)];
  const parsed = schema.safeParse(value);
  if (!parsed.success) problems.push(...schemaProblems(parsed.error.issues, value, problem));
  const warnings = unknownFieldWarnings(value, root, (at, path, message) => ({
    file,
    ...(at ? position(at.offset) : locate(path)),
    path: jsonPath(path),
    message,
  }));
  // The semantic checks work on partially valid input too: every problem is reported at once.
  problems.push(...semanticProblems(parsed.success ? parsed.data : value, problem));
  if (problems.length) throw new ConfigError(`Invalid config "${file}"`, dedupe(problems));
  return { config: toConfig(parsed.data!), file, warnings, locate };
}

/** Line and column of an offset in the text. */
type Position = (offset: number) => { line: number; column: number };

/**
 * The JSON tree of config text, and the line and column of any offset in it: refuses a BOM, a
 * file over the size limit, nesting over the depth limit and invalid JSON, each at its place.
 * @throws {ConfigError} naming each place
 */
function readTree(text: string, file: string): { root: Node; position: Position } {
  const lines = lineStarts(text);
  const position: Position = (offset) => {
    let lo = 0, hi = lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lines[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lines[lo] + 1 };
  };
  const early = (offset: number, message: string) =>
    new ConfigError(`Invalid config "${file}"`, [{ file, ...position(offset), path: "", message }]);
  if (text.charCodeAt(0) === 0xfeff) {
    throw early(
      0,
      "the file starts with a byte order mark (U+FEFF, bytes EF BB BF): save it as UTF-8 without a BOM",
    );
  }
  if (text.length > LIMITS.fileBytes) {
    throw early(0, `expected a file of at most ${LIMITS.fileBytes} bytes, found a longer one`);
  }
  // Before the parser, which recurses on nesting: a config nested 100,000 deep would overflow
  // the stack.
  const deep = tooDeep(text, LIMITS.depth);
  if (deep !== null) {
    throw early(deep, `invalid JSON: nested deeper than ${LIMITS.depth} levels`);
  }
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length || !root) {
    // One problem per place: the parser's follow-up errors at the same offset add nothing.
    const offsets = new Set<number>();
    const firsts = errors.filter((e) => !offsets.has(e.offset) && offsets.add(e.offset));
    const problems = firsts.map((e) => ({
      file,
      ...position(e.offset),
      path: "",
      message: `invalid JSON: ${
        PARSE_ERRORS[printParseErrorCode(e.error)] ?? printParseErrorCode(e.error)
      }`,
    }));
    if (!root && problems.length === 0) {
      problems.push({
        file,
        line: 1,
        column: 1,
        path: "",
        message: "expected a JSON object, found an empty file",
      });
    }
    throw new ConfigError(`Invalid config "${file}"`, problems);
  }
  return { root, position };
}

/** Line and column of a JSON path: of the deepest node present, of a property's key when its value is missing. */
function locateIn(
  root: Node,
  path: (string | number)[],
  position: Position,
): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, path.slice(0, n));
    if (node) {
      const at = n < path.length && node.type === "object"
        ? propertyKey(node, path[n]) ?? node
        : node;
      return position(at.offset);
    }
  }
  return { line: 0, column: 0 };
}

/** The schema's issues as problems; a missing required field says so. */
function schemaProblems(
  issues: readonly z.core.$ZodIssue[],
  value: unknown,
  problem: MakeProblem,
): Problem[] {
  return issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
    const message = issue.code === "invalid_type" && valueAt(value, path) === undefined
      ? `expected ${expectedOf(path)}, found nothing (the field is missing)`
      : issue.message;
    return problem(path, message);
  });
}

/**
 * Unknown top-level fields and unknown keys of artifacts and extern_data entries (a misspelt key
 * there is ignored just as silently), each with the nearest known name.
 */
function unknownFieldWarnings(
  value: unknown,
  root: Node,
  warning: (at: Node | undefined, path: (string | number)[], message: string) => Problem,
): Problem[] {
  const warnings: Problem[] = [];
  if (!value || typeof value !== "object" || Array.isArray(value)) return warnings;
  for (const key of Object.keys(value)) {
    if (!(KNOWN_FIELDS as readonly string[]).includes(key)) {
      warnings.push(warning(
        propertyKey(root, key),
        [key],
        `unknown field "${key}" is ignored${didYouMean(key, KNOWN_FIELDS)}`,
      ));
    }
  }
  for (const list of ["artifacts", "extern_data"]) {
    const entries = (value as Record<string, unknown>)[list];
    if (!Array.isArray(entries)) continue;
    const listNode = propertyValue(root, list);
    entries.forEach((entry, i) => {
      if (!entry || typeof entry !== "object" || Array.isArray(entry)) return;
      for (const key of Object.keys(entry)) {
        if (MAPPING_FIELDS.includes(key)) continue;
        const item = listNode?.children?.[i];
        warnings.push(warning(
          item && propertyKey(item, key),
          [list, i, key],
          `unknown field "${key}" is ignored${didYouMean(key, MAPPING_FIELDS)}`,
        ));
      }
    });
  }
  return warnings;
}

/** The validated config with its defaults; optional fields only when set (provenance records it). */
function toConfig(d: z.infer<typeof schema>): Config {
  return {
    project_name: d.project_name,
    build_cmd: d.build_cmd,
    maintainers: d.maintainers ?? [],
    ...(d.go_version ? { go_version: d.go_version } : {}),
    artifacts: d.artifacts,
    extern_data: d.extern_data ?? [],
    include_ca_bundle: d.include_ca_bundle ?? false,
    ...(d.entrypoint ? { entrypoint: d.entrypoint } : {}),
    ...(d.cmd ? { cmd: d.cmd } : {}),
    env: d.env ?? {},
    ...(d.workdir ? { workdir: d.workdir } : {}),
    ...(d.user ? { user: d.user } : {}),
    labels: d.labels ?? {},
    platform: d.platforms?.[0] ?? d.platform ?? "linux/amd64",
    platforms: d.platforms ?? [d.platform ?? "linux/amd64"],
    ...(d.builder_image ? { builder_image: d.builder_image } : {}),
    ...(d.base_image ? { base_image: d.base_image } : {}),
    ...(d.source ? { source: d.source } : {}),
    exposed_ports: [...new Set((d.exposed_ports ?? []).map((p) => normalizePort(p)!))].sort(),
    ...(d.stop_signal ? { stop_signal: d.stop_signal } : {}),
    include_tzdata: d.include_tzdata ?? false,
    layer_compression: d.layer_compression ?? "gzip",
    ...(d.runtime ? { runtime: d.runtime } : {}),
    ...(d.healthcheck ? { healthcheck: toHealthcheck(d.healthcheck) } : {}),
    ...(d.cgo ? { cgo: true as const } : {}),
  };
}

/**
 * The reference of `base_image`, or a message saying why it is not one. A tag is a reference
 * too: `r10e init` pins it by digest in pins.json, and build uses that digest.
 */
export function parseBaseImage(text: string): Reference | string {
  try {
    return parseReference(text);
  } catch (e) {
    return `expected an image reference like "registry/repo@sha256:<64 hex>" or "registry/repo:tag", found ${
      JSON.stringify(text)
    }: ${(e as Error).message}`;
  }
}

type MakeProblem = (path: (string | number)[], message: string) => Problem;

/** Checks that a schema cannot express: paths, duplicates, conflicts. Works on partially valid input. */
function semanticProblems(value: unknown, problem: MakeProblem): Problem[] {
  if (!value || typeof value !== "object") return [];
  const v = value as Record<string, unknown>;
  const { problems, dests } = mappingProblems(v, problem);
  return [
    ...problems,
    ...combinationProblems(v, problem),
    ...destProblems(dests, problem),
    ...urlAndPathProblems(v, problem),
    ...labelProblems(v, problem),
    ...portProblems(v, problem),
    ...platformsProblems(v, problem),
    ...envProblems(v, problem),
  ];
}

/** A valid `dest` of artifacts or extern_data, without the trailing `/` of a directory. */
interface Dest {
  dest: string;
  path: (string | number)[];
  dir: boolean;
}

/** The `src` and `dest` of each artifacts and extern_data entry; the valid dests, for `destProblems`. */
function mappingProblems(
  v: Record<string, unknown>,
  problem: MakeProblem,
): { problems: Problem[]; dests: Dest[] } {
  const problems: Problem[] = [];
  const dests: Dest[] = [];
  for (const field of ["artifacts", "extern_data"] as const) {
    const list = v[field];
    if (!Array.isArray(list)) continue;
    list.forEach((m, i) => {
      if (!m || typeof m !== "object") return;
      const { src, dest } = m as Record<string, unknown>;
      if (typeof src === "string" && src.trim() !== "") {
        const msg = checkProjectPath(src);
        if (msg) problems.push(problem([field, i, "src"], msg));
      }
      if (typeof dest === "string" && dest.trim() !== "") {
        const msg = checkImagePath(dest, field === "extern_data");
        if (msg) problems.push(problem([field, i, "dest"], msg));
        else {
          const dir = dest.length > 1 && dest.endsWith("/");
          dests.push({ dest: dir ? dest.slice(0, -1) : dest, path: [field, i, "dest"], dir });
        }
      }
    });
  }
  return { problems, dests };
}

/** Fields that need, or exclude, another: runtime with base_image, cgo without it. */
function combinationProblems(v: Record<string, unknown>, problem: MakeProblem): Problem[] {
  const problems: Problem[] = [];
  if (v.runtime != null && v.base_image != null) {
    problems.push(
      problem(
        ["runtime"],
        "not with base_image: the base image brings its own /etc/passwd, /tmp and user",
      ),
    );
  }
  if (v.cgo === true && (v.base_image == null || v.base_image === "")) {
    problems.push(
      problem(
        ["cgo"],
        "expected a base_image with it: a cgo binary needs the C library and its loader at run time, " +
          "which r10e's own layers do not hold (or leave cgo out and build a static binary)",
      ),
    );
  }
  return problems;
}

/** Duplicate dests, and a dest inside an artifact file. */
function destProblems(dests: readonly Dest[], problem: MakeProblem): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, (string | number)[]>();
  for (const d of dests) {
    const first = seen.get(d.dest);
    if (first) {
      problems.push(
        problem(d.path, `duplicate dest ${JSON.stringify(d.dest)}: also at ${jsonPath(first)}`),
      );
    } else seen.set(d.dest, d.path);
  }
  // A file dest cannot also be a parent directory of another dest. Each dest's ancestors are
  // looked up (not every pair: 50,000 dests took 19 s that way).
  const artifactFiles = new Map<string, Dest>();
  for (const d of dests) {
    if (d.path[0] === "artifacts" && !artifactFiles.has(d.dest)) artifactFiles.set(d.dest, d);
  }
  for (const other of dests) {
    for (let i = other.dest.lastIndexOf("/"); i > 0; i = other.dest.lastIndexOf("/", i - 1)) {
      const d = artifactFiles.get(other.dest.slice(0, i));
      if (d && d !== other) {
        problems.push(problem(
          other.path,
          `expected a path outside ${JSON.stringify(d.dest)}, found ${
            JSON.stringify(other.dest)
          }: ${JSON.stringify(d.dest)} is an artifact file (${jsonPath(d.path)})`,
        ));
      }
    }
  }
  return problems;
}

/** `workdir` (an image path) and `source` (a URL without credentials). */
function urlAndPathProblems(v: Record<string, unknown>, problem: MakeProblem): Problem[] {
  const problems: Problem[] = [];
  if (typeof v.workdir === "string" && v.workdir.trim() !== "") {
    const msg = checkImagePath(v.workdir);
    if (msg) problems.push(problem(["workdir"], msg));
  }
  if (typeof v.source === "string" && v.source.trim() !== "") {
    const msg = checkSourceUrl(v.source);
    if (msg) problems.push(problem(["source"], msg));
  }
  return problems;
}

/** Labels r10e sets itself, and the source label beside `source`. */
function labelProblems(v: Record<string, unknown>, problem: MakeProblem): Problem[] {
  const problems: Problem[] = [];
  if (v.labels && typeof v.labels === "object" && !Array.isArray(v.labels)) {
    const labels = v.labels as Record<string, unknown>;
    for (const [key, from] of RESERVED_LABELS) {
      if (key in labels) {
        problems.push(
          problem(
            ["labels", key],
            `expected no label ${JSON.stringify(key)}: r10e sets it from ${from}`,
          ),
        );
      }
    }
    const sourceLabel = labels[SOURCE_LABEL];
    if (typeof sourceLabel === "string") {
      if (typeof v.source === "string") {
        problems.push(
          problem(
            ["labels", SOURCE_LABEL],
            `expected the source in one place, found both "source" and this label: keep "source"`,
          ),
        );
      } else {
        const msg = checkSourceUrl(sourceLabel);
        if (msg) problems.push(problem(["labels", SOURCE_LABEL], msg));
      }
    }
  }
  return problems;
}

/** Ports that normalize to the same `port/proto`. */
function portProblems(v: Record<string, unknown>, problem: MakeProblem): Problem[] {
  const problems: Problem[] = [];
  if (Array.isArray(v.exposed_ports)) {
    const seen = new Map<string, number>();
    v.exposed_ports.forEach((p, i) => {
      const n = typeof p === "string" ? normalizePort(p) : null;
      if (n === null) return;
      const first = seen.get(n);
      if (first !== undefined) {
        problems.push(
          problem(
            ["exposed_ports", i],
            `duplicate port ${JSON.stringify(n)}: also at ${jsonPath(["exposed_ports", first])}`,
          ),
        );
      } else seen.set(n, i);
    });
  }
  return problems;
}

/** Environment variable names. */
function envProblems(v: Record<string, unknown>, problem: MakeProblem): Problem[] {
  const problems: Problem[] = [];
  if (v.env && typeof v.env === "object" && !Array.isArray(v.env)) {
    for (const key of Object.keys(v.env)) {
      if (!ENV_NAME.test(key)) {
        problems.push(
          problem(
            ["env", key],
            `expected an environment variable name, found ${JSON.stringify(key)}`,
          ),
        );
      }
    }
  }
  return problems;
}

/**
 * `platform` and `platforms` together, duplicate platforms, and with several platforms
 * an artifact `src` that would be the same file for two of them (one platform's build would
 * overwrite the other's).
 */
function platformsProblems(v: Record<string, unknown>, problem: MakeProblem): Problem[] {
  const problems: Problem[] = [];
  if (v.platforms === undefined || v.platforms === null) return problems;
  if (v.platform !== undefined && v.platform !== null) {
    problems.push(problem(
      ["platforms"],
      `expected either "platform" (one platform) or "platforms" (several), found both: remove "platform"`,
    ));
  }
  if (!Array.isArray(v.platforms)) return problems;
  const seen = new Map<string, number>();
  const platforms: string[] = [];
  v.platforms.forEach((p, i) => {
    if (typeof p !== "string" || platformProblem(p) !== null) return;
    const first = seen.get(p);
    if (first !== undefined) {
      problems.push(problem(
        ["platforms", i],
        `duplicate platform ${JSON.stringify(p)}: also at ${jsonPath(["platforms", first])}`,
      ));
    } else {
      seen.set(p, i);
      platforms.push(p);
    }
  });
  if (platforms.length < 2 || !Array.isArray(v.artifacts)) return problems;
  v.artifacts.forEach((m, i) => {
    const src = m && typeof m === "object" ? (m as Record<string, unknown>).src : undefined;
    if (typeof src !== "string" || src.trim() === "") return;
    if (!PLATFORM_PLACEHOLDERS.some((p) => src.includes(p))) {
      problems.push(problem(
        ["artifacts", i, "src"],
        `expected a path with {os}, {arch} or {variant} (e.g. "build/{os}-{arch}/server"), found ${
          JSON.stringify(src)
        }: with ${platforms.length} platforms it would put the same file in every platform's image`,
      ));
      return;
    }
    const byPath = new Map<string, string>();
    for (const p of platforms) {
      const path = expandPlatform(src, p);
      const other = byPath.get(path);
      if (other !== undefined) {
        problems.push(problem(
          ["artifacts", i, "src"],
          `expected a different path for each platform, found ${JSON.stringify(src)}: it is ${
            JSON.stringify(path)
          } for both "${other}" and "${p}" (add {variant})`,
        ));
        return;
      }
      byPath.set(path, p);
    }
  });
  return problems;
}

function valueAt(value: unknown, path: (string | number)[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).sort((a, b) => a.line - b.line || a.column - b.column);
}

function expectedOf(path: (string | number)[]): string {
  const last = path[path.length - 1];
  switch (last) {
    case "project_name":
      return "a lowercase image name";
    case "build_cmd":
      return "a command";
    case "artifacts":
      return 'a non-empty array of {"src", "dest"}';
    case "src":
      return "a relative path";
    case "dest":
      return "an absolute path";
    default:
      return "a value";
  }
}

/** `artifacts[0].dest` style path. */
export function jsonPath(path: (string | number)[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

/** Offsets where lines start: after "\n", "\r\n" or a lone "\r" (old Mac files). */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) starts.push(i + 1);
  }
  return starts;
}

/**
 * The offset of the first `{` or `[` nested deeper than `max`, or null. A scanner of its own
 * (strings and comments skipped), iterative, so that no depth of input can overflow the stack.
 */
function tooDeep(text: string, max: number): number | null {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: to its closing quote, escapes skipped.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c) i++;
      }
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2f) {
      while (i < text.length && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return null;
}

type MakeKeyProblem = (offset: number, path: (string | number)[], message: string) => Problem;

/**
 * Duplicate keys (reported at the second one, naming where the first is) and `__proto__`,
 * which a JavaScript object cannot hold as a plain key: `labels: {"__proto__": "x"}` was
 * silently dropped otherwise. Iterative; the depth is bounded by `tooDeep` before.
 */
function keyCheck(
  root: Node,
  problem: MakeKeyProblem,
  where: (offset: number) => string,
): Problem[] {
  const problems: Problem[] = [];
  const stack: [Node, (string | number)[]][] = [[root, []]];
  while (stack.length) {
    const [node, path] = stack.pop()!;
    if (node.type === "array") {
      (node.children ?? []).forEach((c, i) => stack.push([c, [...path, i]]));
      continue;
    }
    if (node.type !== "object") continue;
    const seen = new Map<string, Node>();
    for (const prop of node.children ?? []) {
      const [k, v] = prop.children ?? [];
      if (!k) continue;
      const key = k.value as string;
      const first = seen.get(key);
      if (first) {
        problems.push(problem(
          k.offset,
          [...path, key],
          `duplicate key ${JSON.stringify(key)} (first at ${
            where(first.offset)
          }): write each key once`,
        ));
      } else seen.set(key, k);
      if (key === "__proto__") {
        problems.push(problem(
          k.offset,
          [...path, key],
          'the key "__proto__" is not accepted (no image field or label needs it, and JavaScript objects cannot hold it as data)',
        ));
      }
      if (v) stack.push([v, [...path, key]]);
    }
  }
  return problems;
}

/** Strings beyond the limits: any (keys too) over `stringBytes`, build_cmd, project_name. */
function sizeProblems(value: unknown, problem: MakeProblem): Problem[] {
  const problems: Problem[] = [];
  const tooLong = (s: string, limit: number) => s.length > limit / 3 && utf8Length(s) > limit;
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      const field = path.length === 1 ? path[0] : undefined;
      const limit = field === "build_cmd"
        ? LIMITS.buildCmdBytes
        : field === "project_name"
        ? LIMITS.projectNameBytes
        : LIMITS.stringBytes;
      if (tooLong(v, limit)) {
        problems.push(problem(
          path,
          field === "build_cmd"
            ? `expected a command of at most ${limit} bytes, found ${
              utf8Length(v)
            } bytes: the system passes at most 131072 bytes in one argument or variable to /bin/sh (put the commands in a script and call it)`
            : `expected at most ${limit} bytes, found ${utf8Length(v)} bytes`,
        ));
      }
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push([x, [...path, i]]));
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (tooLong(k, LIMITS.stringBytes)) {
          problems.push(problem(path, `expected keys of at most ${LIMITS.stringBytes} bytes`));
        }
        stack.push([x, [...path, k]]);
      }
    }
  }
  return problems;
}

function propertyValue(object: Node, key: string): Node | undefined {
  return object.children?.find((p) => p.children?.[0]?.value === key)?.children?.[1];
}

function propertyKey(object: Node, key: string | number): Node | undefined {
  if (typeof key !== "string") return undefined;
  return object.children?.find((p) => p.children?.[0]?.value === key)?.children?.[0];
}

/** Value of a parse tree node; unlike getNodeValue, keeps the last of duplicate keys the same way JSON.parse does. */
function nodeValue(node: Node): unknown {
  switch (node.type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children ?? [];
        // defineProperty: a key is data, never the object's prototype (`__proto__`).
        if (k && v) {
          Object.defineProperty(out, k.value as string, {
            value: nodeValue(v),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
      return out;
    }
    case "array":
      return (node.children ?? []).map(nodeValue);
    default:
      return node.value;
  }
}
