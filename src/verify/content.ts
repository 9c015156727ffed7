/**
 * What differs inside a file whose content differs (DESIGN: verify): a Go binary
 * (ELF or Mach-O) is compared by build info, build ID (and which of its parts
 * differ), sections, the symbols that hold the differing bytes, the strings
 * stamped with `-ldflags -X` (both values; for stripped binaries the
 * printable strings that differ) and build paths that point at a build
 * machine (src/gobinary/go_binary.ts); a text file gets a truncated unified
 * diff; any other file its sizes and first differing offset.
 *
 * Pure over `RandomAccess` sources: the caller spools the two files to disk.
 *
 * @module
 */
import type { CauseId, Detail } from "./findings.ts";
import {
  type BuildInfoDifference,
  compareGoBinaries,
  type GoBinaryDiff,
} from "../gobinary/go_binary.ts";
import { isElfMagic } from "../gobinary/elf.ts";
import { isMachOMagic } from "../gobinary/macho.ts";
import { firstDifference, type RandomAccess } from "../gobinary/random_access.ts";
import { isText, unifiedDiff } from "./text_diff.ts";

/** Text files larger than this are compared as binaries (the diff would be cut anyway). */
export const TEXT_MAX = 1 << 20;

/** Options of `analyzeContent`. */
export interface AnalyzeOptions {
  /** Image path of the file, for the diff header. */
  path: string;
  /** Lines of unified diff to keep. */
  maxDiffLines?: number;
}

/** The cause and detail of a content difference. */
export interface ContentAnalysis {
  cause: CauseId;
  detail: Detail;
}

/** Analyzes two versions of one file. */
export async function analyzeContent(
  a: RandomAccess,
  b: RandomAccess,
  options: AnalyzeOptions,
): Promise<ContentAnalysis> {
  const [headA, headB] = await Promise.all([a.read(0, 4), b.read(0, 4)]);
  const exe = (h: Uint8Array) => isElfMagic(h) || isMachOMagic(h);
  if (exe(headA) && exe(headB)) {
    const diff = await compareGoBinaries(a, b);
    if (diff.buildInfo.a || diff.buildInfo.b) return goAnalysis(diff);
  }
  if (a.size <= TEXT_MAX && b.size <= TEXT_MAX) {
    const [ba, bb] = await Promise.all([a.read(0, a.size), b.read(0, b.size)]);
    if (isText(ba) && isText(bb)) {
      const decoder = new TextDecoder();
      const { diff, truncated } = unifiedDiff(decoder.decode(ba), decoder.decode(bb), {
        labelA: `a/${options.path}`,
        labelB: `b/${options.path}`,
        maxLines: options.maxDiffLines ?? 40,
      });
      return { cause: "content", detail: { kind: "text", diff, truncated } };
    }
  }
  const first = await firstDifference(a, b);
  return {
    cause: "content",
    detail: {
      kind: "binary",
      sizeA: first.sizeA,
      sizeB: first.sizeB,
      firstDifference: first.offset ?? -1,
    },
  };
}

/**
 * Cause of a Go binary difference, first match wins: build info (unless only
 * `-ldflags` differs and stamped strings explain it), strings stamped at link
 * time (`-ldflags -X`: named by the symbol table, or, stripped, printable
 * strings that differ while the build ID says the main package compiled the
 * same), build ID only, build paths that point at a build machine, else a
 * content change.
 */
export function goAnalysis(diff: GoBinaryDiff): ContentAnalysis {
  const stamps = diff.stamps;
  const strings = diff.strings;
  const linkOnly = diff.buildIdParts?.verdict === "link";
  const stripped = diff.symbols.source !== "symtab";
  const stampedStrings = stripped && linkOnly && strings.a.length + strings.b.length > 0;
  const onlyLdflags = diff.buildInfoDifferences.every((d) =>
    d.field === "build" && d.key === "-ldflags"
  );
  const paths = diff.buildPathVerdict.paths;
  let cause: CauseId = "content";
  if (diff.buildInfoDifferences.length > 0) {
    cause = onlyLdflags && (stamps.length > 0 || stampedStrings) ? "go-ldflags-x" : "go-build-info";
  } else if (stamps.length > 0 || stampedStrings) cause = "go-ldflags-x";
  else if (diff.onlyBuildIdDiffers) cause = "go-build-id";
  else if (paths.length > 0) cause = "build-paths";
  const symbols = diff.symbols;
  return {
    cause,
    detail: {
      kind: "go",
      buildInfo: diff.buildInfoDifferences.map((d) => ({
        field: d.field === "go" || d.field === "path" ? d.field : `${d.field} ${d.key}`,
        a: d.a ?? "",
        b: d.b ?? "",
        hint: buildInfoHint(d),
      })),
      buildIdA: diff.buildId.a ?? "",
      buildIdB: diff.buildId.b ?? "",
      sections: diff.sections.map((s) => s.name),
      buildPaths: paths,
      sizeA: diff.bytes.sizeA,
      sizeB: diff.bytes.sizeB,
      firstDifference: diff.bytes.offset ?? -1,
      ...(diff.format.a ? { format: diff.format.a } : {}),
      ...(stamps.length
        ? { stamps: stamps.map((s) => ({ ...s, hint: stampHint(s.a, s.b) })) }
        : {}),
      ...(stripped && strings.a.length + strings.b.length > 0 ? { strings } : {}),
      ...(symbols.count > 0
        ? {
          symbols: {
            source: symbols.source,
            count: symbols.count,
            names: symbols.symbols.map((s) => `${s.name} (${s.section})`),
          },
        }
        : {}),
      ...(diff.buildIdParts ? { buildIdParts: diff.buildIdParts } : {}),
    },
  };
}

/**
 * The fix for one stamped value: a clock reading (epoch seconds or
 * nanoseconds, a date) should come from the commit; a `git describe` output
 * differs with the tags present.
 */
export function stampHint(a: string | null, b: string | null): string {
  const values = [a, b].filter((v): v is string => v !== null);
  const clock = (v: string) => /^\d{9,20}$/.test(v) || /\d{4}-\d{2}-\d{2}/.test(v);
  // A tag (v1.2.3), a describe suffix (-3-gabc1234), or an abbreviated hash (with a letter: not a clock).
  const describe = (v: string) =>
    /^v?\d+\.\d+/.test(v) || /-g[0-9a-f]{7,40}(?:-dirty)?$/.test(v) ||
    (/^[0-9a-f]{7,40}(?:-dirty)?$/.test(v) && /[a-f]/.test(v));
  if (values.length && values.every(clock)) {
    return "derive it from vcs.time or SOURCE_DATE_EPOCH, not the clock";
  }
  // `git rev-parse --abbrev-ref HEAD` prints "HEAD" in a detached checkout (CI, a clone of a
  // commit): a branch name, not a clock.
  if (values.length === 2 && values.includes("HEAD")) {
    return 'a git branch name: a detached checkout stamps "HEAD"; build on the same branch, ' +
      "or stamp the revision (vcs.revision) instead of the branch";
  }
  if (values.length && values.every(describe)) {
    return "stamp the same commit with the same tags (git describe prints a tag, or a hash without one), or read the version from the build info (vcs.revision)";
  }
  return "derive it from vcs.time, a tag or SOURCE_DATE_EPOCH, not the clock";
}

/** The fix for one differing build info field (DESIGN: "Go build info differs": field by field). */
export function buildInfoHint(d: Pick<BuildInfoDifference, "field" | "key">): string {
  if (d.field === "go") return "pin go_version (GOTOOLCHAIN=go<X.Y.Z>)";
  if (d.field === "dep") return "pin dependencies: commit go.mod and go.sum";
  if (d.field === "path" || d.field === "mod") return "build the same main module and package";
  const hints: Record<string, string> = {
    "-trimpath": "build with -trimpath",
    "-ldflags": "use the same -ldflags, without build-time values",
    "-gcflags": "use the same -gcflags",
    "-asmflags": "use the same -asmflags",
    "-tags": "use the same build tags",
    "-buildmode": "use the same -buildmode",
    "-compiler": "use the same compiler",
    CGO_ENABLED: "set CGO_ENABLED=0",
    CGO_CFLAGS: "set CGO_ENABLED=0",
    CGO_LDFLAGS: "set CGO_ENABLED=0",
    GOOS: "pin GOOS/GOARCH",
    GOARCH: "pin GOOS/GOARCH",
    GOAMD64: "pin GOAMD64",
    GOARM: "pin GOARM",
    GOARM64: "pin GOARM64",
    GOEXPERIMENT: "use the same GOEXPERIMENT",
    "vcs.modified": "commit before building",
    "vcs.revision": "build the same commit",
    "vcs.time": "build the same commit",
    vcs: "build from the same kind of checkout",
  };
  return hints[d.key] ?? "";
}
