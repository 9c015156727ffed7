/**
 * What build says before and after build_cmd runs, when the image may not be the one the commit
 * gives: a dirty tree, build output left untracked, clock and host leaks in build_cmd and the
 * scripts it names, go.mod against the pinned Go (and whether go builds from vendor/).
 *
 * @module
 */
import { dirname } from "node:path";
import type { DirtyPath } from "../project/git.ts";
import { plural } from "../plural.ts";
import { scanLeaks, scriptsNamed } from "./leaks.ts";
import { parseGoModVersions } from "../project/go_mod.ts";
import { goModDisagreements, vendorByDefault } from "./toolchain.ts";

/**
 * The dirty-tree warning. Untracked paths that hold an artifact are build output
 * (a `build/` missing from .gitignore makes every second build differ): those are
 * named with the .gitignore line that fixes it.
 */
export function dirtyWarning(status: DirtyPath[], artifactSrcs: string[], root: string): string {
  const norm = (p: string) => p.replace(/^\.\//, "").replace(/\/+$/, "");
  const outputs = status.filter((d) =>
    d.untracked &&
    artifactSrcs.some((src) => {
      const s = norm(src), p = norm(d.path);
      return s === p || s.startsWith(p + "/");
    })
  );
  const shown = status.slice(0, 5).map((d) => `"${d.path}"`).join(", ");
  let text = `the git tree is dirty (${plural(status.length, "uncommitted path")}: ${shown}${
    status.length > 5 ? ", …" : ""
  }); Go stamps vcs.modified=true, so this image will differ from a build of the commit`;
  if (outputs.length) {
    const lines = outputs.map((d) => `"/${d.path}"`).join(", ");
    text += `. ${outputs.map((d) => `"${d.path}"`).join(", ")} ${
      outputs.length === 1 ? "is" : "are"
    } build output (${
      outputs.length === 1 ? "it holds an artifact" : "they hold artifacts"
    }): add ${lines} to "${root}/.gitignore" (one line each) and commit it`;
  }
  return text;
}

/** Untracked paths after build_cmd that were not there before it ran: its output, not ignored. */
export function newUntracked(before: DirtyPath[], after: DirtyPath[]): string[] {
  const seen = new Set(before.map((d) => d.path));
  return after.filter((d) => d.untracked && !seen.has(d.path)).map((d) => d.path);
}

/** The warning for build output that landed in the tree, with the .gitignore lines that fix it. */
export function untrackedOutputWarning(paths: string[], root: string): string {
  const shown = paths.slice(0, 5);
  return `build_cmd left ${plural(paths.length, "untracked path")} in the tree (${
    shown.map((p) => `"${p}"`).join(", ")
  }${paths.length > 5 ? ", …" : ""}): the next build sees a dirty tree, Go stamps ` +
    `vcs.modified=true and the image differs; add ${
      shown.map((p) => `"/${p}"`).join(", ")
    } to "${root}/.gitignore" (one line each) and commit it`;
}

/** build_cmd and the scripts it names in the project, read for clock and host leaks (leaks.ts). */
export async function leakWarnings(root: string, buildCmd: string): Promise<string[]> {
  const words = buildCmd.split(/[\s;&|()]+/).map((w) => w.replace(/^['"]|['"]$/g, ""));
  const candidates = [...words, "GNUmakefile", "makefile", "Makefile"]
    .map((w) => w.replace(/^\.\//, ""))
    .filter((w) => w !== "" && !w.startsWith("/") && !w.split("/").includes(".."));
  const files = new Set<string>();
  for (const c of new Set(candidates)) {
    const info = await Deno.stat(`${root}/${c}`).catch(() => null);
    // Scripts are small: a large file is data, not what build_cmd runs.
    if (info?.isFile && info.size < 1 << 20) files.add(c);
  }
  const scripts = await Promise.all(
    scriptsNamed(buildCmd, files).map(async (path) => ({
      path,
      text: await Deno.readTextFile(`${root}/${path}`).catch(() => ""),
    })),
  );
  return scanLeaks(buildCmd, scripts);
}

/**
 * go.mod's `go` and `toolchain` lines against the pin, and whether `go build` would build from
 * vendor/ (read before building: a disagreement is said before minutes of building).
 */
export async function readGoModFacts(
  root: string,
  pinned: string,
): Promise<{ vendor: boolean; warnings: string[] }> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${root}/go.mod`);
  } catch {
    return { vendor: false, warnings: [] };
  }
  const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
  const versions = parseGoModVersions(text);
  // A go.work in the module's folder or above governs it (cmd/go looks upward from the cwd).
  let goWork = false;
  for (let d = root; !goWork; d = dirname(d)) {
    goWork = await exists(`${d}/go.work`);
    if (dirname(d) === d) break;
  }
  return {
    vendor: vendorByDefault(versions, {
      modulesTxt: await exists(`${root}/vendor/modules.txt`),
      goWork,
    }),
    warnings: goModDisagreements(versions, pinned, `${root}/go.mod`),
  };
}
