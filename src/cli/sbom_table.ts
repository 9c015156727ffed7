/**
 * `r10e sbom` on a terminal: the SPDX document as a table people read (what is inside, which
 * version, where it was found), as syft prints by default. Pure: a document in, text out.
 *
 * @module
 */

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  primaryPackagePurpose?: string;
  hasFiles?: string[];
  comment?: string;
}

interface SpdxDocument {
  packages?: SpdxPackage[];
  files?: { SPDXID: string; fileName: string }[];
  relationships?: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

/** The table of `doc`'s packages: NAME, VERSION, TYPE, FOUND IN, sorted by name. */
export function sbomTable(doc: SpdxDocument): string {
  const files = new Map((doc.files ?? []).map((f) => [f.SPDXID, f.fileName]));
  const rel = doc.relationships ?? [];
  const builtFrom = new Map<string, string[]>(); // package → files generated from it
  const dependents = new Map<string, string[]>(); // package → packages depending on it
  for (const r of rel) {
    if (r.relationshipType === "GENERATED_FROM") {
      push(builtFrom, r.relatedSpdxElement, files.get(r.spdxElementId) ?? r.spdxElementId);
    } else if (r.relationshipType === "DEPENDS_ON") {
      push(dependents, r.relatedSpdxElement, r.spdxElementId);
    }
  }
  const where = (p: SpdxPackage, seen = new Set<string>()): string[] => {
    if (seen.has(p.SPDXID)) return [];
    seen.add(p.SPDXID);
    const found = [...(builtFrom.get(p.SPDXID) ?? [])];
    if (p.hasFiles?.length) found.push(folderOf(p.hasFiles.map((f) => files.get(f) ?? f)));
    for (const d of dependents.get(p.SPDXID) ?? []) {
      const parent = byId.get(d);
      if (parent) found.push(...where(parent, seen));
    }
    return found;
  };
  const packages = (doc.packages ?? []).filter((p) => p.primaryPackagePurpose !== "CONTAINER");
  const byId = new Map(packages.map((p) => [p.SPDXID, p]));
  const rows = packages.map((p) => [
    p.name,
    p.versionInfo ?? "",
    (p.primaryPackagePurpose ?? "").toLowerCase(),
    [...new Set(where(p))].sort().join(", "),
  ]).sort((a, b) => compare(a[0], b[0]) || compare(a[3], b[3]));
  const header = ["NAME", "VERSION", "TYPE", "FOUND IN"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  const image = (doc.packages ?? []).find((p) => p.primaryPackagePurpose === "CONTAINER");
  return (image ? `${image.name} ${image.versionInfo ?? ""}`.trimEnd() + "\n" : "") +
    [header, ...rows].map(line).join("\n") + "\n" +
    `${rows.length} ${rows.length === 1 ? "package" : "packages"}; ` +
    "the whole document: --format spdx|cyclonedx, or pipe the output\n";
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The one file, or the folder the files share. */
function folderOf(paths: string[]): string {
  if (paths.length === 1) return paths[0];
  let common = paths[0].split("/").slice(0, -1);
  for (const p of paths.slice(1)) {
    const parts = p.split("/");
    let i = 0;
    while (i < common.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return (common.join("/") || "") + "/";
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
