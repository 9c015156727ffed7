/**
 * Causes that read the evidence: who built each image (from the config's
 * history), a different commit in r10e's labels as the cause the timestamps follow from, one
 * time shift shared by many places as one cause line with its count, and hints that depend on
 * the builder (SOURCE_DATE_EPOCH does nothing for Docker's legacy builder; BuildKit needs
 * `rewrite-timestamp=true`; ko reads `KO_DATA_DATE_EPOCH`).
 *
 * Pure: takes the findings `collapse` made and the two configs, returns the findings with
 * their causes and hints refined, and one line per cause for the report.
 *
 * @module
 */
import { BASE_DIGEST, BASE_NAME, shiftKey as timesKey, wholeSeconds } from "./compare.ts";
import { type CauseId, CAUSES, type Finding, type OmittedFindings } from "./findings.ts";
import { GO_MODULE_CAUSES, goModuleCauseText } from "./sbom_diff.ts";
import { isObject } from "../json_object.ts";

/** Who built an image, read from its config's history and fields. */
export type Builder = "r10e" | "ko" | "buildkit" | "docker-legacy" | "nix" | "unknown";

/** Names of the builders as the report shows them. */
export const BUILDER_NAMES: Readonly<Record<Builder, string>> = {
  r10e: "r10e",
  ko: "ko",
  buildkit: "BuildKit",
  "docker-legacy": "the legacy docker builder",
  nix: "Nix",
  unknown: "an unknown builder",
};

/** One cause as the report shows it: what, the evidence, the fix, how many findings. */
export interface CauseLine {
  cause: CauseId;
  /** The cause with its evidence, e.g. `built from different commits: 1a2b3c4 → 5d6e7f8`. */
  text: string;
  /** The fix, `""` when none is known or none is needed. */
  hint: string;
  /** Findings this line covers. */
  count: number;
  /** For timestamps: the time shift most places share, in seconds since the epoch (as RFC 3339). */
  shift?: { a: string; b: string; count: number };
}

/** What `explain` returns. */
export interface Explained {
  findings: Finding[];
  causes: CauseLine[];
  builders: { a: Builder; b: Builder };
}

const REVISION = "org.opencontainers.image.revision";
const CREATED = "org.opencontainers.image.created";

/** The builder of an image: the one that made its last history entries (base layers may come from others). */
export function detectBuilder(config: unknown): Builder {
  const c = isObject(config) ? config : {};
  const history = Array.isArray(c.history) ? c.history.filter(isObject) : [];
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i];
    const by = typeof h.created_by === "string" ? h.created_by : "";
    const comment = typeof h.comment === "string" ? h.comment : "";
    if (by.startsWith("r10e:")) return "r10e";
    if (h.author === "ko" || by.startsWith("ko build ")) return "ko";
    if (comment.startsWith("buildkit.")) return "buildkit";
    if (/\/nix\/store\/|^nix\b/i.test(by) || /\/nix\/store\/|\bnix\b/i.test(comment)) return "nix";
    if (/^\/bin\/sh -c /.test(by) || by.includes("#(nop)")) return "docker-legacy";
    if (comment === "Imported from -" || comment.startsWith("Imported from")) continue;
  }
  if ("container_config" in c || "container" in c) return "docker-legacy";
  return "unknown";
}

/** The hint for leaked build times, by builder. */
export function timestampHint(builder: Builder): string {
  switch (builder) {
    case "docker-legacy":
      return "the legacy builder writes the build time into created, history and every file a " +
        "step writes, and SOURCE_DATE_EPOCH does not change that: build with BuildKit " +
        "(SOURCE_DATE_EPOCH and --output type=docker,rewrite-timestamp=true) or r10e";
    case "buildkit":
      return "set SOURCE_DATE_EPOCH (build arg) and export with rewrite-timestamp=true " +
        "(--output type=docker,rewrite-timestamp=true) so file mtimes are clamped too";
    case "ko":
      return "set SOURCE_DATE_EPOCH (created, the binary's mtime) and KO_DATA_DATE_EPOCH " +
        "(mtimes of kodata files) to the commit time";
    case "nix":
      return 'keep dockerTools\' created at its default (1970-01-01), not "now"';
    case "r10e":
      return "build the same commit, or set the same SOURCE_DATE_EPOCH (r10e uses the commit time)";
    default:
      return CAUSES.timestamps.hint;
  }
}

/**
 * Refines the findings' causes and hints from the evidence and makes one line per cause:
 * a different commit first, then the rest by count.
 */
export function explain(
  findings: readonly Finding[],
  configs: { a: unknown; b: unknown },
  omitted: readonly OmittedFindings[] = [],
): Explained {
  const builders = { a: detectBuilder(configs.a), b: detectBuilder(configs.b) };
  const builder = builders.a === builders.b ? builders.a : "unknown";
  const out = findings.map((f) => refine(f, builder));
  const revision = { a: label(configs.a, REVISION), b: label(configs.b, REVISION) };
  const created = { a: label(configs.a, CREATED), b: label(configs.b, CREATED) };
  const commit = revision.a !== null && revision.b !== null && revision.a !== revision.b;

  const byCause = new Map<CauseId, Finding[]>();
  for (const f of out) {
    const list = byCause.get(f.cause);
    if (list) list.push(f);
    else byCause.set(f.cause, [f]);
  }
  const lines: CauseLine[] = [];
  const omittedBy = new Map<CauseId, OmittedFindings[]>();
  for (const o of omitted) {
    const list = omittedBy.get(o.cause);
    if (list) list.push(o);
    else omittedBy.set(o.cause, [o]);
    if (!byCause.has(o.cause)) byCause.set(o.cause, []);
  }
  for (const [cause, list] of byCause) {
    const c = CAUSES[cause];
    const left = omittedBy.get(cause) ?? [];
    const count = list.length + left.reduce((n, o) => n + o.count, 0);
    const hint = list[0]?.hint ?? (cause === "timestamps" ? timestampHint(builder) : c.hint);
    const line: CauseLine = { cause, text: c.text, hint, count };
    if (GO_MODULE_CAUSES.includes(cause)) {
      line.text = goModuleCauseText(cause, list);
      if (cause === "go-main-module" && commit) {
        line.text += ": they follow from the commits";
        line.hint = "none needed once the same commit is built";
      }
    } else if (cause === "base-image") {
      const digest = list.find((f) => f.field.includes(BASE_DIGEST));
      const name = list.find((f) => f.field.includes(BASE_NAME));
      line.text = digest
        ? `${c.text}: digest ${digest.a ?? "(none)"} → ${digest.b ?? "(none)"}`
        : name
        ? `base image named differently, the same digest: ${name.a ?? "(none)"} → ${
          name.b ?? "(none)"
        }`
        : c.text;
    } else if (cause === "commit") {
      line.text = `${c.text}: ${short(revision.a)} → ${short(revision.b)}`;
    } else if (cause === "timestamps") {
      const shift = commonShift(list, left);
      if (shift) {
        line.shift = shift;
        const rest = count - shift.count;
        line.text =
          `build time ${shift.a} → ${shift.b} in ${shift.count} places (${
            placesOf(list, left, shift)
          })` +
          (rest > 0 ? ` and ${rest} other times` : "");
        const fromCommit = commit && created.a !== null && created.b !== null &&
          sameSecond(created.a, shift.a) && sameSecond(created.b, shift.b);
        if (fromCommit) {
          line.text += ": the commit times, they follow from the commits";
          line.hint = "none needed once the same commit is built";
        }
      }
    } else if ((cause === "go-build-info" || cause === "go-build-id") && commit) {
      line.text += ": expected from a source change between the commits";
    } else if (cause === "go-build-info" && out.some((f) => GO_MODULE_CAUSES.includes(f.cause))) {
      line.text += ": follows from the Go module differences above";
    } else if (cause === "content" || cause === "files") {
      const paths = [...new Set(list.map((f) => f.path).filter((p) => p !== undefined))];
      const more = paths.length - 3 + (count - list.length);
      if (paths.length) {
        line.text += ` (${paths.slice(0, 3).join(", ")}${more > 0 ? ` and ${more} more` : ""})`;
      }
      if (commit) line.text += ": expected from a source change between the commits";
    } else if (cause === "config") {
      const fields = [...new Set(list.map((f) => f.field))];
      line.text += ` (${fields.slice(0, 3).join(", ")}${
        fields.length > 3 ? ` and ${fields.length - 3} more` : ""
      })`;
    }
    lines.push(line);
  }
  // A commit first, then the Go module differences (they explain the bytes), then by count.
  const rank = (l: CauseLine) =>
    l.cause === "commit"
      ? 0
      : GO_MODULE_CAUSES.includes(l.cause)
      ? 1 + GO_MODULE_CAUSES.indexOf(l.cause) / 10
      : 2;
  lines.sort((x, y) => rank(x) - rank(y) || y.count - x.count || (x.cause < y.cause ? -1 : 1));
  return { findings: out, causes: lines, builders };
}

/** A finding with the cause its evidence shows, and the builder's hint for build times. */
function refine(f: Finding, builder: Builder): Finding {
  const recause = (cause: CauseId, hint = CAUSES[cause].hint): Finding => ({
    ...f,
    cause,
    causeText: CAUSES[cause].text,
    hint,
  });
  if (f.scope === "config" && f.field === `config.Labels[${JSON.stringify(REVISION)}]`) {
    return recause("commit");
  }
  if (
    f.scope === "config" &&
    /^(container|container_config(\..*)?|config\.Image|config\.Hostname)$/.test(f.field)
  ) {
    return recause("builder-ids");
  }
  if (f.cause === "go-build-info" && f.detail?.kind === "go") {
    const fields = f.detail.buildInfo.map((b) => b.field);
    if (fields.includes("build DefaultGODEBUG") && !fields.includes("go")) {
      return recause("godebug");
    }
  }
  if (f.cause === "timestamps") return { ...f, hint: timestampHint(builder) };
  return f;
}

/** The (a, b) pair of times most timestamp findings share (those left out too), when at least two do. */
function commonShift(
  list: Finding[],
  omitted: readonly OmittedFindings[],
): CauseLine["shift"] | undefined {
  const counts = new Map<string, number>();
  for (const f of list) {
    const k = shiftKey(f);
    if (k) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const o of omitted) {
    for (const [k, n] of Object.entries(o.shifts ?? {})) counts.set(k, (counts.get(k) ?? 0) + n);
  }
  let best: [string, number] | undefined;
  for (const e of counts) if (!best || e[1] > best[1]) best = e;
  if (!best || best[1] < 2) return undefined;
  const [a, b] = best[0].split(" ").map((s) => iso(Number(s)));
  return { a, b, count: best[1] };
}

/** `"<secondsA> <secondsB>"` of a timestamp finding, or null when a side is not a time. */
function shiftKey(f: Finding): string | null {
  return timesKey(f.a, f.b);
}

/** `created, history (3), 8 mtimes`: where a shift was found. */
function placesOf(
  list: Finding[],
  omitted: readonly OmittedFindings[],
  shift: NonNullable<CauseLine["shift"]>,
): string {
  const key = `${Date.parse(shift.a) / 1000} ${Date.parse(shift.b) / 1000}`;
  const kinds = new Map<string, number>();
  const kindOf = (f: { scope: string; field: string }) =>
    f.scope === "file" || f.scope === "archive"
      ? (f.field === "mtime" ? "mtimes" : f.field)
      : f.field.startsWith("history[")
      ? "history"
      : f.field.replace(/^config\.Labels\[.*\]$/, "labels");
  for (const f of list) {
    if (shiftKey(f) !== key) continue;
    const kind = kindOf(f);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  for (const o of omitted) {
    const n = o.shifts?.[key] ?? 0;
    if (n) kinds.set(kindOf(o), (kinds.get(kindOf(o)) ?? 0) + n);
  }
  return [...kinds].map(([k, n]) => (n === 1 ? k : `${n} ${k}`)).join(", ");
}

const seconds = wholeSeconds;

function sameSecond(a: string, b: string): boolean {
  return seconds(a) !== null && seconds(a) === seconds(b);
}

function iso(s: number): string {
  return new Date(s * 1000).toISOString().replace(".000Z", "Z");
}

function label(config: unknown, key: string): string | null {
  const c = isObject(config) && isObject(config.config) ? config.config : null;
  const labels = c && isObject(c.Labels) ? c.Labels : null;
  const v = labels?.[key];
  return typeof v === "string" ? v : null;
}

function short(revision: string | null): string {
  return revision === null ? "(none)" : revision.slice(0, 12);
}
