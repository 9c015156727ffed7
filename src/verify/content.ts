/**
 * What differs inside a file whose content differs (DESIGN: verify): a Go binary
 * is compared by build info, build ID, ELF sections and leaked build paths
 * (src/gobinary/go_binary.ts); a text file gets a truncated unified diff; any other file
 * its sizes and first differing offset.
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
  if (isElfMagic(headA) && isElfMagic(headB)) {
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

/** Cause of a Go binary difference: build info first, then build ID only, then leaked paths. */
export function goAnalysis(diff: GoBinaryDiff): ContentAnalysis {
  // The project's own paths first: GOROOT paths only say that -trimpath is missing.
  const leaked = [...diff.buildPaths.a.examples, ...diff.buildPaths.b.examples]
    .sort((x, y) => Number(x.kind === "goroot") - Number(y.kind === "goroot"))
    .map((p) => p.path);
  let cause: CauseId = "content";
  if (diff.buildInfoDifferences.length > 0) cause = "go-build-info";
  else if (diff.onlyBuildIdDiffers) cause = "go-build-id";
  else if (diff.buildPaths.a.count + diff.buildPaths.b.count > 0) cause = "build-paths";
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
      buildPaths: [...new Set(leaked)],
      sizeA: diff.bytes.sizeA,
      sizeB: diff.bytes.sizeB,
      firstDifference: diff.bytes.offset ?? -1,
    },
  };
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
