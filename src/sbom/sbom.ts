/**
 * `r10e sbom IMAGE`: the SBOM of an image (docker-archive, OCI layout, registry reference),
 * read from the files and Go binaries inside it (issue 12 item 4).
 *
 * @module
 */
import { openImage } from "../image/reader.ts";
import { resolveImage, type ResolveOptions } from "../registry/resolve.ts";
import { VERSION } from "../version.ts";
import { cyclonedxDocument } from "./cyclonedx.ts";
import { sortedJson } from "./model.ts";
import { scanImage } from "./scan.ts";
import { spdxDocument } from "./spdx.ts";

/** The document formats. */
export type SbomFormat = "spdx" | "cyclonedx";

/** Options of `sbom`. */
export interface SbomOptions {
  format: SbomFormat;
  /** How to reach registries, when IMAGE is a registry reference. */
  registry?: Omit<ResolveOptions, "platform" | "tempDir">;
  /** `os/arch[/variant]` for multi-platform inputs. */
  platform?: string;
  tempDir?: string;
  onWarning?: (line: string) => void;
}

/**
 * The SBOM of `image` as JSON text (sorted keys, one final newline).
 * @throws {InputError} for an unreadable image; {@linkcode RegistryError} for a reference that cannot be fetched.
 */
export async function sbom(image: string, options: SbomOptions): Promise<string> {
  await using local = await resolveImage(image, {
    env: {},
    ...options.registry,
    platform: options.platform,
    tempDir: options.tempDir,
  });
  await using input = await openImage(local.path, {
    platform: options.platform,
    tempDir: options.tempDir,
  });
  const info = input.image();
  const data = await scanImage(input, info, {
    tempDir: options.tempDir,
    tool: { name: "r10e", version: VERSION },
    onWarning: options.onWarning,
  });
  return sortedJson(options.format === "spdx" ? spdxDocument(data) : cyclonedxDocument(data));
}
