/**
 * Every import of src/ runs down the layers docs/architecture.md describes: a folder imports only
 * the folders its row of `MAY_IMPORT` names, and nothing but src/main.ts and src/cli/ imports
 * src/cli/. Tests import from anywhere and are not read.
 *
 * @module
 */
import { assertEquals } from "./_assert.ts";
import { REPO } from "./_cli.ts";

/** "." is the files directly in src/ (errors, bytes, atomic writer and other helpers). */
const BELOW_CORE = [".", "tar", "image", "gobinary"];

/** The folders of src/ each folder may import, besides itself; docs/architecture.md draws them. */
const MAY_IMPORT: Record<string, string[]> = {
  ".": [],
  "tar": ["."],
  "gobinary": ["."],
  "image": [".", "tar"],
  "pinned": [".", "tar", "image"],
  "project": [".", "image"],
  "registry": [".", "tar", "image"],
  "config": [".", "image", "registry"],
  "cp": [...BELOW_CORE, "registry"],
  "sbom": [...BELOW_CORE, "registry", "config", "pinned", "project"],
  "verify": [...BELOW_CORE, "registry", "sbom"],
  "init": [...BELOW_CORE, "config", "pinned", "project", "sbom"],
  "build": [...BELOW_CORE, "registry", "config", "pinned", "project", "sbom"],
  "check": [...BELOW_CORE, "registry", "config", "project", "verify"],
  "cli": [
    ...BELOW_CORE,
    ...[
      "registry",
      "config",
      "pinned",
      "project",
      "sbom",
      "verify",
      "cp",
      "init",
      "build",
      "check",
    ],
  ],
};

/** The folder of src/ that `path` (relative to the repository) is in: "." for src/ itself. */
function folderOf(path: string): string {
  const rest = path.slice("src/".length);
  const slash = rest.indexOf("/");
  return slash < 0 ? "." : rest.slice(0, slash);
}

/** A folder of `MAY_IMPORT` as a path. */
function named(folder: string): string {
  return folder === "." ? "src/" : `src/${folder}/`;
}

/** Why `from` may not import `to` (both relative to the repository), or undefined when it may. */
export function layerViolation(from: string, to: string): string | undefined {
  if (!to.startsWith("src/")) return undefined;
  const source = from === "src/main.ts" ? "main" : folderOf(from);
  const target = folderOf(to);
  if (source === "main" || source === target) return undefined;
  if (to === "src/main.ts") return `${from} imports src/main.ts, which only the runtime starts`;
  const allowed = MAY_IMPORT[source];
  if (allowed === undefined) {
    return `${from} is in ${named(source)}, which has no row in MAY_IMPORT`;
  }
  if (!allowed.includes(target)) {
    return `${from} imports ${to}, but ${named(source)} may not import ${named(target)}`;
  }
  return undefined;
}

/** The relative module specifiers `source` imports or re-exports, static or dynamic. */
export function relativeImports(source: string): string[] {
  const out: string[] = [];
  const pattern = /(?:\bfrom|\bimport\s*\(?)\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of source.matchAll(pattern)) out.push(match[1]);
  return out;
}

/** Resolves `specifier` against the file `from`, both relative to the repository. */
function resolve(from: string, specifier: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const piece of specifier.split("/")) {
    if (piece === "..") parts.pop();
    else if (piece !== ".") parts.push(piece);
  }
  return parts.join("/");
}

/** The product modules of src/, relative to the repository: no tests, no test fixtures. */
async function productModules(dir = "src"): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${REPO}/${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await productModules(path));
    else if (/\.ts$/.test(entry.name) && !/_test\.ts$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

Deno.test("layers: the rule refuses an import that runs up and allows one that runs down", () => {
  assertEquals(layerViolation("src/build/build.ts", "src/image/writer.ts"), undefined);
  assertEquals(layerViolation("src/cli/build.ts", "src/build/build.ts"), undefined);
  assertEquals(
    layerViolation("src/build/build.ts", "src/check/check.ts"),
    "src/build/build.ts imports src/check/check.ts, but src/build/ may not import src/check/",
  );
  assertEquals(
    layerViolation("src/sbom/model.ts", "src/build/build.ts"),
    "src/sbom/model.ts imports src/build/build.ts, but src/sbom/ may not import src/build/",
  );
  assertEquals(
    layerViolation("src/verify/verify.ts", "src/cli/cli.ts"),
    "src/verify/verify.ts imports src/cli/cli.ts, but src/verify/ may not import src/cli/",
  );
  assertEquals(
    layerViolation("src/errors.ts", "src/image/digest.ts"),
    "src/errors.ts imports src/image/digest.ts, but src/ may not import src/image/",
  );
  assertEquals(layerViolation("src/main.ts", "src/cli/program.ts"), undefined);
  assertEquals(
    relativeImports(
      'import { a } from "../image/a.ts";\nexport type { B } from "./b.ts";\n' +
        'const m = await import("../check/c.ts");\nimport "./side.ts";\nimport x from "jsr:y";',
    ),
    ["../image/a.ts", "./b.ts", "../check/c.ts", "./side.ts"],
  );
});

Deno.test("layers: no import of src/ runs against the layers", async () => {
  const violations: string[] = [];
  for (const from of await productModules()) {
    const source = await Deno.readTextFile(`${REPO}/${from}`);
    for (const specifier of relativeImports(source)) {
      const why = layerViolation(from, resolve(from, specifier));
      if (why !== undefined) violations.push(why);
    }
  }
  assertEquals(violations, []);
});
