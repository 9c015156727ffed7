/**
 * The pure part of `r10e check`: the conditions the two builds differ in, the
 * comparison with a digest or a recorded expectation, and the text report.
 * No `Deno.*` here (STYLE: pure core); check.ts does the I/O.
 *
 * @module
 */
import type { Report } from "../verify/findings.ts";
import { formatReport } from "../verify/report.ts";
import { printable } from "../printable.ts";
import type { RecordedDigests } from "../project/digests.ts";

/** One condition and its value in each build, or why it was not varied. */
export interface Condition {
  name: string;
  a: string;
  b: string;
  /** Set when the condition is the same in both builds: why. */
  notVaried?: string;
  /** What the variation reaches, or why it reaches less than it seems. */
  note?: string;
}

/** The digests of one build, as `r10e build --json` prints them. */
export interface BuildDigests {
  label: "A" | "B";
  mode: "host" | "docker";
  archivePath: string;
  /** Hex, without `sha256:` (as build prints it). */
  archiveSha256: string;
  imageId: string;
  manifestDigest: string;
  /** The image index digest of a several-platform build. */
  indexDigest?: string;
  revision: string | null;
}

/** What the build was compared with, besides the other build. */
export interface ReferenceOutcome {
  kind: "digest" | "image" | "recorded";
  /** As the user gave it, or the digests.json path. */
  text: string;
  matches: boolean;
  /** One line: what matched, or both sides of what did not. */
  detail: string;
  /** verify's report against an image reference (archive, layout, registry). */
  report?: Report;
  /** When it differs and no image was compared: the one command that shows why. */
  next?: string;
}

/** Everything `check` found out. */
export interface CheckResult {
  commit: string;
  /** Uncommitted paths of the working copy (check built the commit, not these). */
  dirty: string[];
  conditions: Condition[];
  builds: [BuildDigests, BuildDigests];
  /** Only when every digest of `differing` is equal and verify found the images identical. */
  reproducible: boolean;
  /** The digests of A and B that differ (see `differingDigests`). */
  differing: string[];
  /** verify's report of A against B. */
  report: Report;
  reference: ReferenceOutcome | null;
  /** Remarks: a digests.json recorded for another commit, … */
  notes: string[];
}

/** The exit code of a check: 0 reproducible and equal to the reference, 1 otherwise. */
export function checkExitCode(result: CheckResult): 0 | 1 {
  return result.reproducible && (result.reference?.matches ?? true) ? 0 : 1;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * The digests two builds disagree on: the index and manifest digests (what people pin), the
 * image ID, and the archive sha256 when the archives must be equal too: from format 5 on an
 * archive holds the image alone; in format 4 it also holds the provenance, which records the
 * build mode, so a host and a docker build's archives differ by design.
 */
export function differingDigests(
  a: BuildDigests,
  b: BuildDigests,
  formatVersion: number,
): string[] {
  const out: string[] = [];
  if ((a.indexDigest ?? null) !== (b.indexDigest ?? null)) out.push("index digest");
  if (a.manifestDigest !== b.manifestDigest) out.push("manifest digest");
  if (a.imageId !== b.imageId) out.push("image ID");
  if ((formatVersion >= 5 || a.mode === b.mode) && a.archiveSha256 !== b.archiveSha256) {
    out.push("archive sha256");
  }
  return out;
}

/** Whether REFERENCE is a bare digest (`sha256:<64 hex>`) rather than an image. */
export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

/**
 * A digest reference against a build: it matches when it is the manifest digest or the image
 * ID (the archive's own sha256 is accepted too, as `r10e build` prints it).
 */
export function compareDigest(digest: string, build: BuildDigests): ReferenceOutcome {
  const ours: [string, string][] = [
    ...(build.indexDigest ? [["index digest", build.indexDigest] as [string, string]] : []),
    ["manifest digest", build.manifestDigest],
    ["image ID", build.imageId],
    ["archive sha256", `sha256:${build.archiveSha256}`],
  ];
  const hit = ours.find(([, d]) => d === digest);
  return {
    kind: "digest",
    text: digest,
    matches: hit !== undefined,
    detail: hit
      ? `${digest} is the ${hit[0]} of the rebuilt image`
      : `expected ${digest} (the reference), but the rebuilt image has manifest digest ` +
        `${build.manifestDigest} and image ID ${build.imageId}`,
  };
}

/** The recorded expectation against a build of its commit. */
export function compareRecorded(
  recorded: RecordedDigests,
  build: BuildDigests,
  file: string,
  /** The format this r10e writes (a recording of another format is expected to differ). */
  formatVersion: number = recorded.format_version,
): ReferenceOutcome {
  const rows: [string, string, string][] = [
    ...(recorded.index_digest || build.indexDigest
      ? [[
        "index digest",
        recorded.index_digest ?? "none",
        build.indexDigest ?? "none",
      ] as [string, string, string]]
      : []),
    ["manifest digest", recorded.manifest_digest, build.manifestDigest],
    ["image ID", recorded.image_id, build.imageId],
  ];
  // The archive bytes depend on the outer format: compared only for the same one (check writes tar.gz).
  if (recorded.archive_format === "tar.gz") {
    rows.push(["archive sha256", recorded.archive_sha256, build.archiveSha256]);
  }
  const differ = rows.filter(([, r, b]) => r !== b);
  const detail = differ.map(([n, r, b]) => `${n}: recorded ${r}, rebuilt ${b}`).join("; ");
  return {
    kind: "recorded",
    text: file,
    matches: differ.length === 0,
    detail: differ.length === 0
      ? `equal to ${file} (${rows.map(([n]) => n).join(", ")})`
      : detail + recordedCause(recorded, build, differ.map(([n]) => n), formatVersion),
  };
}

/** What the differing digests of a recorded expectation say, as a sentence after the digests. */
function recordedCause(
  recorded: RecordedDigests,
  build: BuildDigests,
  differ: string[],
  formatVersion: number,
): string {
  if (recorded.format_version !== formatVersion) {
    return `. It was recorded with image format ${recorded.format_version} and this r10e writes ` +
      `format ${formatVersion}: the digests change with the format; record again with ` +
      "`r10e build --record`";
  }
  if (!differ.includes("image ID") && !differ.includes("manifest digest")) {
    return differ.includes("index digest")
      ? ". This platform's image is the same: another platform's image or the index differs"
      : ". The image is the same (manifest digest and image ID): only the archive's bytes differ";
  }
  if (!differ.includes("image ID")) {
    return `. Same image ID ${build.imageId}: the same config and layer contents, packed into ` +
      "other layer blobs (another compression)";
  }
  return ". The image ID differs: the config or a layer's content differs";
}

/** The first line of the report: the answer. */
export function verdict(result: CheckResult): string {
  const commit = result.commit.slice(0, 12);
  if (!result.reproducible) {
    const what = result.report.identical
      ? `their ${result.differing.join(", ")} differ${result.differing.length === 1 ? "s" : ""}`
      : result.report.summary;
    return `NOT REPRODUCIBLE: two builds of commit ${commit} gave different images (${what})`;
  }
  const ref = result.reference;
  if (ref && !ref.matches) {
    return `DIFFERS FROM THE REFERENCE: two builds of commit ${commit} agree, but not with ${ref.text}`;
  }
  return `REPRODUCIBLE: two builds of commit ${commit} under different conditions gave the same image` +
    (ref ? `, equal to ${ref.text}` : "");
}

/** The whole text report: verdict, notes, conditions, digests, then verify's causes if any. */
export function formatCheck(result: CheckResult): string {
  const p = (s: string) => printable(s);
  const out: string[] = [p(verdict(result))];
  if (result.dirty.length) {
    const shown = result.dirty.slice(0, 5).map((d) => `"${d}"`).join(", ");
    out.push(
      p(
        `note: the working tree is dirty (${shown}${result.dirty.length > 5 ? ", …" : ""}): ` +
          `check built the commit ${result.commit.slice(0, 12)}, not the working copy`,
      ),
    );
  }
  for (const n of result.notes) out.push(p(`note: ${n}`));
  out.push("", "Conditions (A vs B):");
  const width = Math.max(...result.conditions.map((c) => c.name.length));
  for (const c of result.conditions) {
    const name = c.name.padEnd(width);
    out.push(
      p(c.notVaried ? `  ${name}  not varied: ${c.notVaried}` : `  ${name}  ${c.a}  vs  ${c.b}`),
    );
    if (c.note) out.push(p(`  ${"".padEnd(width)}    (${c.note})`));
  }
  out.push("", "Digests:");
  for (const b of result.builds) {
    out.push(
      `  ${b.label} (${b.mode}): manifest ${b.manifestDigest}`,
      `         image ID ${b.imageId}`,
      `         archive sha256:${b.archiveSha256}`,
    );
  }
  const ref = result.reference;
  if (ref) {
    out.push("", p(`Reference ${ref.text}: ${ref.matches ? "matches" : "differs"}`));
    out.push(p(`  ${ref.detail}`));
    if (ref.next) out.push(p(`  to see why: ${ref.next}`));
  }
  if (!result.reproducible) {
    out.push("", "verify A B:", formatReport(result.report).trimEnd());
    if (result.report.identical) {
      out.push(
        p(
          `  verify finds the same content, but check is strict: the ${
            result.differing.join(", ")
          } must be equal`,
        ),
      );
    }
  }
  if (ref?.report && !ref.matches) {
    out.push("", `verify A ${p(ref.text)}:`, formatReport(ref.report).trimEnd());
  }
  return out.join("\n") + "\n";
}
