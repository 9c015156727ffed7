/**
 * The build checks its own artifacts before it writes the image (DESIGN:
 * pipeline of build): every Go artifact's embedded build info must show
 * the pinned Go version, `CGO_ENABLED=0`, `-trimpath`, and in a git project
 * `vcs.revision` = HEAD with `vcs.modified` as the tree was when build_cmd ran.
 * Anything else means the image is not the function of the commit that r10e
 * promises: another toolchain, flags or tree got in.
 *
 * A mismatch is a failed build (exit 1, `BuildFailed`): the config is valid, the
 * artifacts build_cmd made are wrong. Each mismatch names the artifact, the
 * field, what was expected and found, and the likely cause.
 *
 * `checkBuildInfo` is pure; `auditArtifacts` reads the files (headers and the
 * build info blob only: a few KB per artifact, whatever its size).
 *
 * @module
 */
import { BuildFailed } from "../errors.ts";
import { parsePlatform } from "../image/platform.ts";
import { type GoBuildInfo, readGoBuildInfo } from "../gobinary/go_binary.ts";
import { type DynamicNeeds, parseElf, readDynamicNeeds } from "../gobinary/elf.ts";
import { fileRandomAccess } from "../gobinary/random_access.ts";

/** What every Go artifact must show. */
export interface AuditExpectations {
  /** Exact pinned Go version, e.g. "1.26.8". */
  goVersion: string;
  /** `git rev-parse HEAD` of the project, or null outside git (then vcs is not checked). */
  revision: string | null;
  /** Whether the tree was dirty when build_cmd ran (Go's vcs.modified); null outside git. */
  modified: boolean | null;
  /** Where build_cmd ran: the likely causes differ. */
  mode: "host" | "docker";
  /** config.json's `cgo`: CGO_ENABLED must be 1 (else 0). */
  cgo?: boolean;
  /**
   * `os/arch[/variant]` the artifact is for: its GOOS and GOARCH (and GOARM for
   * linux/arm/vN) must match: one platform's binary must not end up in another's image.
   */
  platform?: string;
  /**
   * The files the image will hold (absolute paths: artifacts and extern_data): a loader or
   * library an executable needs is fine when the image provides it.
   */
  provided?: readonly string[];
  /**
   * Whether a path leads to a file of the image through its symlinks (`/lib64` → `usr/lib64` in
   * a merged-/usr base): a loader named by such a path is provided too.
   */
  resolves?: (path: string) => boolean;
}

/** One field of one artifact that is not what r10e pinned. */
export interface Mismatch {
  /** `Go version`, `CGO_ENABLED`, `-trimpath`, `vcs.revision`, `vcs.modified`. */
  field: string;
  expected: string;
  found: string;
  /** The likely cause and fix. */
  cause: string;
}

/** The audit of one artifact. */
export type ArtifactAudit =
  & { src: string; dest: string; /** Set when several platforms were built. */ platform?: string }
  & (
    | { status: "checked"; goVersion: string; mismatches: Mismatch[]; notes: string[] }
    | {
      status: "not checked";
      reason: string;
      /** An ELF file that needs a loader or libraries the image lacks. */
      mismatches?: Mismatch[];
    }
  );

/** An artifact to audit: config src and dest, and where the file is on disk. */
export interface AuditInput {
  src: string;
  dest: string;
  path: string;
}

function setting(info: GoBuildInfo, key: string): string | undefined {
  // The last one wins, as in Go's BuildInfo (a key appears once in practice).
  let value: string | undefined;
  for (const s of info.settings) if (s.key === key) value = s.value;
  return value;
}

const ABSENT = "nothing (not recorded)";

/**
 * Compares one binary's build info with the pins; returns every mismatch and
 * notes (fields deliberately not checked). Pure.
 */
export function checkBuildInfo(
  info: GoBuildInfo,
  expect: AuditExpectations,
): { mismatches: Mismatch[]; notes: string[] } {
  const mismatches: Mismatch[] = [];
  const notes: string[] = [];
  const goVersion = `go${expect.goVersion}`;
  if (info.goVersion !== goVersion) {
    mismatches.push({
      field: "Go version",
      expected: goVersion,
      found: info.goVersion,
      cause:
        `build_cmd sets its own GOTOOLCHAIN or runs another \`go\` (r10e sets GOTOOLCHAIN=${goVersion}; ` +
        "use `go` from PATH and leave GOTOOLCHAIN alone)" +
        (/^go1\.\d+(\.\d+)?$/.test(info.goVersion)
          ? `, or pin the version the project builds with: "go_version": "${
            info.goVersion.slice(2)
          }" in config.json, then \`r10e init\``
          : ""),
    });
  }
  const cgo = setting(info, "CGO_ENABLED");
  const wantCgo = expect.cgo ? "1" : "0";
  if (cgo !== wantCgo) {
    mismatches.push({
      field: "CGO_ENABLED",
      expected: wantCgo,
      found: cgo ?? ABSENT,
      cause: expect.cgo
        ? 'build_cmd sets CGO_ENABLED (r10e sets CGO_ENABLED=1 for "cgo": true)'
        : "build_cmd sets CGO_ENABLED (r10e sets CGO_ENABLED=0: a cgo binary depends on the C library; " +
          'with a base_image that provides it, set "cgo": true in config.json)',
    });
  }
  const trimpath = setting(info, "-trimpath");
  if (trimpath !== "true") {
    mismatches.push({
      field: "-trimpath",
      expected: "true",
      found: trimpath ?? ABSENT,
      cause:
        'build_cmd sets its own GOFLAGS or passes -trimpath=false (r10e sets GOFLAGS="-trimpath -mod=readonly" or -mod=vendor; ' +
        'add to GOFLAGS with GOFLAGS="$GOFLAGS …" instead of replacing it): without -trimpath the binary holds build paths',
    });
  }
  if (expect.platform !== undefined) mismatches.push(...platformMismatches(info, expect.platform));
  if (expect.revision !== null) {
    // `go install module@version`: built from the module cache (its sum is recorded), not from
    // this commit. A main module built from the project has no sum (its version is "(devel)",
    // or since Go 1.24 a pseudo-version from the VCS stamp).
    if (info.main && info.main.sum !== "") {
      notes.push(
        `vcs not checked: built from the module ${info.main.path}@${info.main.version}, not from the project's commit`,
      );
    } else {
      const revision = setting(info, "vcs.revision");
      if (revision === undefined) {
        mismatches.push({
          field: "vcs.revision",
          expected: expect.revision,
          found: "nothing (no VCS stamp)",
          cause: expect.mode === "docker"
            ? "the builder image has no git, or the container sees no .git (config.json not at the root of the repository): " +
              "Go stamps VCS information only when it can run git; use a builder image with git (README: docker mode)"
            : "build_cmd passes -buildvcs=false, or builds outside the project's repository, or git is not on PATH",
        });
      } else {
        if (revision !== expect.revision) {
          mismatches.push({
            field: "vcs.revision",
            expected: expect.revision,
            found: revision,
            cause:
              "the binary was built from another commit or checkout (a stale artifact, or build_cmd builds elsewhere)",
          });
        }
        const modified = setting(info, "vcs.modified");
        const wanted = String(expect.modified ?? false);
        if (expect.modified !== null && modified !== wanted) {
          mismatches.push({
            field: "vcs.modified",
            expected: wanted,
            found: modified ?? ABSENT,
            cause: expect.modified
              ? "the tree was dirty before build_cmd ran but the binary says clean (built from another checkout?)"
              : expect.mode === "docker"
              ? "the tree in the builder container differs from the commit: .dockerignore leaves out tracked files, or build_cmd " +
                "writes files git does not ignore before `go build` runs"
              : "build_cmd writes or changes files git does not ignore before `go build` runs (add them to .gitignore)",
          });
        }
      }
    }
  }
  return { mismatches, notes };
}

/**
 * A loader (PT_INTERP) or shared libraries (DT_NEEDED) that the image does not provide: a FROM
 * scratch image cannot start such an executable ("exec …: no such file or directory"). A
 * library counts as provided when the image holds a file of that name. Pure.
 */
export function dynamicMismatches(
  needs: DynamicNeeds,
  provided: readonly string[],
  buildmode: string | undefined,
  resolves: (path: string) => boolean = () => false,
): Mismatch[] {
  const names = new Set(provided.map((p) => p.slice(p.lastIndexOf("/") + 1)));
  const paths = new Set(provided.map((p) => "/" + p.replace(/^\/+/, "")));
  const out: Mismatch[] = [];
  const fix = buildmode === "pie"
    ? "it was built with -buildmode=pie, which needs the system loader even with CGO_ENABLED=0: " +
      "build with -buildmode=exe (or the project's static target)"
    : "build a static executable (CGO_ENABLED=0 and -buildmode=exe, or the project's static " +
      "target), or use a base_image that provides the loader and libraries";
  if (
    needs.interpreter !== null && !paths.has(needs.interpreter) && !resolves(needs.interpreter)
  ) {
    out.push({
      field: "program interpreter (PT_INTERP)",
      expected: "none (a static executable: the image has no dynamic loader)",
      found: needs.interpreter,
      cause: fix,
    });
  }
  const missing = needs.needed.filter((n) => !names.has(n));
  if (missing.length) {
    out.push({
      field: "shared libraries (DT_NEEDED)",
      expected: "none the image lacks",
      found: missing.join(", "),
      cause: fix,
    });
  }
  return out;
}

/** GOOS, GOARCH and (for linux/arm/vN) GOARM of a binary against the platform it is staged for. */
function platformMismatches(info: GoBuildInfo, platform: string): Mismatch[] {
  const { os, architecture: arch, variant } = parsePlatform(platform);
  const wanted: [string, string][] = [["GOOS", os], ["GOARCH", arch]];
  if (arch === "arm" && variant) wanted.push(["GOARM", variant.slice(1)]);
  const cause =
    `the artifact is not built for ${platform}: build_cmd must build for the GOOS/GOARCH r10e sets ` +
    "(R10E_OS/R10E_ARCH/R10E_VARIANT name the platform), and each platform's artifact src needs its own path " +
    '(e.g. "build/{os}-{arch}/server")';
  const out: Mismatch[] = [];
  for (const [key, value] of wanted) {
    // GOARM is recorded as "7" or, since Go 1.22, "7,softfloat"/"7,hardfloat".
    const found = setting(info, key);
    const same = key === "GOARM" ? found?.split(",")[0] === value : found === value;
    if (!same) out.push({ field: key, expected: value, found: found ?? ABSENT, cause });
  }
  return out;
}

/** Why a file without Go build info was not checked. */
function notGoReason(head: Uint8Array): string {
  const be = head.length >= 4
    ? ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0
    : 0;
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe].includes(be)) {
    return "Mach-O file without Go build info (not a Go binary)";
  }
  if (be === 0xcafebabe) return "universal (fat) Mach-O file: its Go build info is not read";
  if (head[0] === 0x4d && head[1] === 0x5a) return "PE file: no Go build info read from it";
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
    return "ELF file without Go build info (not a Go binary)";
  }
  return "not a Go binary";
}

/**
 * Reads each artifact's build info and checks it (`checkBuildInfo`).
 * Files that are not Go binaries are returned as "not checked" with the reason.
 * @throws {Error} when a file cannot be opened
 */
export async function auditArtifacts(
  inputs: readonly AuditInput[],
  expect: AuditExpectations,
): Promise<ArtifactAudit[]> {
  return await Promise.all(inputs.map(async (input): Promise<ArtifactAudit> => {
    const base = { src: input.src, dest: input.dest };
    using file = await Deno.open(input.path, { read: true });
    const size = (await file.stat()).size;
    const src = fileRandomAccess(file, size);
    let needs: DynamicNeeds | null = null;
    try {
      const elf = await parseElf(src);
      if (elf) needs = await readDynamicNeeds(src, elf);
    } catch {
      // Not a readable ELF file: the Go build info reader says why, or it is not a binary.
    }
    let info: GoBuildInfo | null;
    try {
      info = await readGoBuildInfo(src);
    } catch (error) {
      return {
        ...base,
        status: "not checked",
        reason: `unreadable Go build info: ${(error as Error).message}`,
      };
    }
    const dynamic = needs
      ? dynamicMismatches(
        needs,
        expect.provided ?? [],
        info ? setting(info, "-buildmode") : undefined,
        expect.resolves,
      )
      : [];
    if (!info) {
      return {
        ...base,
        status: "not checked",
        reason: notGoReason(await src.read(0, 4)),
        ...(dynamic.length ? { mismatches: dynamic } : {}),
      };
    }
    const checked = checkBuildInfo(info, expect);
    return {
      ...base,
      status: "checked",
      goVersion: info.goVersion,
      mismatches: [...checked.mismatches, ...dynamic],
      notes: checked.notes,
    };
  }));
}

/**
 * One line per artifact for the progress output: what was checked and what not.
 */
export function describeAudit(
  audits: readonly ArtifactAudit[],
  expect: AuditExpectations,
): string[] {
  const checked = audits.filter((a) => a.status === "checked");
  const lines: string[] = [];
  if (checked.length) {
    const vcs = expect.revision === null
      ? "vcs not checked (Go stamps none: no .git directory at or above the project, or no commit)"
      : `vcs.revision ${expect.revision.slice(0, 12)}, vcs.modified=${expect.modified ?? false}`;
    // What was found, not what was expected: a mismatch shows here as well as in the error.
    const found = [...new Set(checked.map((a) => a.goVersion))].sort().join(", ");
    lines.push(
      `Checked the build info of ${checked.length} Go artifact${
        checked.length > 1 ? "s" : ""
      }: ${found}, ${expect.platform ? `${platformSettings(expect.platform)}, ` : ""}CGO_ENABLED=${
        expect.cgo ? 1 : 0
      }, -trimpath, ${vcs}`,
    );
  }
  for (const a of audits) {
    if (a.status === "not checked") lines.push(`Not checked: ${a.dest} ("${a.src}"): ${a.reason}`);
    else for (const n of a.notes) lines.push(`${a.dest} ("${a.src}"): ${n}`);
  }
  return lines;
}

function platformSettings(platform: string): string {
  const { os, architecture: arch, variant } = parsePlatform(platform);
  return `GOOS=${os} GOARCH=${arch}${
    arch === "arm" && variant ? ` GOARM=${variant.slice(1)}` : ""
  }`;
}

/**
 * Throws when any artifact has a mismatch, with every mismatch of every artifact.
 * @throws {BuildFailed} (exit 1) naming artifact, field, expected, found and cause
 */
export function assertAudit(audits: readonly ArtifactAudit[]): void {
  const lines: string[] = [];
  for (const a of audits) {
    for (const m of a.mismatches ?? []) {
      lines.push(
        `  ${a.platform ? `${a.platform} ` : ""}${a.dest} ("${a.src}"): ${m.field}: expected ${
          JSON.stringify(m.expected)
        }, found ${m.found.startsWith("nothing") ? m.found : JSON.stringify(m.found)}: ${m.cause}`,
      );
    }
  }
  if (lines.length) {
    throw new BuildFailed(
      `The artifacts are not what the pinned build makes, so no image was written:\n${
        lines.join("\n")
      }`,
    );
  }
}

/** Runs git in `dir`; null when git is missing, `dir` is outside a repository, or git fails. */
async function git(dir: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", dir, ...args],
      stdout: "piped",
      stderr: "null",
      env: { LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0" },
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

/**
 * The repository Go stamps from: the nearest directory at or above `dir` that
 * holds a `.git` directory. Go's VCS detection (cmd/go/internal/vcs) looks for
 * a `.git` directory only, so a git worktree or submodule (where `.git` is a
 * file) gets no VCS stamp from its own checkout.
 */
async function goVcsRoot(dir: string): Promise<string | null> {
  let d: string;
  try {
    d = await Deno.realPath(dir);
  } catch {
    return null;
  }
  for (;;) {
    try {
      if ((await Deno.stat(`${d}/.git`)).isDirectory) return d;
    } catch { /* not here */ }
    const parent = d.slice(0, d.lastIndexOf("/")) || "/";
    if (parent === d) return null;
    d = parent;
  }
}

/**
 * HEAD and whether the tree is dirty, as `go build` will see them: Go runs
 * `git status --porcelain` at the top of the repository it found, so a change
 * anywhere in it counts, not only under the project. Null when Go will stamp
 * no VCS information (no repository, a worktree, no commit yet).
 */
export async function vcsState(
  dir: string,
): Promise<{ revision: string; modified: boolean } | null> {
  const top = await goVcsRoot(dir);
  if (top === null) return null;
  const [head, status] = await Promise.all([
    git(top, ["rev-parse", "--verify", "-q", "HEAD"]),
    git(top, ["status", "--porcelain"]),
  ]);
  const revision = head?.trim() ?? "";
  if (!/^[0-9a-f]{40,64}$/.test(revision) || status === null) return null;
  return { revision, modified: status.trim() !== "" };
}

/** What `prepareAudit` needs. */
export interface PrepareAuditOptions {
  /** Project root (for git). */
  root: string;
  goVersion: string;
  /** config.json's `cgo`. */
  cgo?: boolean;
  mode: "host" | "docker";
  /** Skip the audit: `check` then returns null (benchmarks measure its cost with it). */
  skip?: boolean;
  onProgress: (message: string) => void;
}

/** The audit, prepared before build_cmd runs (the tree as Go will see it) and run after it. */
export interface PreparedAudit {
  /**
   * Checks the artifacts found under `filesRoot` (the project root, or docker
   * mode's staging folder); returns the audits, or null when skipped.
   * @throws {BuildFailed} on any mismatch
   */
  check(
    filesRoot: string,
    artifacts: readonly { src: string; dest: string }[],
    /**
     * The platform these artifacts are for (`several` tags each audit with it), and the files
     * the image will hold (a loader or library the image provides is fine).
     */
    platform?: {
      platform: string;
      several: boolean;
      provided?: readonly string[];
      resolves?: (path: string) => boolean;
    },
  ): Promise<ArtifactAudit[] | null>;
}

/**
 * Reads HEAD and the tree state now, before build_cmd can change the tree, and
 * returns the check to run on the artifacts it makes.
 */
export async function prepareAudit(options: PrepareAuditOptions): Promise<PreparedAudit> {
  const skip = options.skip === true;
  const vcs = skip ? null : await vcsState(options.root);
  const expect: AuditExpectations = {
    goVersion: options.goVersion,
    revision: vcs?.revision ?? null,
    modified: vcs?.modified ?? null,
    mode: options.mode,
    ...(options.cgo ? { cgo: true } : {}),
  };
  return {
    async check(filesRoot, artifacts, platform) {
      if (skip) return null;
      // GOOS/GOARCH are checked with several platforms, where each image must get its own
      // platform's binary; one platform's image may ship a binary for another OS on purpose
      // (a download for darwin users).
      const forPlatform = {
        ...expect,
        ...(platform?.several ? { platform: platform.platform } : {}),
        provided: platform?.provided ?? [],
        ...(platform?.resolves ? { resolves: platform.resolves } : {}),
      };
      const audits = (await auditArtifacts(
        artifacts.map((a) => ({ src: a.src, dest: a.dest, path: `${filesRoot}/${a.src}` })),
        forPlatform,
      )).map((a) => (platform?.several ? { ...a, platform: platform.platform } : a));
      const prefix = platform?.several ? `${platform.platform}: ` : "";
      for (const line of describeAudit(audits, forPlatform)) options.onProgress(prefix + line);
      assertAudit(audits);
      return audits;
    },
  };
}
