/**
 * `r10e sbom IMAGE`: the SBOM of an image (docker-archive, OCI layout, registry reference),
 * read from the files and Go binaries inside it.
 *
 * @module
 */
import { InputError, UsageError } from "../errors.ts";
import { loadConfig } from "../config/load.ts";
import type { ImageInfo } from "../image/reader.ts";
import { type ProvenanceBuild, type ProvenanceInput, provenanceStatement } from "./provenance.ts";
import { describeImage } from "./scan.ts";
import { openInput, type ResolveOptions } from "../registry/resolve.ts";
import { VERSION } from "../version.ts";
import { PINS_PATH } from "../project/layout.ts";
import { cyclonedxDocument } from "./cyclonedx.ts";
import { sortedJson } from "./model.ts";
import { scanImage } from "./scan.ts";
import { spdxDocument } from "./spdx.ts";

/** The document formats. */
export type SbomFormat = "spdx" | "cyclonedx" | "provenance";

/** Options of `sbom`. */
export interface SbomOptions {
  format: SbomFormat;
  /** How to reach registries, when IMAGE is a registry reference. */
  registry?: Omit<ResolveOptions, "platform" | "tempDir">;
  /** `os/arch[/variant]` for multi-platform inputs. */
  platform?: string;
  tempDir?: string;
  onWarning?: (line: string) => void;
  /** For `provenance`: the path of what `r10e build --json` printed for this image. */
  buildJson?: string;
}

/**
 * The SBOM of `image` as JSON text (sorted keys, one final newline).
 * @throws {InputError} for an unreadable image; {@linkcode RegistryError} for a reference that cannot be fetched.
 */
export async function sbom(image: string, options: SbomOptions): Promise<string> {
  if (options.format === "provenance") {
    if (!options.buildJson) {
      throw new UsageError(
        "--format provenance needs --build FILE (what `r10e build --json` printed)",
      );
    }
  }
  // A registry reference is read from its registry, its layers streamed and kept while the
  // command reads them (it reads each twice: the merged filesystem, then the contents).
  await using input = await openInput(image, {
    env: {},
    ...options.registry,
    platform: options.platform,
    tempDir: options.tempDir,
    spool: true,
  });
  const info = input.image();
  if (options.format === "provenance") {
    return sortedJson(provenanceStatement(await provenanceInput(info, options.buildJson!)));
  }
  const data = await scanImage(input, info, {
    tempDir: options.tempDir,
    tool: { name: "r10e", version: VERSION },
    onWarning: options.onWarning,
  });
  // A registry serves no image name: the SBOM attached to this digest gives the one it was built
  // with, so that the same image gives the bytes `r10e push` attached.
  if (info.manifestDigest) {
    const { attachedImageName } = await import("./attached_name.ts");
    // Only a name: a registry that cannot list referrers leaves the image's own ("image").
    const name = await attachedImageName(image, info.manifestDigest, options.format, {
      env: {},
      ...options.registry,
    }).catch(() => null);
    if (name) data.image = { ...data.image, name };
  }
  const doc = options.format === "spdx" ? spdxDocument(data) : cyclonedxDocument(data);
  // What making the document left is garbage: collected before the text is written, the heap
  // does not grow for both (10 MB of the peak RSS of a 10,000-file image, bench/sbom_read.ts).
  (globalThis as { gc?: () => void }).gc?.();
  return sortedJson(doc);
}

async function readJson(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    // The OS's own text would name the path a second time.
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new InputError(`Cannot read ${what} "${path}": ${why}`);
  }
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // reported below
  }
  throw new InputError(`Cannot read ${what} "${path}": not a JSON object`);
}

/**
 * The provenance input of an image from its build record: the record must be this image's
 * (same manifest digest); config.json and r10e-docker/pins.json are read from its `root`.
 */
async function provenanceInput(image: ImageInfo, buildJson: string): Promise<ProvenanceInput> {
  const rec = await readJson(buildJson, "build record");
  const bad = (field: string) =>
    new InputError(`Cannot read build record "${buildJson}": "${field}" is missing or malformed`);
  const str = (k: string) => {
    if (typeof rec[k] !== "string") throw bad(k);
    return rec[k] as string;
  };
  if (!Array.isArray(rec.artifacts)) throw bad("artifacts");
  if (typeof rec.created !== "number") throw bad("created");
  if (rec.mode !== "host" && rec.mode !== "docker") throw bad("mode");
  const build: ProvenanceBuild = {
    manifestDigest: str("manifestDigest"),
    artifacts: (rec.artifacts as Record<string, unknown>[]).map((a) => {
      if (typeof a?.dest !== "string" || typeof a?.sha256 !== "string") throw bad("artifacts");
      return { src: String(a.src), dest: a.dest, sha256: a.sha256 };
    }),
    created: rec.created,
    createdFrom: str("createdFrom"),
    goVersion: str("goVersion"),
    mode: rec.mode,
    dirty: Array.isArray(rec.dirty) ? rec.dirty.map(String) : null,
    revision: typeof rec.revision === "string" ? rec.revision : null,
  };
  if (image.manifestDigest !== build.manifestDigest) {
    throw new InputError(
      `Build record "${buildJson}" is of image ${build.manifestDigest}, not of this one (${
        image.manifestDigest ?? image.configDigest
      })`,
    );
  }
  const root = str("root");
  const labels = (image.config.config as { Labels?: Record<string, string> } | undefined)?.Labels;
  return {
    build,
    imageName: describeImage(image).name,
    // As build records it: read by the config loader (JSONC, defaults filled in).
    config: (await loadConfig(`${root}/config.json`)).config as unknown as Record<string, unknown>,
    pins: await readJson(`${root}/${PINS_PATH}`, "pins"),
    sourceUri: labels?.["org.opencontainers.image.source"] ?? null,
    r10eVersion: VERSION,
  };
}
