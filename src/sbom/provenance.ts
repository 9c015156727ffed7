/**
 * Build provenance as an in-toto Statement v1 with a SLSA Provenance v1 predicate (specs:
 * github.com/in-toto/attestation spec/v1/statement.md, slsa.dev/spec/v1.0/provenance).
 * Pure: the build's result, its config and pins come in as values.
 *
 * - subject: the image manifest (`name@sha256:…`), or with several platforms the index and each
 *   platform's manifest (`name (os/arch)`), and every artifact (its path in the image, after
 *   `os/arch:` with several platforms);
 * - buildDefinition.externalParameters: the config as the user wrote it, and the mode;
 * - buildDefinition.internalParameters: the pins r10e resolved (pins.json, without the hashes
 *   of the files `init` generated), the creation time and where it came from;
 * - buildDefinition.resolvedDependencies: the source commit (with whether the tree was clean),
 *   the Go toolchain, the builder image (docker mode), the CA bundle and tzdata pins;
 * - runDetails.builder: r10e and its version. No start or finish time: the same inputs give
 *   the same bytes (DESIGN: reproducibility), so it carries nothing the run alone knows.
 *
 * @module
 */
import { compareCodePoints } from "../code_point_order.ts";

/** What a build says about itself: a subset of `r10e build --json`. */
export interface ProvenanceBuild {
  manifestDigest: string;
  artifacts: { src: string; dest: string; sha256: string }[];
  /** Seconds since the epoch, and where the time came from. */
  created: number;
  createdFrom: string;
  goVersion: string;
  mode: "host" | "docker";
  /** Uncommitted paths when the tree was dirty, else empty; null outside git. */
  dirty: string[] | null;
  /** The commit built, null outside git. */
  revision: string | null;
  /** Several platforms: each image's manifest digest (then `manifestDigest` is the first's). */
  images?: { platform: string; manifestDigest: string }[];
  /** Several platforms: the digest of the image index naming them, when known. */
  indexDigest?: string;
}

/** Everything a provenance statement is made from. */
export interface ProvenanceInput {
  build: ProvenanceBuild;
  /** The image name, e.g. `r10e-uuid-app:latest`. */
  imageName: string;
  /** The config (config.json) as parsed. */
  config: Record<string, unknown>;
  /** pins.json as parsed. */
  pins: Record<string, unknown>;
  /** Where the source is, when known (a repository URL), for the commit's URI. */
  sourceUri: string | null;
  /** r10e's version. */
  r10eVersion: string;
}

/**
 * The build type: what the parameters mean (SLSA: a URI naming the build's template). A URN,
 * not a URL: r10e publishes no page for it; this module's comment is its definition.
 */
export const BUILD_TYPE = "urn:r10e:build:v1";

type Obj = Record<string, unknown>;

/** The in-toto statement for a build (serialize with `sortedJson`). */
export function provenanceStatement(input: ProvenanceInput): Obj {
  const { build, pins } = input;
  const images = build.images && build.images.length > 1
    ? [
      ...(build.indexDigest
        ? [{ name: input.imageName, digest: { sha256: hexOf(build.indexDigest) } }]
        : []),
      ...build.images.map((i) => ({
        name: `${input.imageName} (${i.platform})`,
        digest: { sha256: hexOf(i.manifestDigest) },
      })),
    ]
    : [{ name: input.imageName, digest: { sha256: hexOf(build.manifestDigest) } }];
  const subject = [
    ...images,
    ...[...build.artifacts].sort((a, b) => compareCodePoints(a.dest, b.dest)).map((a) => ({
      name: a.dest,
      digest: { sha256: a.sha256 },
    })),
  ];
  const deps: Obj[] = [];
  if (build.revision) {
    deps.push({
      uri: input.sourceUri ? `git+${input.sourceUri}@${build.revision}` : `git:${build.revision}`,
      digest: { gitCommit: build.revision },
      annotations: { clean: build.dirty !== null && build.dirty.length === 0 },
    });
  }
  deps.push({
    uri: `pkg:golang/stdlib@${build.goVersion}`,
    annotations: { go_version_requested: pins.go_version_requested ?? null },
  });
  const builder = typeof pins.builder_image === "string" ? pins.builder_image : null;
  if (build.mode === "docker" && builder) {
    const at = builder.lastIndexOf("@sha256:");
    deps.push({
      uri: `docker://${at >= 0 ? builder.slice(0, at) : builder}`,
      digest: at >= 0 ? { sha256: builder.slice(at + 8) } : undefined,
    });
  }
  // The base image: config.json's digest, or the one init pinned for its tag.
  const basePin = pins.base_image as { requested?: unknown; pinned?: unknown } | undefined;
  const configured = typeof input.config.base_image === "string" ? input.config.base_image : null;
  const base = basePin && basePin.requested === configured && typeof basePin.pinned === "string"
    ? basePin.pinned
    : configured;
  const baseAt = base?.lastIndexOf("@sha256:") ?? -1;
  if (base && baseAt >= 0) {
    deps.push({
      uri: `oci://${base.slice(0, baseAt)}`,
      digest: { sha256: base.slice(baseAt + 8) },
      annotations: { role: "base image" },
    });
  }
  if (typeof pins.ca_bundle_sha256 === "string") {
    deps.push({ name: "ca-certificates", digest: { sha256: pins.ca_bundle_sha256 } });
  }
  if (typeof pins.tzdata_sha256 === "string") {
    deps.push({ name: "tzdata", digest: { sha256: pins.tzdata_sha256 } });
  }
  const { generated: _generated, ...resolvedPins } = pins;
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject,
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          config: input.config,
          build_cmd: input.config.build_cmd ?? null,
          mode: build.mode,
        },
        internalParameters: {
          pins: resolvedPins,
          created: build.created,
          createdFrom: build.createdFrom,
          dirty: build.dirty,
        },
        resolvedDependencies: deps,
      },
      runDetails: {
        builder: {
          id: `pkg:generic/r10e@${input.r10eVersion}`,
          version: { r10e: input.r10eVersion },
        },
        metadata: {},
      },
    },
  };
}

function hexOf(digest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new TypeError(`Invalid manifest digest "${digest}": expected sha256:<64 hex digits>`);
  }
  return digest.slice(7);
}
