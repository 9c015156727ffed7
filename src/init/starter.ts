/**
 * The config.json `init` writes for a Go module that has none: one artifact per main package,
 * built by one `go build` into a folder r10e-docker/.gitignore already keeps out of git.
 * Pure: the module's packages in, the config's text out.
 *
 * @module
 */
import { compareGoVersions, parseGoModVersions } from "../project/go_mod.ts";
import { OUT_DIR } from "../project/layout.ts";

/** A package of the module, as `go list` prints it. */
export interface GoPackage {
  /** `main` for a command. */
  name: string;
  importPath: string;
  /** Relative to the module root, `.` for the root itself. */
  dir: string;
}

/** What the starter config holds, and why, for the lines `init` prints. */
export interface Starter {
  /** The config.json text (JSONC, with a comment on how to change it). */
  text: string;
  projectName: string;
  /** The main packages built, as `./dir`. */
  packages: string[];
  /** The image paths of the binaries. */
  binaries: string[];
  entrypoint: string[] | null;
  goVersion: string;
}

/** Where the starter's `go build` writes: inside r10e-docker/out/, which git ignores. */
export const STARTER_BIN_DIR = `${OUT_DIR}/bin`;

/**
 * The starter config for a module whose packages are `packages`, with go.mod's text `goMod`.
 * @throws {Error} when the module has no main package, or two main packages give one binary name.
 */
export function starterConfig(
  packages: GoPackage[],
  options: { goMod: string; defaultGoMinor: string },
): Starter {
  const mains = packages.filter((p) => p.name === "main")
    .map((p) => ({ ...p, dir: p.dir === "." ? "." : `./${p.dir}` }))
    .sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  if (mains.length === 0) {
    throw new Error(
      "The module has no main package (go list ./... lists none named main): " +
        "write config.json by hand (see docs/config.md) or add a command, e.g. cmd/app/main.go",
    );
  }
  const names = new Map<string, string>();
  for (const p of mains) {
    const bin = binaryName(p.importPath);
    const other = names.get(bin);
    if (other) {
      throw new Error(
        `Main packages "${other}" and "${p.dir}" both build a binary named "${bin}": ` +
          "write config.json by hand (see docs/config.md) with one -o per package",
      );
    }
    names.set(bin, p.dir);
  }
  const bins = [...names.keys()];
  const modulePath = /^module\s+"?([^\s"]+)"?/m.exec(options.goMod)?.[1] ?? bins[0];
  const projectName = imageName(binaryName(modulePath));
  const required = parseGoModVersions(options.goMod).go;
  const goMinor = required && compareGoVersions(required, options.defaultGoMinor) > 0
    ? required.split(".").slice(0, 2).join(".")
    : options.defaultGoMinor;
  const binaries = bins.map((b) => `/app/${b}`);
  const entrypoint = binaries.length === 1 ? [binaries[0]] : null;
  const config: Record<string, unknown> = {
    project_name: projectName,
    build_cmd: `go build -o ${STARTER_BIN_DIR}/ ${mains.map((p) => p.dir).join(" ")}`,
    go_version: goMinor,
    artifacts: bins.map((b, i) => ({ src: `${STARTER_BIN_DIR}/${b}`, dest: binaries[i] })),
    include_ca_bundle: true,
    ...(entrypoint ? { entrypoint } : {}),
  };
  const text =
    "// Written by `r10e init` from the main packages `go list ./...` found. Edit it and\n" +
    "// run `r10e init` again; every field is described in docs/config.md.\n" +
    JSON.stringify(config, null, 2).replace(
      /\{\n\s+"src": (".*?"),\n\s+"dest": (".*?")\n\s+\}/g,
      '{ "src": $1, "dest": $2 }',
    ) + "\n";
  return {
    text,
    projectName,
    packages: mains.map((p) => p.dir),
    binaries,
    entrypoint,
    goVersion: goMinor,
  };
}

/** The name `go build` gives a package's binary: the last element, not a major version suffix. */
export function binaryName(importPath: string): string {
  const parts = importPath.split("/");
  const last = parts[parts.length - 1];
  return /^v[2-9]\d*$/.test(last) && parts.length > 1 ? parts[parts.length - 2] : last;
}

/** `name` as an image name: lowercase, runs of other characters as one `-`, "app" if nothing is left. */
export function imageName(name: string): string {
  const clean = name.toLowerCase().replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  return clean || "app";
}
