/**
 * Which part of two Go build IDs differs, in plain words (DESIGN: "Go build
 * ID only": compile inputs vs link only).
 *
 * A Go binary's build ID has four parts (cmd/go/internal/work/buildid.go):
 *
 * ```
 * actionID(binary)/actionID(main.a)/contentID(main.a)/contentID(binary)
 * ```
 *
 * `actionID(main.a)` hashes what the main package was compiled from (its
 * source, the export data of its imports, compiler flags, the toolchain),
 * `contentID(main.a)` the compiled package, `actionID(binary)` what the link
 * step read (every linked package's content, `-ldflags`, the linker),
 * `contentID(binary)` the binary itself. The same main package in both with a
 * different link means the difference came in at link time (`-ldflags=-X`,
 * linker flags, another package's code); a different `actionID(main.a)`
 * means the compile inputs of the main package differ.
 *
 * ```ts
 * compareBuildIds("L1/M/C/B1", "L2/M/C/B2")!.verdict // "link"
 * ```
 *
 * @module
 */

/** The four parts' names, in order. */
export const BUILD_ID_PARTS = [
  "actionID(binary)",
  "actionID(main package)",
  "contentID(main package)",
  "contentID(binary)",
] as const;

/** What two build IDs say about where two builds parted. */
export interface BuildIdComparison {
  /** The names of the parts that differ (from {@linkcode BUILD_ID_PARTS}, or `build ID` for other shapes). */
  parts: string[];
  /**
   * `link`: the main package compiled the same, the link differs;
   * `compile`: the main package's compile inputs differ;
   * `compile-output`: same compile inputs, different compiled package (a compiler that is not deterministic);
   * `content`: same inputs, different binary bytes;
   * `unknown`: not the 4-part form of a Go binary.
   */
  verdict: "link" | "compile" | "compile-output" | "content" | "unknown";
  /** The verdict in plain words. */
  meaning: string;
}

const MEANINGS: Record<BuildIdComparison["verdict"], string> = {
  link:
    "link only: the main package compiled the same; the link step's inputs differ (-ldflags such as -X, linker flags, or the code of a linked package)",
  compile:
    "compile inputs: the main package was compiled from different inputs (its source, its imports, compiler flags or the Go toolchain)",
  "compile-output":
    "same compile inputs, different compiled main package: the compiler gave different output",
  content: "same link inputs, different binary bytes",
  unknown: "the build IDs are not both of the 4-part form of a Go binary",
};

/** Compares two Go build IDs part by part; `null` when they are equal or one is missing. */
export function compareBuildIds(a: string | null, b: string | null): BuildIdComparison | null {
  if (a === null || b === null || a === b) return null;
  const pa = a.split("/");
  const pb = b.split("/");
  if (pa.length !== 4 || pb.length !== 4) {
    return { parts: ["build ID"], verdict: "unknown", meaning: MEANINGS.unknown };
  }
  const parts = BUILD_ID_PARTS.filter((_, i) => pa[i] !== pb[i]);
  const verdict: BuildIdComparison["verdict"] = pa[1] !== pb[1]
    ? "compile"
    : pa[2] !== pb[2]
    ? "compile-output"
    : pa[0] !== pb[0]
    ? "link"
    : "content";
  return { parts: [...parts], verdict, meaning: MEANINGS[verdict] };
}
