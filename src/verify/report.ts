/**
 * The human report of `verify`, read at a glance: the summary line, the
 * inputs and notes, one line per cause with its count and fix, then the details grouped by
 * place (archive, index, manifest, config, each layer) and path, then the consequences they
 * explain. Colors only when asked (main.ts asks on a terminal). Every text that comes from an
 * input (entry names, values, diffs) passes through `printable` (an image's names could hold
 * terminal escapes).
 * `--json` prints the `Report` itself (docs/verify-json.md).
 *
 * Pure.
 *
 * @module
 */
import { compareCodePoints } from "../code_point_order.ts";
import { printable } from "../printable.ts";
import { type Builder, BUILDER_NAMES, explain } from "./explain.ts";
import type { CauseSummary, Detail, Finding, Report } from "./findings.ts";
import { isGoModuleFinding } from "./sbom_diff.ts";
import { plural } from "../plural.ts";

/** Options of `formatReport`. */
export interface FormatOptions {
  /** ANSI colors (only on a terminal). */
  color?: boolean;
  /** Show every finding instead of folding many alike ones in a layer. */
  full?: boolean;
}

/** Alike findings (same field and cause in one layer) beyond this many are folded into one line. */
const FOLD = 8;

/** Formats a report as text for a terminal or a log. */
export function formatReport(report: Report, options: FormatOptions = {}): string {
  const c = colors(options.color === true);
  const out: string[] = [];
  const archiveDiffers = report.identical && report.ignored.count === 0 &&
    report.a.archiveSha256 !== "" &&
    report.b.archiveSha256 !== "" && report.a.archiveSha256 !== report.b.archiveSha256;
  out.push(
    report.identical
      ? c.green(`Images are ${report.summary}`) +
        (archiveDiffers ? " (the archive files differ: see the notes)" : "")
      : c.red(`Images ${report.summary}`),
  );
  for (const [label, info] of [["A", report.a], ["B", report.b]] as const) {
    const image = info.manifestDigest ? `manifest ${short(info.manifestDigest)}, ` : "";
    out.push(
      `  ${label}: ${p(info.input)} (${info.format}, ${info.compression}, ${p(info.platform)}): ` +
        `${image}image ID ${short(info.imageId)}, ${info.layers} layers, ${info.files} files` +
        (info.layersNotRead ? ` (${info.layersNotRead} layers both share not read)` : ""),
    );
  }
  for (const note of report.notes) out.push(c.dim(`  note: ${p(note)}`));

  if (report.findings.length > 0) {
    const causes = report.causes?.length
      ? report.causes
      : explain(report.findings, { a: undefined, b: undefined }).causes;
    const by = report.builders && report.builders.a === report.builders.b &&
        report.builders.a !== "unknown"
      ? ` (both built by ${builderName(report.builders.a)})`
      : report.builders && report.builders.a !== report.builders.b
      ? ` (A built by ${builderName(report.builders.a)}, B by ${builderName(report.builders.b)})`
      : "";
    out.push("", c.bold(`Causes and fixes${by}`));
    for (const line of causes) out.push(causeLine(line, c));
    // Go module differences above the byte-level findings they explain.
    const modules = report.findings.filter(isGoModuleFinding);
    if (modules.length > 0) {
      out.push("", c.bold("Go modules (what the bytes below follow from)"));
      for (const x of formatModules(modules, c)) out.push(x);
    }
    const left = new Map<string, number>();
    for (const k of report.omitted?.kinds ?? []) {
      left.set(`${placeTitle(k)}\0${k.field}\0${k.cause}`, k.count);
    }
    const bytes = report.findings.filter((f) => !isGoModuleFinding(f));
    for (const [title, group] of groupByPlace(bytes)) {
      out.push("", c.bold(p(title)));
      for (const x of formatGroup(group, c, options.full === true, title, left)) out.push(x);
    }
    if (report.omitted?.count) {
      out.push(
        c.dim(
          `  (${report.omitted.count} findings alike to those above are counted, not listed: ` +
            `r10e keeps the first ${report.omitted.perKind} of each field and cause per layer)`,
        ),
      );
    }
  }
  if (report.consequences.length > 0) {
    out.push("", c.bold("Consequences (explained by the findings above)"));
    for (const q of report.consequences) {
      const label = q.layer !== undefined
        ? `layer ${q.layer} ${q.field.replace(/^layer /, "")}`
        : q.field.startsWith(q.scope) || q.scope === "manifest"
        ? q.field
        : `${q.scope} ${q.field}`;
      out.push(
        `  ${p(label)}: ${value(q.a)} → ${value(q.b)}` + c.dim(` because of ${p(q.because)}`),
      );
    }
  }
  if (report.ignored.count > 0) {
    const list = Object.entries(report.ignored.byCause).map(([k, n]) => `${k} (${n})`).join(", ");
    out.push("", c.dim(`Ignored ${plural(report.ignored.count, "difference")}: ${list}`));
  }
  return out.join("\n") + "\n";
}

/** `timestamps (12): build time … in 12 places (…) → set SOURCE_DATE_EPOCH…`. */
function causeLine(line: CauseSummary, c: Colors): string {
  const hint = line.hint ? ` → ${c.bold(p(line.hint))}` : "";
  return `  ${c.yellow(line.cause)} (${line.count}): ${p(line.text)}${hint}`;
}

function builderName(id: string): string {
  return BUILDER_NAMES[id as Builder] ?? id;
}

/** Escapes control characters of text that comes from an input. */
function p(s: string): string {
  return printable(s);
}

function groupByPlace(findings: Finding[]): Map<string, Finding[]> {
  const groups = new Map<string, Finding[]>();
  const order: Record<string, number> = {
    archive: 0,
    index: 1,
    manifest: 2,
    config: 3,
    layer: 4,
    file: 4,
  };
  const sorted = [...findings].sort((x, y) =>
    compareCodePoints(x.platform ?? "", y.platform ?? "") ||
    order[x.scope] - order[y.scope] || (x.layer ?? 0) - (y.layer ?? 0)
  );
  for (const f of sorted) {
    const title = placeTitle(f);
    const list = groups.get(title) ?? [];
    list.push(f);
    groups.set(title, list);
  }
  return groups;
}

/** `Layer 2`, `linux/arm64: Config`: where a finding is, as a group title. */
function placeTitle(f: { scope?: string; layer?: number; platform?: string }): string {
  const place = f.layer !== undefined
    ? `Layer ${f.layer}`
    : { archive: "Archive", index: "Index (index.json)", manifest: "Manifest", config: "Config" }[
      f.scope as "archive"
    ] ?? "Archive";
  return f.platform ? `${f.platform}: ${place}` : place;
}

function formatGroup(
  group: Finding[],
  c: Colors,
  full: boolean,
  title = "",
  omitted = new Map<string, number>(),
): string[] {
  const out: string[] = [];
  // Fold many alike file findings (e.g. 10,000 mtimes) into one line.
  const alike = new Map<string, Finding[]>();
  for (const f of group) {
    if (f.scope !== "file" || f.detail) continue;
    const key = `${f.field}\0${f.cause}`;
    const list = alike.get(key) ?? [];
    list.push(f);
    alike.set(key, list);
  }
  const folded = new Set<Finding>();
  const more = (f: Finding) => omitted.get(`${title}\0${f.field}\0${f.cause}`) ?? 0;
  if (!full) {
    for (const list of alike.values()) {
      if (list.length <= FOLD) continue;
      for (const f of list) folded.add(f);
      const f = list[0];
      out.push(
        `  ${p(f.field)} differs on ${list.length + more(f)} entries ${
          c.yellow(`[${f.cause}]`)
        }, e.g. ` +
          `${p(f.path ?? "")}: ${c.red(value(f.a))} → ${c.green(value(f.b))}`,
      );
    }
  }
  let lastPath: string | undefined;
  for (const f of group) {
    if (folded.has(f)) continue;
    let indent = "  ";
    if (
      f.scope === "file" || (f.scope === "archive" && f.path !== undefined && f.field !== "order")
    ) {
      if (f.path !== lastPath) out.push(`  ${c.bold(p("/" + f.path))}`);
      lastPath = f.path;
      indent = "    ";
    } else {
      lastPath = undefined;
    }
    const at = f.field === "order" && f.path ? ` (at ${p(f.path)})` : "";
    const what = f.field === "added" || f.field === "removed"
      ? `${f.field}: ${value(f.a ?? f.b)}`
      : `${p(f.field)}${at}: ${c.red(value(f.a))} → ${c.green(value(f.b))}`;
    out.push(`${indent}${what} ${c.yellow(`[${f.cause}]`)}`);
    if (f.detail) { for (const x of formatDetail(f.detail, indent + "  ", c)) out.push(x); }
  }
  if (full) {
    for (const list of alike.values()) {
      const n = more(list[0]);
      if (n) out.push(`  … and ${n} more ${p(list[0].field)} differences [${list[0].cause}]`);
    }
  }
  return out;
}

function formatDetail(d: Detail, indent: string, c: Colors): string[] {
  const out: string[] = [];
  if (d.kind === "text") {
    for (const raw of d.diff.trimEnd().split("\n")) {
      const line = p(raw);
      const colored = line.startsWith("+") && !line.startsWith("+++")
        ? c.green(line)
        : line.startsWith("-") && !line.startsWith("---")
        ? c.red(line)
        : line;
      out.push(indent + colored);
    }
  } else if (d.kind === "binary") {
    out.push(
      `${indent}binary: ${d.sizeA} → ${d.sizeB} bytes, first difference at offset ${d.firstDifference}`,
    );
  } else if (d.kind === "go") {
    const format = d.format === "macho" ? " (Mach-O)" : d.format === "elf" ? " (ELF)" : "";
    out.push(
      `${indent}Go binary${format}: ${d.sizeA} → ${d.sizeB} bytes, first difference at offset ${d.firstDifference}`,
    );
    for (const s of d.stamps ?? []) {
      const q = (v: string | null) => (v === null ? "(none)" : JSON.stringify(v));
      out.push(
        `${indent}  ${s.symbol}: ${c.red(q(s.a))} → ${c.green(q(s.b))} (-ldflags -X)` +
          (s.hint ? ` → ${c.bold(s.hint)}` : ""),
      );
    }
    if (d.strings) {
      const list = (v: string[]) => v.map((x) => JSON.stringify(x)).join(", ") || "(none)";
      out.push(
        `${indent}  strings that differ: ${c.red(list(d.strings.a))} → ${
          c.green(list(d.strings.b))
        }`,
      );
    }
    for (const f of d.buildInfo) {
      out.push(
        `${indent}  build info ${p(f.field)}: ${c.red(p(f.a) || '""')} → ${
          c.green(p(f.b) || '""')
        }` + (f.hint ? ` → ${c.bold(p(f.hint))}` : ""),
      );
    }
    if (d.buildIdA !== d.buildIdB) {
      out.push(`${indent}  build ID: ${c.red(p(d.buildIdA))} → ${c.green(p(d.buildIdB))}`);
    }
    if (d.buildIdParts) {
      out.push(
        `${indent}  build ID parts that differ: ${
          d.buildIdParts.parts.join(", ")
        }: ${d.buildIdParts.meaning}`,
      );
    }
    if (d.sections.length) {
      out.push(`${indent}  sections that differ: ${d.sections.join(", ")}`);
    }
    if (d.symbols) {
      const more = d.symbols.count > d.symbols.names.length ? ", …" : "";
      const from = d.symbols.source === "pclntab" ? ", functions from the pclntab" : "";
      out.push(
        `${indent}  symbols that differ (${d.symbols.count}${from}): ${
          d.symbols.names.join(", ")
        }${more}`,
      );
    }
    if (d.buildPaths.length) {
      out.push(
        `${indent}  build paths in the binary: ${p(d.buildPaths.slice(0, 5).join(", "))}`,
      );
    }
  }
  return out;
}

/** `/app/server` then one line per module difference: `golang.org/x/sync: v0.19.0 → v0.20.0 (upgraded)`. */
function formatModules(findings: Finding[], c: Colors): string[] {
  const out: string[] = [];
  let last: string | undefined;
  for (const f of findings) {
    const title = (f.platform ? `${f.platform}: ` : "") + "/" + (f.path ?? "");
    if (title !== last) out.push(`  ${c.bold(p(title))}`);
    last = title;
    const name = f.field.replace(/^go (dependency |build )?/, "");
    const change = f.detail?.kind === "go-module"
      ? ` (${f.detail.change === "sum" ? "same version, other h1: sum" : f.detail.change})`
      : "";
    const multi = (v: unknown) => (typeof v === "string" ? v.replace(/\n/g, " ") : v);
    out.push(
      `    ${p(name)}: ${c.red(value(multi(f.a)))} → ${c.green(value(multi(f.b)))}${change} ` +
        c.yellow(`[${f.cause}]`),
    );
    if (f.detail?.kind === "go-module" && f.detail.change !== "sum") {
      const sum = (m: { sum: string; replace?: { sum: string } } | null) =>
        m ? (m.replace ? m.replace.sum : m.sum) || "(none)" : "(none)";
      const [x, y] = [sum(f.detail.a), sum(f.detail.b)];
      if (x !== y) out.push(c.dim(`      sums: ${p(x)} → ${p(y)}`));
    }
  }
  return out;
}

function short(digest: string): string {
  return digest ? digest.replace(/(sha256:[0-9a-f]{12})[0-9a-f]{52}/g, "$1…") : "none";
}

/** A value on one line: strings as they are (digests shortened), others as JSON, absent as `(none)`. */
function value(v: unknown): string {
  if (v === null || v === undefined) return "(none)";
  const s = typeof v === "string" && v !== "" ? short(v) : short(JSON.stringify(v));
  return printable(s.length > 200 ? s.slice(0, 199) + "…" : s);
}

type Colors = Record<"red" | "green" | "yellow" | "bold" | "dim", (s: string) => string>;

function colors(on: boolean): Colors {
  const wrap = (code: number, end: number) => (s: string) =>
    on ? `\x1b[${code}m${s}\x1b[${end}m` : s;
  return {
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    bold: wrap(1, 22),
    dim: wrap(2, 22),
  };
}
