/**
 * `r10e build`: run build_cmd with the pinned toolchain, stage the artifacts,
 * extern_data and CA bundle, and write the image archive atomically
 * (DESIGN: pipeline of build).
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { diskFullOr } from "../disk_full.ts";
import { ownerOfTemporary, replaceAtomically } from "../atomic_write.ts";
import { removeStaleTemporaries } from "../signals.ts";
import { BuildFailed, ConfigError } from "../errors.ts";
import { loadConfig } from "../config/load.ts";
import { type Config, expandPlatform, type LoadedConfig } from "../config/schema.ts";
import { healthcheckProblem } from "../config/healthcheck.ts";
import { Sha256 } from "../image/digest.ts";
import { parsePlatform } from "../image/platform.ts";
import {
  type ArchiveResult,
  type ArchiveSpec,
  FORMAT_VERSION,
  type LayerSpec,
  type RuntimeConfig,
  writeImageArchive,
} from "../image/writer.ts";
import { type ArtifactAudit, prepareAudit, type PreparedAudit } from "./audit.ts";
import { caBundle } from "../pinned/ca_bundle.ts";
import { tempLayerSpool } from "../image/spool.ts";
import { collect, tzdataItems } from "./collect.ts";
import { chooseMode, dockerBuildCmd, type DockerStaging } from "./docker.ts";
import {
  type DirtyPath,
  dirtyPaths,
  headCommitTime,
  headRevision,
  trackedPaths,
} from "../project/git.ts";
import { findProjectRoot } from "../project/root.ts";
import { parsePins, pinnedPlatforms, type Pins } from "../project/pins.ts";
import { archiveName, OUT_DIR, PINS_PATH } from "../project/layout.ts";
import { runOnHost } from "./run_host.ts";
import { dateShiftPrefix, faketimeWrap, waitForFile } from "./clock_shift.ts";
import {
  dirtyWarning,
  leakWarnings,
  newUntracked,
  readGoModFacts,
  untrackedOutputWarning,
} from "./warnings.ts";
import { formatProblem } from "../errors.ts";
import { recordDigests } from "../project/record.ts";
import { layerEntries, type StagedItem } from "./stage.ts";
import { buildEnv, parseSourceDateEpoch } from "./toolchain.ts";
import { prepareDocuments, writeDocuments, type WrittenDocument } from "../sbom/build_documents.ts";
import { VERSION } from "../version.ts";
import { checkTzdataPin, loadTzdata } from "../pinned/tzdata.ts";
import { runtimeRootEntries, runtimeUser } from "../pinned/runtime_root.ts";
import {
  type BaseImage,
  baseTree,
  checkBaseImagePin,
  effectiveBaseImage,
  loadBaseImage,
  mergeRuntime,
  resolveInTree,
} from "./base_image.ts";
import type { SbomBinary, SbomFile } from "../sbom/model.ts";

/** The PATH every image gets. */
export const IMAGE_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The fixed `created_by` texts of r10e's layers, part of the image format. */
export const LAYER_CREATED_BY = {
  runtimeRoot: "r10e: runtime root",
  ca: "r10e: CA bundle",
  tzdata: "r10e: tzdata",
  externData: "r10e: extern_data",
  artifacts: "r10e: artifacts",
} as const;

/** The `created_by` of a base image's layer in build's output (its history is the base's). */
export const BASE_LAYER = "base image";

/** r10e's cache directory: `$XDG_CACHE_HOME/r10e`, default `~/.cache/r10e`. */
export function cacheDir(env: Record<string, string>): string {
  return `${env.XDG_CACHE_HOME || `${env.HOME ?? ""}/.cache`}/r10e`;
}

/** Where build_cmd runs. */
export type BuildMode = "host" | "docker" | "auto";

/** Options of `build`. */
export interface BuildOptions {
  /** config.json, absolute or relative to `cwd`. */
  configPath: string;
  /** The working directory: the project root when no go.mod is at or above config.json. */
  cwd: string;
  /** `--project-dir`: the project root, overriding the go.mod rule. */
  projectDir?: string;
  /**
   * The host environment, which build reads for: SOURCE_DATE_EPOCH (the creation time); the
   * variables build_cmd keeps (toolchain.ts `PASSED_THROUGH`: PATH, HOME, the Go caches and
   * proxies); the docker client's own (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG, …), which
   * run docker and find a base image's credentials; XDG_CACHE_HOME or HOME (the base cache).
   */
  hostEnv: Record<string, string>;
  mode: BuildMode;
  /** The outer archive: gzip (default) or plain tar. */
  format?: "tar.gz" | "tar";
  /** Skip build_cmd and package what is on disk (for re-packaging and tests). */
  skipBuildCmd?: boolean;
  /**
   * Called once the mode is known, before build_cmd runs on the host: throws when a tool it needs
   * (Go) is missing, so that the user reads how to get it rather than a shell's "not found".
   */
  checkHostTools?: () => Promise<void>;
  allowUnpinned?: boolean;
  /** --in docker: network of the build_cmd container (default none: modules come from the host's cache). */
  network?: string;
  onProgress?: (message: string) => void;
  /** Bytes of the current long step (compressing a layer, writing the archive), for a bar. */
  onBytes?: (done: number, total: number) => void;
  /** Warnings the user must see even with -q (a dirty tree). */
  onWarning?: (message: string) => void;
  /** build_cmd's output, as it comes. */
  onOutput?: (chunk: Uint8Array) => void;
  signal?: AbortSignal;
  /** `--record`: write the digests to r10e-docker/digests.json, the expectation `check` compares with. */
  record?: boolean;
  /**
   * A clock shift such as "+3d" that build_cmd runs under (faketime on the host, a shifted `date`
   * in the builder), so that a timestamp it stamps differs: `r10e check` gives it to build B.
   */
  clockShift?: string;
  /**
   * build_cmd starts only once this file exists: `r10e check` creates it when build A's build_cmd
   * has finished, so that the two see different wall clocks while B's start-up overlaps A.
   */
  startAfter?: string;
  /** Skip the audit of the artifacts' build info (benchmarks measure its cost with it). */
  skipAudit?: boolean;
  /** Make no SBOMs or provenance (benchmarks measure their cost with it). */
  skipDocuments?: boolean;
}

/** One artifact's digest, as r10edocker printed them. */
export interface ArtifactDigest {
  src: string;
  dest: string;
  sha256: string;
  size: number;
}

/** One layer of a built image. */
export interface LayerDigest {
  createdBy: string;
  digest: string;
  size: number;
}

/** One platform's image in the archive (an archive of several platforms holds one each). */
export interface PlatformImage {
  /** `os/arch[/variant]`, as in config.json. */
  platform: string;
  /** Config digest, which Docker shows as the image ID. */
  imageId: string;
  /** This platform's manifest digest: the same as if it had been built alone. */
  manifestDigest: string;
  layers: LayerDigest[];
  artifacts: ArtifactDigest[];
}

/** What `build` produced. */
export interface BuildResult {
  archivePath: string;
  archiveSha256: string;
  archiveSize: number;
  /**
   * The top-level image fields describe the image `docker load` gets (manifest.json's):
   * the only one, or linux/amd64 when it was built, else the first platform.
   */
  imageId: string;
  manifestDigest: string;
  layers: LayerDigest[];
  artifacts: ArtifactDigest[];
  /** Every platform's image, in config order (one entry for a one-platform build). */
  images: PlatformImage[];
  /** For several platforms: the digest of the image index listing them, the one to deploy. */
  indexDigest?: string;
  /** Creation time in seconds and where it came from. */
  created: number;
  createdFrom: "SOURCE_DATE_EPOCH" | "git HEAD" | "default (0)";
  goVersion: string;
  mode: "host" | "docker";
  /** Uncommitted paths when the tree was dirty, else empty; null outside git. */
  dirty: string[] | null;
  /** The project root: where build_cmd ran and `src` paths resolved. */
  root: string;
  /** The commit recorded as `org.opencontainers.image.revision`, null outside git. */
  revision: string | null;
  /** The check of each artifact's Go build info (audit.ts); null when skipped. */
  audit: ArtifactAudit[] | null;
  /** The SBOMs and provenance written beside the archive. */
  documents: WrittenDocument[];
}

/**
 * Runs the whole build, phase by phase as DESIGN's pipeline of build draws it.
 * @throws {ConfigError} for config, pins or artifact problems (exit 2).
 * @throws {BuildFailed} when build_cmd fails (exit 1).
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const say = {
    progress: options.onProgress ?? (() => {}),
    warn: options.onWarning ?? options.onProgress ?? (() => {}),
  };
  const project = await loadProject(options, say);
  const bases = await loadBases(project, options, say);
  const mode = await chooseMode({
    requested: options.mode,
    pinnedBuilder: project.pins.builder_image,
    ctx: { env: options.hostEnv, signal: options.signal },
    onProgress: say.progress,
  });
  if (mode === "host" && !options.skipBuildCmd) await options.checkHostTools?.();
  // Reads HEAD and the tree before build_cmd can change them.
  const auditor = await prepareAudit({
    root: project.root,
    goVersion: project.pins.go_version,
    cgo: project.config.cgo === true,
    mode,
    skip: options.skipAudit,
    onProgress: say.progress,
  });
  if (!options.skipBuildCmd) await waitForFile(options.startAfter, options.signal);
  // Docker mode copies the files out into a staging folder, removed when build returns.
  await using dockerStaging = await runBuildCmd(project, mode, options, say);
  const filesRoot = dockerStaging?.root ?? project.root;
  const staged = await stageImages(project, bases, auditor, filesRoot, say);
  const built = await writeImage(project, staged, { mode, filesRoot }, options, say);
  if (options.record) {
    say.progress(`Recorded the digests in ${await recordDigests(built, project.format)}`);
  }
  return built;
}

/** Where build's progress lines and warnings go. */
interface Say {
  progress: (message: string) => void;
  warn: (message: string) => void;
}

/** What build knows of the project before build_cmd runs; every later phase reads it. */
interface Project {
  loaded: LoadedConfig;
  config: Config;
  root: string;
  pins: Pins;
  format: "tar.gz" | "tar";
  /** config.platforms, which checkPins made equal to the pinned list. */
  platforms: string[];
  several: boolean;
  created: number;
  createdFrom: BuildResult["createdFrom"];
  /** The git tree's uncommitted paths before build_cmd ran; null outside git. */
  status: DirtyPath[] | null;
  /** build_cmd's environment for one platform, from the host's. */
  envFor: (host: Record<string, string>, platform: string) => Record<string, string>;
}

/**
 * Loads config.json and the pins, checks one against the other, finds the creation time, and
 * says what may make this build differ from a build of the commit (a dirty tree, leaks in
 * build_cmd, go.mod against the pinned Go).
 */
async function loadProject(options: BuildOptions, say: Say): Promise<Project> {
  const loaded = await loadConfig(resolve(options.cwd, options.configPath), options.configPath);
  const { config } = loaded;
  const { root, why } = await findProjectRoot(options.configPath, options);
  say.progress(`Project root ${root} (${why})`);
  const pinsFile = `${root}/${PINS_PATH}`;
  const pins = await readPins(pinsFile);
  checkPins(config, pins, pinsFile);
  const platforms = config.platforms;
  const { created, createdFrom } = await creationTime(options.hostEnv, root);
  say.progress(`Creation time ${new Date(created * 1000).toISOString()} (from ${createdFrom})`);
  const status = await dirtyPaths(root);
  if (status && status.length) {
    const srcs = platforms.flatMap((p) => config.artifacts.map((a) => expandPlatform(a.src, p)));
    say.warn(dirtyWarning(status, srcs, root));
  }
  for (const w of loaded.warnings) say.warn(formatProblem(w));
  if (!options.skipBuildCmd) {
    for (const w of await leakWarnings(root, config.build_cmd)) say.warn(w);
  }
  const mod = await readGoModFacts(root, pins.go_version);
  for (const w of mod.warnings) say.warn(w);
  if (mod.vendor) {
    say.progress(
      "Building from vendor/ (GOFLAGS -mod=vendor): go.mod and vendor/modules.txt make it " +
        "the default of `go build`",
    );
  }
  return {
    loaded,
    config,
    root,
    pins,
    format: options.format ?? "tar.gz",
    platforms,
    several: platforms.length > 1,
    created,
    createdFrom,
    status,
    envFor: (host, platform) =>
      buildEnv({
        host,
        goVersion: pins.go_version,
        platform,
        sourceDateEpoch: created,
        mod: mod.vendor ? "vendor" : "readonly",
        cgo: config.cgo === true,
      }),
  };
}

/**
 * The base image's layers for each platform, from the cache (fetched once, checked on every
 * read), before build_cmd runs: a platform it lacks or a registry out of reach is said before
 * minutes of work. Null without a base image.
 */
async function loadBases(
  project: Project,
  options: BuildOptions,
  say: Say,
): Promise<BaseImage[] | null> {
  const baseImage = effectiveBaseImage(project.config.base_image, project.pins.base_image);
  if (!baseImage) return null;
  return await loadBaseImage(baseImage, project.platforms.map(parsePlatform), {
    env: options.hostEnv,
    cacheDir: cacheDir(options.hostEnv),
    onProgress: say.progress,
  });
}

/**
 * Runs build_cmd: in the pinned builder (every platform in one container run), whose staging
 * folder of copied-out files it returns, or on the host once per platform, one after the other
 * (they may share paths). Nothing with --no-build-cmd.
 * @throws {BuildFailed} when build_cmd fails or is interrupted.
 */
async function runBuildCmd(
  project: Project,
  mode: "host" | "docker",
  options: BuildOptions,
  say: Say,
): Promise<DockerStaging | null> {
  if (options.skipBuildCmd) return null;
  const { config, pins, platforms, root } = project;
  if (mode === "docker") {
    return await dockerBuildCmd({
      root,
      configFile: project.loaded.file,
      // libfaketime cannot be loaded into any builder image: a `date` shifted the same way.
      buildCmd: dateShiftPrefix(options.clockShift) + config.build_cmd,
      configuredBuilder: config.builder_image,
      pinnedBuilder: pins.builder_image,
      srcs: [
        ...platforms.flatMap((p) => config.artifacts.map((a) => expandPlatform(a.src, p))),
        ...config.extern_data.map((m) => m.src),
      ],
      platforms,
      makeEnv: project.envFor,
      hostEnv: options.hostEnv,
      allowUnpinned: options.allowUnpinned,
      network: options.network,
      onProgress: say.progress,
      onOutput: options.onOutput ?? (() => {}),
      signal: options.signal,
    });
  }
  const wrap = faketimeWrap(options.clockShift);
  if (wrap.length) say.progress(`build_cmd runs under ${wrap.join(" ")} (a clock shift)`);
  for (const platform of platforms) {
    const on = project.several ? `, ${platform}` : "";
    say.progress(
      `Running build_cmd ${
        JSON.stringify(config.build_cmd)
      } on the host (Go ${pins.go_version}${on})`,
    );
    const code = await runOnHost({
      command: config.build_cmd,
      cwd: root,
      env: project.envFor(options.hostEnv, platform),
      wrap,
      onOutput: options.onOutput ?? (() => {}),
      signal: options.signal,
    });
    if (options.signal?.aborted) {
      throw new BuildFailed("Interrupted while build_cmd ran: no image was written");
    }
    if (code !== 0) {
      throw new BuildFailed(
        `build_cmd ${JSON.stringify(config.build_cmd)} failed with exit code ${code}${
          project.several ? ` (for ${platform})` : ""
        }`,
      );
    }
  }
  if (project.status !== null) {
    const left = newUntracked(project.status, await dirtyPaths(root) ?? []);
    if (left.length) say.warn(untrackedOutputWarning(left, root));
  }
  return null;
}

/** One platform's image before it is written: its layers and its artifacts' digests. */
interface StagedImage {
  platform: string;
  layers: LayerSpec[];
  digests: (() => ArtifactDigest)[];
  base?: BaseImage;
  baseFiles?: SbomFile[];
  baseBinaries?: SbomBinary[];
}

/** What the staging phase gives the writer. */
interface Staged {
  images: StagedImage[];
  /** The audit of every platform's artifacts; null when skipped. */
  audit: ArtifactAudit[] | null;
}

/**
 * Stages each platform's layers: the base's, the shared ones (runtime root, CA bundle, tzdata,
 * extern_data), and its artifacts, whose build info is audited against the pins first.
 * @throws {ConfigError} with every artifact's and extern_data's problem, for all platforms.
 * @throws {BuildFailed} when an artifact fails the audit.
 */
async function stageImages(
  project: Project,
  bases: BaseImage[] | null,
  auditor: PreparedAudit,
  filesRoot: string,
  say: Say,
): Promise<Staged> {
  const { loaded, config, platforms, several } = project;
  say.progress("Staging artifacts, extern_data and the CA bundle");
  const shared = await stageSharedLayers(project, filesRoot);
  const audit: ArtifactAudit[] = [];
  let audited = true;
  const problems: ConfigError[] = [];
  const images: StagedImage[] = [];
  for (const platform of platforms) {
    const artifacts = config.artifacts.map((a) => ({ ...a, src: expandPlatform(a.src, platform) }));
    let collected;
    try {
      collected = await collect(
        { ...loaded, config: { ...config, artifacts, extern_data: [] } },
        filesRoot,
        null,
      );
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error);
      continue;
    }
    if (problems.length) continue;
    // The artifacts' build info must match the pins, and the platform, before anything is written.
    const base = bases?.[platforms.indexOf(platform)];
    const tree = base ? await baseTree(base.layers) : null;
    const provided = [...shared.items, ...collected.artifacts]
      .filter((i) => i.kind !== "dir").map((i) => i.dest)
      // What the base image holds counts too: its loader and libraries, for a dynamic executable.
      .concat(tree ? [...tree.keys()] : []);
    const unhealthy = config.healthcheck
      ? healthcheckProblem(config.healthcheck, new Set(provided))
      : null;
    if (unhealthy) {
      problems.push(
        new ConfigError(`Invalid config "${loaded.file}"`, [{
          file: loaded.file,
          ...loaded.locate(["healthcheck", "test"]),
          path: "healthcheck.test",
          message: several ? `${platform}: ${unhealthy}` : unhealthy,
        }]),
      );
      continue;
    }
    const checked = await auditor.check(filesRoot, artifacts, {
      platform,
      several,
      provided,
      ...(tree ? { resolves: (path: string) => resolveInTree(tree, path) !== null } : {}),
    });
    if (checked) audit.push(...checked);
    else audited = false;
    // Wrapped before staging: the layer's entries take the item's content function.
    const digests = collected.artifacts.map((item, i) => hashOnRead(item, artifacts[i].src));
    images.push({
      platform,
      base,
      ...(tree
        ? {
          baseFiles: [...tree].flatMap(([path, e]) =>
            e.kind === "file" ? [{ path, size: e.size, sha256: e.sha256!, sha1: e.sha1! }] : []
          ),
          // Go binaries of the base with their modules, as `r10e sbom` lists them from the archive.
          baseBinaries: [...tree].flatMap(([path, e]) =>
            e.kind === "file" && e.info ? [{ path, sha256: e.sha256!, info: e.info }] : []
          ),
        }
        : {}),
      layers: [
        ...(base?.layers.map((blob) => ({ createdBy: BASE_LAYER, entries: [], blob })) ?? []),
        ...shared.layers,
        { createdBy: LAYER_CREATED_BY.artifacts, entries: stageLayer(collected.artifacts) },
      ],
      digests,
    });
  }
  // The artifacts' problems first, then extern_data's, as one config error (as for one platform).
  if (shared.error) problems.push(shared.error);
  if (problems.length) throw mergeConfigErrors(problems);
  return { images, audit: audited ? audit : null };
}

/**
 * The layers every platform shares (runtime root, CA bundle, tzdata, extern_data): one LayerSpec
 * object each, which the writer hashes and stores once. extern_data's problem is returned, not
 * thrown, so that it is said after the artifacts'.
 */
async function stageSharedLayers(
  project: Project,
  filesRoot: string,
): Promise<{ layers: LayerSpec[]; items: StagedItem[]; error: ConfigError | null }> {
  const { loaded, config, root } = project;
  const ca = config.include_ca_bundle ? caBundle() : null;
  const tracked = await trackedPaths(root);
  const collected = await collect(
    { ...loaded, config: { ...config, artifacts: [] } },
    filesRoot,
    ca,
    // In a git project extern_data takes only what git tracks: a clone must give the same image.
    { tracked, gitRoot: root },
  ).catch((error) => {
    if (!(error instanceof ConfigError)) throw error;
    return error;
  });
  const shared = collected instanceof ConfigError
    ? { ca: [], externData: [], artifacts: [] }
    : collected;
  const layers: LayerSpec[] = [
    { createdBy: LAYER_CREATED_BY.ca, items: shared.ca },
    {
      createdBy: LAYER_CREATED_BY.tzdata,
      items: config.include_tzdata ? tzdataItems(await loadTzdata()) : [],
    },
    { createdBy: LAYER_CREATED_BY.externData, items: shared.externData },
  ].filter((l) => l.items.length > 0).map((l) => ({
    createdBy: l.createdBy,
    entries: stageLayer(l.items),
  }));
  // The runtime root is the lowest layer: its bytes change only with r10e's image format, so it
  // is the one a registry and an engine reuse across every image and every version of the app.
  if (config.runtime) {
    layers.unshift({ createdBy: LAYER_CREATED_BY.runtimeRoot, entries: runtimeRootEntries() });
  }
  return {
    layers,
    items: [...shared.externData, ...shared.ca],
    error: collected instanceof ConfigError ? collected : null,
  };
}

/**
 * Writes the archive atomically to r10e-docker/out/ and the SBOMs and provenance beside it
 * (never inside it, where the provenance, which records the mode, would make host and docker
 * archives differ); what build prints.
 */
async function writeImage(
  project: Project,
  staged: Staged,
  how: { mode: "host" | "docker"; filesRoot: string },
  options: BuildOptions,
  say: Say,
): Promise<BuildResult> {
  const { config, pins, root, created, createdFrom, format } = project;
  const images = staged.images;
  const revision = await headRevision(root);
  const dirty = project.status?.map((d) => d.path) ?? null;
  const archivePath = `${root}/${OUT_DIR}/${archiveName(config.project_name, format)}`;
  const dockerImage = dockerLoadImage(project.platforms);
  const documents = prepareDocuments(
    images.map((p) => ({
      platform: parsePlatform(p.platform),
      layers: p.layers,
      artifacts: () => p.digests.map((d) => d()),
      ...(p.baseFiles ? { baseFiles: p.baseFiles } : {}),
      ...(p.baseBinaries ? { baseBinaries: p.baseBinaries } : {}),
    })),
    {
      skip: options.skipDocuments,
      imageName: `${config.project_name}:latest`,
      created,
      tool: { name: "r10e", version: VERSION },
      filesRoot: how.filesRoot,
      provenance: {
        record: {
          created,
          createdFrom,
          goVersion: pins.go_version,
          mode: how.mode,
          dirty,
          revision,
        },
        config: config as unknown as Record<string, unknown>,
        pins: pins as unknown as Record<string, unknown>,
        sourceUri: config.source ?? null,
      },
    },
  );
  // Compressed layers beyond the writer's memory bound wait in a temporary file (TMPDIR).
  await using spool = tempLayerSpool();
  const result = await writeAtomically(
    archivePath,
    options.signal,
    (sink) =>
      writeImageArchive(imageSpec(project, images, revision), sink, {
        compress: format === "tar.gz",
        onProgress: say.progress,
        onBytes: options.onBytes,
        spool,
        signal: options.signal,
      }),
  );
  const made = await documents.make(result);
  const platformImages: PlatformImage[] = result.images.map((image, n) => ({
    platform: images[n].platform,
    imageId: image.imageId,
    manifestDigest: image.manifestDigest,
    layers: image.layers.map((l, i) => ({
      createdBy: images[n].layers[i].createdBy,
      digest: l.digest,
      size: l.size,
    })),
    artifacts: images[n].digests.map((d) => d()),
  }));
  const loads = platformImages[dockerImage];
  return {
    archivePath,
    archiveSha256: result.archiveSha256,
    archiveSize: result.archiveSize,
    imageId: loads.imageId,
    manifestDigest: loads.manifestDigest,
    layers: loads.layers,
    artifacts: loads.artifacts,
    images: platformImages,
    ...(result.indexDigest ? { indexDigest: result.indexDigest } : {}),
    created,
    createdFrom,
    goVersion: pins.go_version,
    mode: how.mode,
    dirty,
    root,
    revision,
    audit: staged.audit,
    documents: await writeDocuments(archivePath, made),
  };
}

/** What the image writer takes: each platform's config (over its base's) and layers. */
function imageSpec(
  project: Project,
  images: StagedImage[],
  revision: string | null,
): ArchiveSpec {
  const { config } = project;
  const runtime = runtimeConfig(config);
  return {
    repository: config.project_name,
    tag: "latest",
    created: project.created,
    ...(revision ? { revision } : {}),
    ...(config.source ? { source: config.source } : {}),
    layerCompression: config.layer_compression,
    images: images.map((p) => ({
      platform: parsePlatform(p.platform),
      config: p.base
        ? mergeRuntime(p.base.defaults, runtime, {
          env: config.env,
          entrypoint: config.entrypoint !== undefined,
          cmd: config.cmd !== undefined,
        })
        : runtime,
      layers: p.layers,
      ...(p.base
        ? {
          baseHistory: p.base.history,
          // The OCI annotations of a base, so that verify and scanners name a base change.
          annotations: {
            "org.opencontainers.image.base.digest": p.base.digest,
            "org.opencontainers.image.base.name": p.base.name,
          },
        }
        : {}),
    })),
    dockerImage: dockerLoadImage(project.platforms),
  };
}

function stageLayer(items: StagedItem[]) {
  try {
    return layerEntries(items);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** The runtime config of the image from config.json. */
export function runtimeConfig(config: Config): RuntimeConfig {
  // The configured PATH replaces the default one; other variables follow in name order.
  const env = [
    ...(config.env.PATH === undefined ? [IMAGE_PATH] : []),
    ...Object.keys(config.env).sort().map((k) => `${k}=${config.env[k]}`),
  ];
  const labels: Record<string, string> = {};
  if (config.maintainers.length) {
    labels["org.opencontainers.image.authors"] = config.maintainers.join(", ");
  }
  Object.assign(labels, config.labels);
  const user = config.user ?? runtimeUser(config.runtime);
  return {
    Env: env,
    ...(config.entrypoint ? { Entrypoint: config.entrypoint } : {}),
    ...(config.cmd ? { Cmd: config.cmd } : {}),
    ...(config.workdir ? { WorkingDir: config.workdir } : {}),
    ...(user ? { User: user } : {}),
    ...(Object.keys(labels).length ? { Labels: labels } : {}),
    // Only when set, so that other images keep their bytes.
    ...(config.exposed_ports.length
      ? { ExposedPorts: Object.fromEntries(config.exposed_ports.map((p) => [p, {}])) }
      : {}),
    ...(config.stop_signal ? { StopSignal: config.stop_signal } : {}),
    ...(config.healthcheck ? { Healthcheck: config.healthcheck } : {}),
  };
}

/**
 * Which platform's image manifest.json carries (the docker-archive view that `docker load`
 * of Docker before 25 reads): linux/amd64 when it is built, else the first (README: platforms).
 */
export function dockerLoadImage(platforms: readonly string[]): number {
  const amd64 = platforms.indexOf("linux/amd64");
  return amd64 >= 0 ? amd64 : 0;
}

/** Several platforms' config errors as one, every problem kept. */
function mergeConfigErrors(errors: ConfigError[]): ConfigError {
  if (errors.length === 1) return errors[0];
  const seen = new Set<string>();
  const problems = errors.flatMap((e) => e.problems).filter((p) => {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return new ConfigError(errors[0].message.split("\n")[0], problems);
}

/** Wraps a file item so that its sha256 is computed on its first full read. */
function hashOnRead(item: StagedItem, src: string): () => ArtifactDigest {
  let digest: string | null = null;
  const read = item.content!;
  item.content = async function* () {
    const hash = digest === null ? new Sha256() : null;
    for await (const chunk of read()) {
      hash?.update(chunk);
      yield chunk;
    }
    if (hash) digest = hash.hex();
  };
  return () => ({ src, dest: item.dest, sha256: digest ?? "", size: item.size ?? 0 });
}

async function readPins(path: string): Promise<Pins> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ConfigError(
        `Cannot build: "${path}" is missing; run \`r10e init\` first to pin the build inputs`,
      );
    }
    throw error;
  }
  return parsePins(text, path);
}

/**
 * Checks that r10e-docker/ was written for this config and this r10e.
 * @throws {ConfigError} naming what drifted and how to accept it.
 */
export function checkPins(config: Config, pins: Pins, file: string): void {
  const problems: string[] = [];
  if ((config.go_version ?? null) !== pins.go_version_requested) {
    problems.push(
      `config.json asks for go_version ${
        JSON.stringify(config.go_version ?? null)
      } but "${file}" was written for ${JSON.stringify(pins.go_version_requested)}`,
    );
  }
  const pinned = pinnedPlatforms(pins);
  if (config.platforms.join(" ") !== pinned.join(" ")) {
    const list = (p: string[]) =>
      p.length === 1 ? `platform "${p[0]}"` : `platforms ${JSON.stringify(p)}`;
    problems.push(
      `config.json asks for ${list(config.platforms)} but "${file}" pins ${list(pinned)}`,
    );
  }
  if (pins.image_format !== FORMAT_VERSION) {
    problems.push(
      `"${file}" was written for image format ${pins.image_format}, this r10e writes format ${FORMAT_VERSION}`,
    );
  }
  const ca = config.include_ca_bundle ? caBundle().sha256 : null;
  if (ca !== pins.ca_bundle_sha256) {
    problems.push(
      ca === null || pins.ca_bundle_sha256 === null
        ? `include_ca_bundle is ${config.include_ca_bundle} but "${file}" says ${
          pins.ca_bundle_sha256 === null ? "no CA bundle" : "a CA bundle"
        }`
        : `the CA bundle shipped with this r10e (sha256 ${ca}) differs from the one pinned in "${file}" (sha256 ${pins.ca_bundle_sha256})`,
    );
  }
  const tz = checkTzdataPin(config.include_tzdata, pins.tzdata_sha256, file);
  if (tz) problems.push(tz);
  const base = checkBaseImagePin(config.base_image, pins.base_image, file);
  if (base) problems.push(base);
  if (problems.length) {
    throw new ConfigError(
      `Cannot build: r10e-docker/ does not match: ${
        problems.join("; ")
      }. Run \`r10e init\` to accept the change and commit r10e-docker/`,
    );
  }
}

/** The creation time: SOURCE_DATE_EPOCH, else the commit time of HEAD, else 0 (DESIGN: creation time). */
export async function creationTime(
  hostEnv: Record<string, string>,
  root: string,
): Promise<{ created: number; createdFrom: BuildResult["createdFrom"] }> {
  const sde = hostEnv.SOURCE_DATE_EPOCH;
  if (sde !== undefined && sde !== "") {
    try {
      return { created: parseSourceDateEpoch(sde), createdFrom: "SOURCE_DATE_EPOCH" };
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  const head = await headCommitTime(root);
  if (head !== null) return { created: head, createdFrom: "git HEAD" };
  return { created: 0, createdFrom: "default (0)" };
}

/** Buffered writes, to a temporary file renamed over `path` only when complete. */
async function writeAtomically(
  path: string,
  signal: AbortSignal | undefined,
  write: (sink: (chunk: Uint8Array) => Promise<void>) => Promise<ArchiveResult>,
): Promise<ArchiveResult> {
  const dir = dirname(path);
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new ConfigError(`Cannot write the image to "${dir}": ${(error as Error).message}`);
  }
  // Left by a build killed too hard to clean up (SIGKILL): removed now.
  await removeStaleTemporaries(dir, ownerOfTemporary);
  try {
    return await replaceAtomically(path, "build", async (tmp) => {
      let file: Deno.FsFile;
      try {
        file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
      } catch (error) {
        throw new ConfigError(`Cannot write the image to "${dir}": ${(error as Error).message}`);
      }
      const buffer = new Uint8Array(1 << 20);
      let fill = 0;
      const flush = async () => {
        let off = 0;
        while (off < fill) off += await file.write(buffer.subarray(off, fill));
        fill = 0;
      };
      let result: ArchiveResult;
      try {
        result = await write(async (chunk) => {
          if (signal?.aborted) throw new BuildFailed("Interrupted: no image was written");
          if (fill + chunk.length > buffer.length) await flush();
          if (chunk.length >= buffer.length) {
            let off = 0;
            while (off < chunk.length) off += await file.write(chunk.subarray(off));
            return;
          }
          buffer.set(chunk, fill);
          fill += chunk.length;
        });
        await flush();
        await file.syncData();
      } finally {
        file.close();
      }
      await Deno.chmod(tmp, 0o644);
      return result;
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw diskFullOr(error, path, "output");
  }
}
