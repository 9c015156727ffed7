/**
 * From differences to causes (DESIGN: verify): collapses the difference tree so
 * that a digest that differs only because something below it differs is a
 * consequence, not a finding; names the cause of every leaf; drops what the
 * user chose to ignore.
 *
 * Pure.
 *
 * @module
 */
import { globMatch } from "./glob.ts";
import { GO_MODULE_CAUSES } from "./sbom_diff.ts";
import {
  type CauseId,
  CAUSES,
  type Consequence,
  type DiffNode,
  type Finding,
  type IgnoreOptions,
  type OmittedFindings,
} from "./findings.ts";

/** The causes `--ignore` accepts, by the name the user types. */
export const IGNORABLE: Readonly<Record<string, CauseId>> = {
  timestamps: "timestamps",
  owner: "owner",
  order: "order",
  compression: "compression",
  "config-encoding": "config-encoding",
  "manifest-encoding": "manifest-encoding",
};

/** Findings and consequences of a difference tree. */
export interface Collapsed {
  findings: Finding[];
  /** Findings counted, not kept (beyond the first of their kind): see `DiffNode.omitted`. */
  omitted: OmittedFindings[];
  consequences: Consequence[];
  ignored: { count: number; byCause: Partial<Record<CauseId, number>> };
}

/**
 * Walks the tree: leaves become findings with their cause, inner nodes whose
 * children still differ become consequences; a node whose children are all
 * ignored is ignored too. Shared nodes (layers under both the manifest and
 * `rootfs.diff_ids`) are visited once.
 */
export function collapse(root: DiffNode | null, ignore: IgnoreOptions): Collapsed {
  const out: Collapsed = {
    findings: [],
    omitted: [],
    consequences: [],
    ignored: { count: 0, byCause: {} },
  };
  if (!root) return out;
  const seen = new Map<DiffNode, boolean>();
  const causes = new Set(ignore.causes);

  /** Returns whether the node still differs after ignoring. */
  function visit(node: DiffNode): boolean {
    const known = seen.get(node);
    if (known !== undefined) return known;
    let differs: boolean;
    if (node.children.length > 0 || node.omitted || node.ignoredBelow) {
      const below = node.children.map(visit);
      differs = below.some((d) => d);
      for (const [k, n] of Object.entries(node.ignoredBelow?.byCause ?? {})) {
        const cause = k as CauseId;
        out.ignored.count += n;
        out.ignored.byCause[cause] = (out.ignored.byCause[cause] ?? 0) + n;
      }
      for (const o of node.omitted ?? []) {
        if (causes.has(o.cause)) {
          out.ignored.count += o.count;
          out.ignored.byCause[o.cause] = (out.ignored.byCause[o.cause] ?? 0) + o.count;
        } else {
          out.omitted.push(o);
          differs = true;
        }
      }
      if (differs) {
        out.consequences.push({
          ...where(node),
          because: because(
            node.children.filter((_, i) => below[i]),
            (node.omitted ?? []).some((o) => !causes.has(o.cause)),
          ),
        });
      }
    } else {
      const cause = node.cause ?? node.unexplained ?? "content";
      const ignoredPath = node.scope === "file" && node.path !== undefined &&
        ignore.paths.some((g) => globMatch(g, node.path!));
      if (causes.has(cause) || ignoredPath) {
        out.ignored.count++;
        out.ignored.byCause[cause] = (out.ignored.byCause[cause] ?? 0) + 1;
        differs = false;
      } else {
        const c = CAUSES[cause];
        const finding: Finding = { ...where(node), cause, causeText: c.text, hint: c.hint };
        if (node.detail) finding.detail = node.detail;
        out.findings.push(finding);
        differs = true;
      }
    }
    seen.set(node, differs);
    return differs;
  }
  visit(root);
  // Consequences were pushed bottom-up; show the outermost first, layers in order.
  const rank = { archive: 0, index: 1, manifest: 2, config: 3, layer: 4, file: 5 };
  out.consequences.reverse().sort((x, y) =>
    rank[x.scope] - rank[y.scope] || (x.layer ?? 0) - (y.layer ?? 0)
  );
  return out;
}

function where(node: DiffNode) {
  const w: Omit<Consequence, "because"> = {
    scope: node.scope,
    field: node.field,
    a: node.a,
    b: node.b,
  };
  if (node.layer !== undefined) w.layer = node.layer;
  if (node.path !== undefined) w.path = node.path;
  return w;
}

/** `config, layer 1 (2 files)`: what explains a consequence. */
function because(children: DiffNode[], more = false): string {
  const parts: string[] = [];
  const files = new Map<number, Set<string>>();
  const archive = new Set<string>();
  for (const c of children) {
    if (c.scope === "file") {
      const set = files.get(c.layer ?? -1) ?? new Set();
      set.add(c.path ?? "");
      files.set(c.layer ?? -1, set);
    } else if (c.scope === "archive" && c.path !== undefined && c.field !== "order") {
      archive.add(c.path);
    } else if (c.scope === "layer" && c.field === "layer digest") {
      parts.push(`layer ${c.layer}`);
    } else if (c.field === "image ID" && c.scope === "config") {
      parts.push("config");
    } else if (
      c.scope === "manifest" && (c.field === "manifest digest" || c.field === "image ID")
    ) {
      parts.push("image");
    } else if (c.scope === "layer") {
      parts.push(`layer ${c.layer} ${c.field}`);
    } else {
      parts.push(c.path ? `${c.scope} ${c.path} ${c.field}` : `${c.scope} ${c.field}`);
    }
  }
  for (const [, set] of files) {
    const n = set.size === 1 ? `1 file` : `${set.size} files`;
    parts.push(more ? `more than ${n}` : n);
  }
  if (more && files.size === 0) parts.push("files");
  if (archive.size) {
    parts.push(archive.size === 1 ? "1 archive entry" : `${archive.size} archive entries`);
  }
  const unique = [...new Set(parts)];
  return unique.length > 4
    ? `${unique.slice(0, 3).join(", ")} and ${unique.length - 3} more`
    : unique.join(", ");
}

/**
 * The one-line summary: `identical` or `differ: 3 findings: timestamps (2), owner (1)`;
 * `omitted` findings (counted, not kept) count too.
 */
export function summarize(
  findings: Finding[],
  ignoredCount: number,
  omitted: readonly OmittedFindings[] = [],
): string {
  if (findings.length === 0 && omitted.length === 0) {
    return ignoredCount > 0
      ? `identical (ignoring ${ignoredCount} difference${ignoredCount === 1 ? "" : "s"})`
      : "identical";
  }
  const counts = new Map<CauseId, number>();
  for (const f of findings) counts.set(f.cause, (counts.get(f.cause) ?? 0) + 1);
  let n = findings.length;
  for (const o of omitted) {
    counts.set(o.cause, (counts.get(o.cause) ?? 0) + o.count);
    n += o.count;
  }
  // A commit first, then the Go module causes: they explain the byte-level ones (sbom_diff.ts).
  const goFirst = (c: CauseId) => (c === "commit" ? 0 : GO_MODULE_CAUSES.includes(c) ? 1 : 2);
  const list = [...counts].sort((x, y) =>
    goFirst(x[0]) - goFirst(y[0]) || y[1] - x[1] || (x[0] < y[0] ? -1 : 1)
  )
    .map(([cause, n]) => `${cause} (${n})`).join(", ");
  return `differ: ${n} finding${n === 1 ? "" : "s"}: ${list}`;
}
