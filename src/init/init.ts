/**
 * `r10e init`: resolves the pinned inputs and writes r10e-docker/ from templates/.
 * Same config, same bytes. Files changed by hand are not overwritten unless forced.
 *
 * @module
 */
import { dirname, relative, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { loadConfig } from "../config/load.ts";
import type { LoadedConfig } from "../config/schema.ts";
import { caBundle } from "../build/ca_bundle.ts";
import { tzdataPin } from "../build/tzdata.ts";
import { formatPins, parsePins, type Pins, PINS_FILE } from "../build/pins.ts";
import { resolveGoVersion } from "../build/toolchain.ts";
import { sha256Hex } from "../image/digest.ts";
import { FORMAT_VERSION } from "../image/writer.ts";
import { VERSION } from "../version.ts";
import {
  defaultBuilderImage,
  EXECUTABLE_FILES,
  render,
  TEMPLATE_FILES,
  templateValues,
} from "./render.ts";

/** The folder `init` writes, next to config.json. */
export const R10E_DIR = "r10e-docker";

/** Options of `init`. */
export interface InitOptions {
  /** Path of config.json. */
  configPath: string;
  /** Overwrite files changed by hand. */
  force?: boolean;
  /** Lists exact Go versions from the module proxy; null when it cannot be reached. */
  listGoVersions: () => Promise<string[] | null>;
  /** Pins the builder image by digest; null when it cannot (no engine, offline). */
  pinBuilderImage?: (image: string) => Promise<string | null>;
  onProgress?: (message: string) => void;
}

/** What `init` did. */
export interface InitResult {
  dir: string;
  pins: Pins;
  written: string[];
  unchanged: string[];
  warnings: string[];
}

/**
 * Runs `init`.
 * @throws {ConfigError} for an invalid config, an unknown go_version, or hand-edited files without `force`.
 */
export async function init(options: InitOptions): Promise<InitResult> {
  const progress = options.onProgress ?? (() => {});
  const loaded = await loadConfig(options.configPath);
  const { config } = loaded;
  const root = dirname(resolve(options.configPath));
  const dir = resolve(root, R10E_DIR);
  const warnings: string[] = [];

  progress(`Resolving go_version ${JSON.stringify(config.go_version ?? "(default)")}`);
  const available = await options.listGoVersions();
  if (!available) {
    warnings.push(
      "The Go module proxy was not reachable: go_version resolved from r10e's own table",
    );
  }
  const goVersion = resolveGo(loaded, available);
  await checkGoMod(loaded, root, goVersion);

  const builderWanted = config.builder_image ?? defaultBuilderImage(goVersion);
  let builder: string | null = builderWanted.includes("@sha256:") ? builderWanted : null;
  if (!builder && options.pinBuilderImage) {
    progress(`Pinning builder image "${builderWanted}"`);
    builder = await options.pinBuilderImage(builderWanted);
  }
  if (!builder) {
    warnings.push(
      `NOT PINNED: builder image "${builderWanted}" could not be resolved to a digest (no Docker engine or registry reachable); ` +
        "`r10e build --in docker` refuses it until you run `r10e init` where it can be pinned, or pass --allow-unpinned",
    );
  }
  const ca = config.include_ca_bundle ? caBundle() : null;
  const base: Omit<Pins, "generated"> = {
    go_version: goVersion,
    go_version_requested: config.go_version ?? null,
    platform: config.platform,
    ca_bundle_sha256: ca?.sha256 ?? null,
    ...(config.include_tzdata ? { tzdata_sha256: tzdataPin(true) } : {}),
    builder_image: builder,
    image_format: FORMAT_VERSION,
    r10e_version: VERSION,
  };
  const configFile = relative(root, resolve(options.configPath)) || "config.json";
  const values = templateValues(
    config,
    { ...base, builder_image: builder ?? builderWanted },
    configFile,
  );
  const files = new Map<string, string>();
  for (const [template, name] of Object.entries(TEMPLATE_FILES)) {
    const text = await Deno.readTextFile(new URL(`../../templates/${template}`, import.meta.url));
    files.set(
      name,
      render(template === "Dockerfile" && !builder ? unpinnedNote(text) : text, values),
    );
  }
  const pins: Pins = {
    ...base,
    generated: Object.fromEntries(
      [...files].map(([name, text]) => [name, sha256Hex(new TextEncoder().encode(text))]),
    ),
  };
  files.set(PINS_FILE, formatPins(pins));

  // Refuse to overwrite hand edits: a file whose bytes are neither what r10e wrote last nor what it writes now.
  const previous = await readPrevious(dir);
  const handEdited: string[] = [];
  const written: string[] = [];
  const unchanged: string[] = [];
  for (const [name, text] of files) {
    const current = await readOrNull(`${dir}/${name}`);
    if (current === null) continue;
    if (current === text) continue;
    const hash = sha256Hex(new TextEncoder().encode(current));
    const ours = name === PINS_FILE || previous?.generated[name] === hash;
    if (!ours) handEdited.push(`${R10E_DIR}/${name}`);
  }
  if (handEdited.length && !options.force) {
    throw new ConfigError(
      `Cannot write "${R10E_DIR}/": ${handEdited.map((f) => `"${f}"`).join(", ")} ${
        handEdited.length === 1 ? "was" : "were"
      } changed by hand; rerun with --force to overwrite`,
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of files) {
    const path = `${dir}/${name}`;
    const mode = EXECUTABLE_FILES.has(name) ? 0o755 : 0o644;
    if ((await readOrNull(path)) === text) {
      unchanged.push(name);
      await Deno.chmod(path, mode);
      continue;
    }
    const tmp = `${path}.tmp-${Deno.pid}`;
    try {
      await Deno.writeTextFile(tmp, text, { mode });
      await Deno.chmod(tmp, mode);
      await Deno.rename(tmp, path);
    } catch (error) {
      await Deno.remove(tmp).catch(() => {});
      throw new Error(`Cannot write "${path}"`, { cause: error });
    }
    written.push(name);
  }
  return {
    dir,
    pins,
    written,
    unchanged,
    warnings: [...loaded.warnings.map((w) => w.message), ...warnings],
  };
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
  const required = text === null ? null : goModVersion(text);
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

/** The version of go.mod's `go` directive, or null. */
export function goModVersion(text: string): string | null {
  return /^go[ \t]+(1\.\d+(?:\.\d+)?)\s*(?:\/\/.*)?$/m.exec(text)?.[1] ?? null;
}

/** Compares Go versions such as "1.26" and "1.26.8" numerically (a missing patch counts as 0). */
export function compareGoVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
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

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
