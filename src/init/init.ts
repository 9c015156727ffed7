/**
 * `r10e init`: resolves the pinned inputs and writes r10e-docker/ from templates/.
 * Same config, same bytes. Files changed by hand are not overwritten unless forced.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { writeFilesAtomically } from "../atomic_write.ts";
import { DiskFullError } from "../disk_full.ts";
import { loadConfig } from "../config/load.ts";
import { type Config, type LoadedConfig, parseConfig } from "../config/schema.ts";
import { caBundle } from "../pinned/ca_bundle.ts";
import { tzdataPin } from "../pinned/tzdata.ts";
import { formatPins, parsePins, type Pins } from "../project/pins.ts";
import { PINS_FILE, R10E_DIR } from "../project/layout.ts";
import { ignoreRule } from "../project/git.ts";
import { findProjectRoot } from "../project/root.ts";
import { DEFAULT_GO_MINOR, resolveGoVersion } from "../pinned/go_versions.ts";
import { sha256Hex } from "../image/digest.ts";
import { FORMAT_VERSION } from "../image/writer.ts";
import { VERSION } from "../version.ts";
import { compareGoVersions, parseGoModVersions } from "../project/go_mod.ts";
import { type GoPackage, type Starter, starterConfig } from "./starter.ts";
import {
  defaultBuilderImage,
  EXECUTABLE_FILES,
  render,
  TEMPLATE_FILES,
  templateValues,
} from "./render.ts";

/**
 * What r10edocker generated in r10e-docker/ and r10e does not use (its Nix build):
 * removed by `init --force`, which lists them.
 */
export const R10EDOCKER_NIX_FILES = ["custom_configuration.nix", "docker.nix", "nix.conf", "pkgs"];

/** Options of `init`. */
export interface InitOptions {
  /** Path of config.json, absolute or relative to `cwd`. */
  configPath: string;
  /**
   * Whether the user named the config (`-c`). When not, and there is no config.json, `init`
   * writes a starter config at the module root from `listPackages`.
   */
  configGiven?: boolean;
  /** The packages of the Go module at `root` (`go list ./...`); needed for a starter config. */
  listPackages?: (root: string) => Promise<GoPackage[]>;
  /** The working directory: the project root when no go.mod is at or above config.json. */
  cwd: string;
  /** `--project-dir`: the project root, overriding the go.mod rule. */
  projectDir?: string;
  /** Overwrite files changed by hand. */
  force?: boolean;
  /** Lists exact Go versions from the module proxy; null when it cannot be reached. */
  listGoVersions: () => Promise<string[] | null>;
  /** Pins the builder image by digest; null (after telling `onFailure` why) when it cannot. */
  pinBuilderImage?: (image: string, onFailure: (reason: string) => void) => Promise<string | null>;
  /**
   * Fetches `base_image` for these platforms into the cache, so that builds work offline; a
   * failure is a warning (build fetches what is missing).
   */
  fetchBaseImage?: (image: string, platforms: string[]) => Promise<void>;
  /** Resolves a `base_image` tag to `host/repo@sha256:…` through its registry. */
  pinBaseImage?: (image: string) => Promise<string>;
  onProgress?: (message: string) => void;
}

/** What `init` did. */
export interface InitResult {
  /** The project root r10e-docker/ was written in. */
  root: string;
  dir: string;
  pins: Pins;
  written: string[];
  unchanged: string[];
  /** r10edocker's Nix files removed by --force, as `r10e-docker/<name>`. */
  removed: string[];
  /** The config.json written because there was none, and what it chose. */
  starter: (Starter & { path: string }) | null;
  warnings: string[];
}

/**
 * Runs `init`: finds (or writes) config.json, resolves the inputs to pin, renders r10e-docker/
 * from templates/ and writes it, unless that would overwrite a hand edit.
 * @throws {ConfigError} for an invalid config, an unknown go_version, or hand-edited files without `force`.
 */
export async function init(options: InitOptions): Promise<InitResult> {
  const progress = options.onProgress ?? (() => {});
  const { loaded, configPath, starter } = await loadOrStart(options);
  const { root, why } = await findProjectRoot(configPath, options);
  progress(`Project root ${root} (${why})`);
  const dir = resolve(root, R10E_DIR);
  const warnings: string[] = [];
  const goVersion = await resolveGoPin(loaded, root, options, warnings);
  const builder = await pinBuilder(loaded.config, goVersion, options, warnings);
  const basePin = await pinBase(loaded.config, options, warnings);
  const { files, pins } = await renderFiles(loaded.config, {
    goVersion,
    builder,
    basePin,
    configFile: relative(root, configPath) || "config.json",
  });
  const nixFiles = await refuseOverwrite(dir, files, options.force === true);
  if (starter) {
    // Never over a config.json made meanwhile: createNew.
    try {
      await Deno.writeTextFile(starter.path, starter.text, { createNew: true, mode: 0o644 });
    } catch (error) {
      throw new Error(`Cannot write "${starter.path}"`, { cause: error });
    }
  }
  const { written, unchanged, removed } = await writeR10eDir(root, dir, files, nixFiles);
  // r10edocker's .gitignore ignores r10e-docker/; r10e's must be committed (it pins the inputs).
  const rule = await ignoreRule(root, `${R10E_DIR}/${PINS_FILE}`);
  if (rule) {
    warnings.push(
      `"${R10E_DIR}/" is git-ignored (line ${rule.line} "${rule.pattern}" of "${rule.source}"), but it must be committed: ` +
        `it pins the build inputs, and a clone without it cannot rebuild the image. Remove that line ` +
        `(r10e-docker/.gitignore already keeps out/ out of git), then \`git add ${R10E_DIR}\``,
    );
  }
  return {
    root,
    dir,
    pins,
    written,
    unchanged,
    removed,
    starter,
    warnings: [...loaded.warnings.map((w) => w.message), ...warnings],
  };
}

/**
 * The config: the one given or found, or, without -c and without a config.json, a starter
 * config for the Go module (written only once everything else has succeeded).
 */
async function loadOrStart(
  options: InitOptions,
): Promise<{ loaded: LoadedConfig; configPath: string; starter: InitResult["starter"] }> {
  let configPath = resolve(options.cwd, options.configPath);
  let starter: InitResult["starter"] = null;
  if (!options.configGiven && (await readOrNull(configPath)) === null) {
    const found = await configOfModule(options);
    configPath = found.path;
    starter = found.starter;
  }
  // A config given with -c is named as typed; one init found or wrote, by its full path.
  const loaded = starter
    ? parseConfig(starter.text, configPath)
    : await loadConfig(configPath, options.configGiven ? options.configPath : configPath);
  return { loaded, configPath, starter };
}

/**
 * The exact Go version to pin: go_version (or r10e's default minor) resolved against what the
 * module proxy lists, else r10e's own table; checked against go.mod.
 * @throws {ConfigError} for an unknown go_version or a go.mod that needs a newer Go.
 */
async function resolveGoPin(
  loaded: LoadedConfig,
  root: string,
  options: InitOptions,
  warnings: string[],
): Promise<string> {
  options.onProgress?.(
    loaded.config.go_version
      ? `Resolving go_version ${JSON.stringify(loaded.config.go_version)}`
      : `Resolving the default Go version ${DEFAULT_GO_MINOR} (config.json sets no go_version)`,
  );
  const available = await options.listGoVersions();
  if (!available) {
    warnings.push(
      "The Go module proxy was not reachable: go_version resolved from r10e's own table",
    );
  }
  const goVersion = resolveGo(loaded, available);
  await checkGoMod(loaded, root, goVersion);
  return goVersion;
}

/** The builder image pinned by digest, or null (with a warning) when no engine could pin it. */
async function pinBuilder(
  config: Config,
  goVersion: string,
  options: InitOptions,
  warnings: string[],
): Promise<{ wanted: string; pinned: string | null }> {
  const wanted = config.builder_image ?? defaultBuilderImage(goVersion);
  let pinned: string | null = wanted.includes("@sha256:") ? wanted : null;
  let whyNotPinned = "no Docker engine to ask";
  if (!pinned && options.pinBuilderImage) {
    options.onProgress?.(`Pinning builder image "${wanted}"`);
    pinned = await options.pinBuilderImage(wanted, (why) => whyNotPinned = why);
  }
  if (!pinned) {
    warnings.push(
      `NOT PINNED: builder image "${wanted}" could not be resolved to a digest: ${
        sentence(whyNotPinned)
      } ` +
        "`r10e build --in docker` refuses it until you run `r10e init` where it can be pinned, or pass --allow-unpinned",
    );
  }
  return { wanted, pinned };
}

/**
 * base_image's pin when it is a tag (resolved once, here, and recorded: builds never follow the
 * tag again); then its layers are fetched into the cache, so that builds work offline.
 * @throws {ConfigError} when a tag cannot be resolved.
 */
async function pinBase(
  config: Config,
  options: InitOptions,
  warnings: string[],
): Promise<Pins["base_image"]> {
  let basePin: Pins["base_image"];
  if (config.base_image && !config.base_image.includes("@sha256:")) {
    if (!options.pinBaseImage) {
      throw new ConfigError(`Cannot pin base_image "${config.base_image}": no registry to ask`);
    }
    options.onProgress?.(`Pinning base image "${config.base_image}"`);
    try {
      basePin = {
        requested: config.base_image,
        pinned: await options.pinBaseImage(config.base_image),
      };
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError(
        `Cannot pin base_image "${config.base_image}" by digest: ${
          (error as Error).message
        } (or write its digest in config.json: "registry/repo@sha256:…")`,
      );
    }
  }
  const baseImage = basePin?.pinned ?? config.base_image;
  if (baseImage && options.fetchBaseImage) {
    options.onProgress?.(`Fetching base image "${baseImage}" into the cache`);
    try {
      await options.fetchBaseImage(baseImage, config.platforms);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      warnings.push(
        `base image "${config.base_image}" was not fetched (${
          (error as Error).message
        }): build fetches it, and needs its registry until it has`,
      );
    }
  }
  return basePin;
}

/**
 * The files of r10e-docker/ by name, rendered from templates/, and the pins (which record each
 * rendered file's sha256, so that a later init tells r10e's bytes from a hand edit).
 */
async function renderFiles(
  config: Config,
  inputs: {
    goVersion: string;
    builder: { wanted: string; pinned: string | null };
    basePin: Pins["base_image"];
    configFile: string;
  },
): Promise<{ files: Map<string, string>; pins: Pins }> {
  const { builder, basePin } = inputs;
  const ca = config.include_ca_bundle ? caBundle() : null;
  const base: Omit<Pins, "generated"> = {
    go_version: inputs.goVersion,
    go_version_requested: config.go_version ?? null,
    platform: config.platform,
    // Only for several platforms: one-platform pins keep the bytes they had.
    ...(config.platforms.length > 1 ? { platforms: config.platforms } : {}),
    ca_bundle_sha256: ca?.sha256 ?? null,
    ...(config.include_tzdata ? { tzdata_sha256: tzdataPin(true) } : {}),
    builder_image: builder.pinned,
    ...(basePin ? { base_image: basePin } : {}),
    image_format: FORMAT_VERSION,
    r10e_version: VERSION,
  };
  const values = templateValues(
    config,
    { ...base, builder_image: builder.pinned ?? builder.wanted },
    inputs.configFile,
  );
  const files = new Map<string, string>();
  for (const [template, name] of Object.entries(TEMPLATE_FILES)) {
    const text = await Deno.readTextFile(new URL(`../../templates/${template}`, import.meta.url));
    files.set(
      name,
      render(template === "Dockerfile" && !builder.pinned ? unpinnedNote(text) : text, values),
    );
  }
  const pins: Pins = {
    ...base,
    generated: Object.fromEntries(
      [...files].map(([name, text]) => [name, sha256Hex(new TextEncoder().encode(text))]),
    ),
  };
  files.set(PINS_FILE, formatPins(pins));
  return { files, pins };
}

/**
 * Refuses to overwrite hand edits (a file whose bytes are neither what r10e wrote last nor what
 * it writes now) and r10edocker's Nix files, unless forced; the Nix files to remove.
 * @throws {ConfigError} naming every such file, without `force`.
 */
async function refuseOverwrite(
  dir: string,
  files: Map<string, string>,
  force: boolean,
): Promise<string[]> {
  const previous = await readPrevious(dir);
  const handEdited: string[] = [];
  for (const [name, text] of files) {
    const current = await readOrNull(`${dir}/${name}`);
    if (current === null) continue;
    if (current === text) continue;
    const hash = sha256Hex(new TextEncoder().encode(current));
    const ours = name === PINS_FILE || previous?.generated[name] === hash;
    if (!ours) handEdited.push(`${R10E_DIR}/${name}`);
  }
  const nixFiles: string[] = [];
  for (const name of R10EDOCKER_NIX_FILES) {
    if (await existsNoFollow(`${dir}/${name}`)) nixFiles.push(`${R10E_DIR}/${name}`);
  }
  if ((handEdited.length || nixFiles.length) && !force) {
    const parts: string[] = [];
    if (handEdited.length) {
      parts.push(
        `${handEdited.map((f) => `"${f}"`).join(", ")} ${
          handEdited.length === 1 ? "was" : "were"
        } changed by hand`,
      );
    }
    if (nixFiles.length) {
      parts.push(
        `${nixFiles.map((f) => `"${f}"`).join(", ")} ${
          nixFiles.length === 1 ? "is" : "are"
        } r10edocker's Nix build, which r10e replaces (--force removes ${
          nixFiles.length === 1 ? "it" : "them"
        })`,
      );
    }
    throw new ConfigError(
      `Cannot write "${R10E_DIR}/": ${parts.join("; ")}; rerun with --force to overwrite`,
    );
  }
  return nixFiles;
}

/**
 * Writes r10e-docker/: removes r10edocker's Nix files, writes each file atomically with its
 * mode, and leaves a file that already has the bytes as it is (its mode set).
 */
async function writeR10eDir(
  root: string,
  dir: string,
  files: Map<string, string>,
  nixFiles: string[],
): Promise<{ written: string[]; unchanged: string[]; removed: string[] }> {
  await Deno.mkdir(dir, { recursive: true });
  const removed: string[] = [];
  for (const path of nixFiles) {
    await Deno.remove(`${root}/${path}`, { recursive: true });
    removed.push(path);
  }
  const written: string[] = [];
  const unchanged: string[] = [];
  for (const [name, text] of files) {
    const path = `${dir}/${name}`;
    const mode = EXECUTABLE_FILES.has(name) ? 0o755 : 0o644;
    if ((await readOrNull(path)) === text) {
      unchanged.push(name);
      await Deno.chmod(path, mode);
      continue;
    }
    try {
      await writeFilesAtomically([{ path, data: text, mode }], "init", { exactMode: true });
    } catch (error) {
      if (error instanceof DiskFullError) throw error;
      throw new Error(`Cannot write "${path}"`, { cause: error });
    }
    written.push(name);
  }
  return { written, unchanged, removed };
}

/**
 * The config.json at the root of the Go module at or above the working directory (or
 * `--project-dir`), and when there is none, the starter config to write there.
 * @throws {ConfigError} when there is no go.mod: init would write into an unrelated folder.
 */
async function configOfModule(
  options: InitOptions,
): Promise<{ path: string; starter: InitResult["starter"] }> {
  const { root } = await findProjectRoot(options.configPath, options);
  const goMod = await readOrNull(join(root, "go.mod"));
  if (goMod === null) {
    const where = options.projectDir !== undefined
      ? `in --project-dir "${options.projectDir}"`
      : `in "${resolve(options.cwd)}" or a folder above it`;
    throw new ConfigError(
      `No config.json and no go.mod ${where}: run r10e init in a Go module (go mod init …) ` +
        "to write a config.json for it, or pass an existing config with -c PATH",
    );
  }
  const path = join(root, "config.json");
  // Run from a folder of the module: the config at its root is the one.
  if ((await readOrNull(path)) !== null) return { path, starter: null };
  if (!options.listPackages) throw new Error("init needs listPackages to write a starter config");
  const packages = await options.listPackages(root);
  const starter = starterConfig(packages, { goMod, defaultGoMinor: DEFAULT_GO_MINOR });
  return { path, starter: { ...starter, path } };
}

function resolveGo(loaded: LoadedConfig, available: string[] | null): string {
  try {
    return resolveGoVersion(loaded.config.go_version, available);
  } catch (error) {
    const where = loaded.locate(["go_version"]);
    throw new ConfigError(`Invalid config "${loaded.file}"`, [{
      file: loaded.file,
      ...where,
      path: "go_version",
      message: (error as Error).message,
    }]);
  }
}

/**
 * go.mod's `go` line is the oldest Go that may build the module: a pinned
 * version below it would fail at build time, so say it now.
 * @throws {ConfigError} at go_version when the pin is older than go.mod requires.
 */
async function checkGoMod(loaded: LoadedConfig, root: string, goVersion: string): Promise<void> {
  const text = await readOrNull(`${root}/go.mod`);
  const required = text === null ? null : parseGoModVersions(text).go;
  if (!required || compareGoVersions(goVersion, required) >= 0) return;
  const requested = loaded.config.go_version;
  throw new ConfigError(`Invalid config "${loaded.file}"`, [{
    file: loaded.file,
    ...loaded.locate(["go_version"]),
    path: "go_version",
    message: `${
      requested ? `go_version "${requested}" resolves to` : "the default"
    } Go ${goVersion}, older than the "go ${required}" that go.mod requires: raise go_version`,
  }]);
}

/** `text` ending with one full stop, or the `?`/`!` it ends with: no doubled punctuation. */
function sentence(text: string): string {
  const t = text.trimEnd();
  return /[?!]$/.test(t) ? t : t.replace(/\.+$/, "") + ".";
}

function unpinnedNote(text: string): string {
  return text.replace(
    /^FROM /m,
    "# WARNING: NOT PINNED BY DIGEST. Run `r10e init` where a Docker engine can resolve it.\nFROM ",
  );
}

async function readPrevious(dir: string): Promise<Pins | null> {
  const text = await readOrNull(`${dir}/${PINS_FILE}`);
  if (text === null) return null;
  try {
    return parsePins(text, `${dir}/${PINS_FILE}`);
  } catch {
    return null;
  }
}

async function existsNoFollow(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
