/**
 * What `init` writes into r10e-docker/: the templates filled in. Pure: the same
 * config and pins give the same bytes.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Pins } from "../project/pins.ts";
import { archiveName, DIGESTS_PATH, OUT_DIR } from "../project/layout.ts";
import { archiveStem, documentNames } from "../image/artifact_types.ts";

/** Template file in templates/ → file name in r10e-docker/. */
export const TEMPLATE_FILES: Readonly<Record<string, string>> = {
  "Dockerfile": "Dockerfile",
  "Makefile": "Makefile",
  "README.md": "README.md",
  "build_container.sh": "build_container.sh",
  "gitignore": ".gitignore",
  "github-workflow.yml": "github-workflow.yml", // users copy it to .github/workflows/
};

/** Files that are executable once written. */
export const EXECUTABLE_FILES = new Set(["build_container.sh"]);

/** The default builder image for an exact Go version, before it is pinned by digest. */
export function defaultBuilderImage(goVersion: string): string {
  return `golang:${goVersion}`;
}

/**
 * Fills `{{name}}` placeholders.
 * @throws {RangeError} for a placeholder without a value (a broken template).
 */
export function render(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([a-z_]+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new RangeError(`Template placeholder "{{${name}}}" has no value`);
    }
    return value;
  });
}

/** The values templates may use. */
export function templateValues(
  config: Config,
  pins: Omit<Pins, "generated">,
  configFile: string,
): Record<string, string> {
  return {
    project_name: config.project_name,
    archive: archiveName(config.project_name, "tar.gz"),
    archive_tar: archiveName(config.project_name, "tar"),
    config_file: configFile,
    go_version: pins.go_version,
    builder_image: pins.builder_image ?? defaultBuilderImage(pins.go_version),
    ca_bundle_sha256: pins.ca_bundle_sha256 ?? "none",
    platform: pins.platform,
    documents: documents(config).map((d) => d.name).join(" "),
    outputs: outputs(config),
  };
}

/** The documents `build` writes beside the archive, by name. */
function documents(config: Config) {
  return documentNames(archiveStem(archiveName(config.project_name, "tar.gz")), config.platforms);
}

/** The generated README's list of what `build` writes into r10e-docker/out/. */
function outputs(config: Config): string {
  const what = { spdx: "SBOM, SPDX 2.3", cyclonedx: "SBOM, CycloneDX 1.6", provenance: "" };
  const lines = [
    `- \`${OUT_DIR}/${archiveName(config.project_name, "tar.gz")}\`: the image ` +
    `(\`--format tar\`: \`${archiveName(config.project_name, "tar")}\`)`,
    ...documents(config).map((d) =>
      `- \`${OUT_DIR}/${d.name}\`: ${
        d.kind === "provenance"
          ? "the provenance (in-toto, SLSA v1)"
          : `${what[d.kind]}${config.platforms.length > 1 ? `, of ${d.platform}` : ""}`
      }`
    ),
    `- \`${DIGESTS_PATH}\` (\`r10e build --record\`): the digests \`r10e check\` compares with`,
  ];
  return lines.join("\n");
}
