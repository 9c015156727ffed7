/**
 * Helpers for tests that need a real Docker engine, skopeo or umoci (no mocks:
 * common brief). A test that needs Docker either runs, is skipped with a
 * printed reason when no engine is reachable, or fails when
 * `R10E_REQUIRE_DOCKER=1` (CI sets it, STYLE: tests).
 *
 * Two ways to use it:
 *
 * ```ts
 * // 1. register: ignored (and the reason printed once) when there is no engine
 * dockerTest("docker loads the image", async (t, docker) => { ... });
 *
 * // 2. inside any test: early return after printing the reason
 * Deno.test("x", async (t) => {
 *   const docker = requireDocker(t);
 *   if (!docker) return;
 * });
 * ```
 *
 * Start an engine with `eval "$(bash scripts/dockerd.sh start)"`. Without
 * `DOCKER_HOST`, the socket of scripts/dockerd.sh's default state dir
 * (`R10E_DOCKERD_DIR`, default /tmp/r10e-dockerd) is tried.
 *
 * @module
 */
import { copyExample } from "./_cli.ts";

/** Where the engine and the local registry are. */
export interface DockerEnv {
  /** `unix:///…/docker.sock` or whatever DOCKER_HOST said. */
  host: string;
  /** Server version the engine reported. */
  serverVersion: string;
  /** `127.0.0.1:<port>` of the local registry, when one is known. */
  registry: string | undefined;
}

/** Output of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const SKIP_HINT = "start one with scripts/dockerd.sh start";

/** The state dir of scripts/dockerd.sh. */
function stateDir(): string {
  return Deno.env.get("R10E_DOCKERD_DIR") || "/tmp/r10e-dockerd";
}

/** True when `R10E_REQUIRE_DOCKER=1`: a missing engine or tool is a failure, not a skip. */
export function dockerRequired(): boolean {
  return Deno.env.get("R10E_REQUIRE_DOCKER") === "1";
}

/** The DOCKER_HOST to use: the environment's, else the socket of scripts/dockerd.sh's state dir when it exists. */
export function dockerHost(): string | undefined {
  const fromEnv = Deno.env.get("DOCKER_HOST");
  if (fromEnv) return fromEnv;
  const sock = `${stateDir()}/docker.sock`;
  try {
    if (Deno.statSync(sock).isSocket) return `unix://${sock}`;
  } catch {
    // no socket: no engine from scripts/dockerd.sh
  }
  return undefined;
}

/** The local registry: R10E_TEST_REGISTRY, else the address in scripts/dockerd.sh's registry.yml. */
export function testRegistry(): string | undefined {
  const fromEnv = Deno.env.get("R10E_TEST_REGISTRY");
  if (fromEnv) return fromEnv;
  try {
    const yml = Deno.readTextFileSync(`${stateDir()}/registry.yml`);
    const m = yml.match(/^\s*addr:\s*(\S+)\s*$/m);
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Environment for a docker child process: ours plus the resolved DOCKER_HOST. */
function dockerEnv(host: string | undefined): Record<string, string> {
  const env = Deno.env.toObject();
  if (host) env.DOCKER_HOST = host;
  return env;
}

/** Runs a command and captures its output; never throws for a non-zero exit. */
export async function run(
  cmd: string,
  args: string[],
  options: { stdin?: Uint8Array | string; env?: Record<string, string>; cwd?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const bytes = typeof options.stdin === "string"
      ? new TextEncoder().encode(options.stdin)
      : options.stdin;
    const w = child.stdin.getWriter();
    await w.write(bytes);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Runs `docker …args` against the resolved engine and returns its output.
 *
 * @throws {Error} when docker exits non-zero (unless `allowFail`), with its stderr
 */
export async function docker(
  args: string[],
  options: { stdin?: Uint8Array | string; allowFail?: boolean } = {},
): Promise<RunResult> {
  const r = await run("docker", args, { stdin: options.stdin, env: dockerEnv(dockerHost()) });
  if (r.code !== 0 && !options.allowFail) {
    throw new Error(
      `Command failed: docker ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`,
    );
  }
  return r;
}

let probed: DockerEnv | string | undefined;

/**
 * Probes the engine once per process (synchronously, so that `dockerTest` can
 * decide `ignore` when Deno collects tests): a DockerEnv, or why none is reachable.
 */
export function probeDocker(): DockerEnv | string {
  if (probed !== undefined) return probed;
  const host = dockerHost();
  if (!host) {
    probed =
      `no Docker engine reachable: DOCKER_HOST is unset and ${stateDir()}/docker.sock does not exist`;
    return probed;
  }
  try {
    const out = new Deno.Command("docker", {
      args: ["version", "--format", "{{.Server.Version}}"],
      env: dockerEnv(host),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const dec = new TextDecoder();
    if (out.code !== 0) {
      const detail = dec.decode(out.stderr).trim().split("\n").pop() ?? "";
      probed = `no Docker engine reachable at ${host}: ${detail}`;
    } else {
      probed = { host, serverVersion: dec.decode(out.stdout).trim(), registry: testRegistry() };
    }
  } catch (e) {
    probed = `no Docker engine reachable: cannot run docker: ${(e as Error).message}`;
  }
  return probed;
}

const printedSkips = new Set<string>();

function printSkip(what: string, reason: string): void {
  // Printed on stdout so that it shows in the test runner's output, once per reason.
  const line = `skipped: ${what}: ${reason} (${SKIP_HINT})`;
  if (printedSkips.has(line)) return;
  printedSkips.add(line);
  console.log(line);
}

/**
 * Inside a test: the DockerEnv when an engine is reachable; undefined after
 * printing the skip reason when not; throws when R10E_REQUIRE_DOCKER=1.
 *
 * @throws {Error} when no engine is reachable and R10E_REQUIRE_DOCKER=1
 */
export function requireDocker(t: Deno.TestContext): DockerEnv | undefined {
  const p = probeDocker();
  if (typeof p !== "string") return p;
  if (dockerRequired()) {
    throw new Error(`R10E_REQUIRE_DOCKER=1 but ${p} (${SKIP_HINT})`);
  }
  printSkip(`"${t.name}"`, p);
  return undefined;
}

/**
 * Registers a test that needs Docker. When no engine is reachable it is
 * registered as ignored (the runner counts it) and the reason is printed; with
 * R10E_REQUIRE_DOCKER=1 it runs and fails with the reason instead.
 */
export function dockerTest(
  name: string,
  fn: (t: Deno.TestContext, docker: DockerEnv) => Promise<void>,
): void {
  const p = probeDocker();
  const skip = typeof p === "string" && !dockerRequired();
  if (skip) printSkip(`"${name}"`, p);
  Deno.test({
    name,
    ignore: skip,
    async fn(t) {
      const docker = requireDocker(t);
      if (!docker) return;
      await fn(t, docker);
    },
  });
}

/** Path of an executable on PATH (or in /usr/sbin, /usr/bin), undefined when absent. */
export function findTool(name: string): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean);
  for (const d of [...dirs, "/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin"]) {
    const p = `${d}/${name}`;
    try {
      const st = Deno.statSync(p);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Inside a test: the path of skopeo or umoci; undefined after printing the skip
 * reason when absent; throws when R10E_REQUIRE_DOCKER=1 (CI installs them).
 *
 * @throws {Error} when the tool is missing and R10E_REQUIRE_DOCKER=1
 */
export function requireTool(t: Deno.TestContext, name: string): string | undefined {
  const path = findTool(name);
  if (path) return path;
  const reason = `${name} is not installed (bash scripts/setup.sh installs it)`;
  if (dockerRequired()) throw new Error(`R10E_REQUIRE_DOCKER=1 but ${reason}`);
  console.log(`skipped: "${t.name}": ${reason}`);
  return undefined;
}

/**
 * Imports a directory as a one-layer image with `docker import` and returns the image ID.
 * Tests cannot pull (no network), so every image they use is made this way.
 *
 * @throws {Error} when tar or docker import fails
 */
export async function importImage(
  rootfsDir: string,
  tag: string,
  options: { changes?: string[] } = {},
): Promise<string> {
  // tar the directory to a file first: simpler than piping two children and
  // the error of each stays separate. --numeric-owner, root-owned: the image
  // must not depend on the test machine's users.
  const tarFile = await Deno.makeTempFile({ prefix: "r10e-import-", suffix: ".tar" });
  try {
    const t = await run("tar", [
      "-C",
      rootfsDir,
      "--numeric-owner",
      "--owner=0",
      "--group=0",
      "-cf",
      tarFile,
      ".",
    ]);
    if (t.code !== 0) throw new Error(`Cannot tar "${rootfsDir}": ${t.stderr.trim()}`);
    const changes = (options.changes ?? []).flatMap((c) => ["--change", c]);
    const r = await docker(["import", ...changes, tarFile, tag]);
    return r.stdout.trim();
  } finally {
    await Deno.remove(tarFile).catch(() => {});
  }
}

/**
 * Tags `tag` into the local registry, pushes it, and returns the pinned
 * reference `127.0.0.1:<port>/<name>@sha256:<hex>`.
 *
 * @throws {Error} when no local registry is known or the push fails
 */
export async function pushToLocalRegistry(tag: string): Promise<string> {
  const registry = testRegistry();
  if (!registry) {
    throw new Error(
      "No local registry: R10E_TEST_REGISTRY is unset and scripts/dockerd.sh wrote no registry.yml",
    );
  }
  // name[:tag] without any registry part
  const withoutRegistry = tag.includes("/") && /[.:]/.test(tag.split("/")[0])
    ? tag.slice(tag.indexOf("/") + 1)
    : tag;
  const remote = `${registry}/${
    withoutRegistry.includes(":") ? withoutRegistry : withoutRegistry + ":latest"
  }`;
  const repo = remote.slice(0, remote.lastIndexOf(":"));
  await docker(["tag", tag, remote]);
  const push = await docker(["push", remote]);
  const fromPush = push.stdout.match(/digest: (sha256:[0-9a-f]{64})/);
  const inspect = await docker(["inspect", "--format", "{{json .RepoDigests}}", remote]);
  const digests = JSON.parse(inspect.stdout) as string[];
  const pinned = digests.find((d) => d.startsWith(repo + "@sha256:"));
  if (!pinned) {
    throw new Error(`Cannot find the digest of "${remote}" after push: ${inspect.stdout.trim()}`);
  }
  if (fromPush && !pinned.endsWith(fromPush[1])) {
    throw new Error(`Digest mismatch for "${remote}": push said ${fromPush[1]}, inspect ${pinned}`);
  }
  return pinned;
}

/**
 * Writes a minimal rootfs into `dir`: Debian's static busybox as /bin/busybox
 * with /bin/sh and the usual applets as symlinks, /tmp, /etc/passwd.
 *
 * @throws {Error} when busybox-static is not installed
 */
export async function writeBusyboxRootfs(dir: string): Promise<void> {
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!busybox) {
    throw new Error("busybox is missing: bash scripts/setup.sh installs busybox-static");
  }
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  await Deno.mkdir(`${dir}/tmp`, { recursive: true, mode: 0o1777 });
  await Deno.chmod(`${dir}/tmp`, 0o1777);
  await Deno.mkdir(`${dir}/etc`, { recursive: true });
  await Deno.copyFile(busybox, `${dir}/bin/busybox`);
  await Deno.chmod(`${dir}/bin/busybox`, 0o755);
  const list = await run(busybox, ["--list"]);
  const applets = list.stdout.split("\n").map((s) => s.trim()).filter((s) =>
    s && s !== "busybox" && /^[a-z0-9_.\[-]+$/i.test(s)
  );
  for (const a of ["sh", ...applets]) {
    try {
      await Deno.symlink("busybox", `${dir}/bin/${a}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
  await Deno.writeTextFile(`${dir}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
  await Deno.writeTextFile(`${dir}/etc/group`, "root:x:0:\n");
}

/** Copies an ELF executable and the shared libraries `ldd` lists into `root` at the same paths. */
async function copyWithLibraries(root: string, exe: string): Promise<void> {
  const ldd = await run("ldd", [exe]);
  const paths = [exe];
  for (const line of ldd.stdout.split("\n")) {
    const m = line.match(/(?:=>\s*)?(\/\S+)\s+\(0x/);
    if (m) paths.push(m[1]);
  }
  for (const p of paths) {
    const real = await Deno.realPath(p);
    const dest = `${root}${p}`;
    await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(real, dest);
    await Deno.chmod(dest, 0o755);
  }
}

/** A Go builder image in the local registry, pinned by digest. */
export interface GoBuilderImage {
  /** `127.0.0.1:<port>/r10e-test-go-builder@sha256:<hex>` */
  ref: string;
  /** `127.0.0.1:<port>/r10e-test-go-builder` */
  repository: string;
  /** `sha256:<hex>` (the manifest digest in the registry) */
  digest: string;
  /** Exact Go version inside, e.g. `1.26.8`. */
  goVersion: string;
}

/** Version of the fixture recipe below: bump it when the rootfs changes. */
const BUILDER_FIXTURE_VERSION = "2";

/**
 * The test builder image: a rootfs holding this machine's Go toolchain
 * (GOROOT, less what `go build` does not use), Debian's static busybox as the shell, and git
 * with its libraries (Go stamps VCS info and runs git for it, as the official golang
 * images allow), made with `docker import` and pushed to the local registry so that
 * it has a real digest. Reused while the engine holds one made from the same inputs.
 *
 * @throws {Error} when go, busybox, git, the engine or the registry is missing
 */
export async function goBuilderImage(
  options: { git?: boolean } = {},
): Promise<GoBuilderImage> {
  // Without git (for the audit test): Go then stamps no VCS information.
  const withGit = options.git ?? true;
  const registry = testRegistry();
  if (!registry) throw new Error("No local registry: start one with scripts/dockerd.sh start");
  const goVersionOut = await run("go", ["env", "GOVERSION", "GOROOT"]);
  if (goVersionOut.code !== 0) throw new Error(`Cannot run go: ${goVersionOut.stderr.trim()}`);
  const [goVersionRaw, goroot] = goVersionOut.stdout.trim().split("\n");
  const goVersion = goVersionRaw.replace(/^go/, "");
  const gitVersion = (await run("git", ["--version"])).stdout.trim();
  const key = (await sha256Text(
    [BUILDER_FIXTURE_VERSION, goVersionRaw, goroot, gitVersion, Deno.statSync("/bin/busybox").size]
      .join("\n"),
  )).slice(0, 12);
  const repository = `${registry}/r10e-test-go-builder${withGit ? "" : "-nogit"}`;
  const remote = `${repository}:${key}`;
  // Test files run in parallel (deno test --parallel) and other runs share the engine: one
  // makes the image while the others wait for it, instead of each importing and pushing its own.
  using lock = await Deno.open(
    `${Deno.env.get("TMPDIR") || "/tmp"}/r10e-test-go-builder${withGit ? "" : "-nogit"}.lock`,
    { create: true, write: true },
  );
  await lock.lock(true);
  const existing = await docker(["image", "inspect", "--format", "{{json .RepoDigests}}", remote], {
    allowFail: true,
  });
  if (existing.code === 0) {
    const pinned = (JSON.parse(existing.stdout) as string[]).find((d) =>
      d.startsWith(repository + "@")
    );
    // Still in the registry? (a restarted registry with a kept engine would not have it)
    if (
      pinned &&
      (await docker(["manifest", "inspect", "--insecure", pinned], { allowFail: true })).code === 0
    ) {
      return { ref: pinned, repository, digest: pinned.slice(pinned.indexOf("@") + 1), goVersion };
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "r10e-builder-rootfs-" });
  try {
    await writeBusyboxRootfs(dir);
    await Deno.mkdir(`${dir}/usr/local`, { recursive: true });
    await Deno.mkdir(`${dir}/root`, { recursive: true });
    const cp = await run("cp", ["-a", goroot, `${dir}/usr/local/go`]);
    if (cp.code !== 0) throw new Error(`Cannot copy "${goroot}": ${cp.stderr.trim()}`);
    // Left out: what `go build` never reads (the toolchain's own commands' sources, the
    // test suite, API lists, the vet/cover/fix tools). The storage driver here (vfs)
    // copies the whole image for every container, so its size is the docker-mode overhead.
    for (
      const extra of [
        "test",
        "api",
        "src/cmd",
        "pkg/tool/linux_amd64/vet",
        "pkg/tool/linux_amd64/cover",
        "pkg/tool/linux_amd64/fix",
        "pkg/tool/linux_amd64/preprofile",
      ]
    ) {
      await Deno.remove(`${dir}/usr/local/go/${extra}`, { recursive: true }).catch(() => {});
    }
    if (withGit) await copyWithLibraries(dir, "/usr/bin/git");
    await importImage(dir, remote, {
      changes: [
        "ENV PATH=/usr/local/go/bin:/usr/bin:/bin",
        "ENV HOME=/root",
        "ENV GOTOOLCHAIN=local",
        "WORKDIR /src",
      ],
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const ref = await pushToLocalRegistry(remote);
  return { ref, repository, digest: ref.slice(ref.indexOf("@") + 1), goVersion };
}

/**
 * The builder's tag in the local registry (`127.0.0.1:<port>/r10e-test-go-builder:<key>`): a
 * config naming it by tag lets `r10e init` pin its digest through the engine.
 */
export async function builderTag(builder: GoBuilderImage): Promise<string> {
  const tag = await docker(["image", "inspect", "--format", "{{index .RepoTags 0}}", builder.ref]);
  return tag.stdout.trim();
}

/**
 * Copies the example project into `dir` (tests/_cli.ts copyExample) with its config naming
 * `image` (a tag or a digest reference) as `builder_image`.
 */
export async function copyExampleWithBuilder(
  dir: string,
  image: string,
  options: { reverse?: boolean } = {},
): Promise<void> {
  await copyExample(dir, options);
  const config = await Deno.readTextFile(`${dir}/config.json`);
  const pinned = config.replace(
    '"include_ca_bundle": true,',
    () => `"include_ca_bundle": true,\n  "builder_image": ${JSON.stringify(image)},`,
  );
  if (pinned === config) {
    throw new Error("The example's config.json no longer has include_ca_bundle");
  }
  await Deno.writeTextFile(`${dir}/config.json`, pinned);
}

async function sha256Text(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d)).map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Removes every image of the engine whose reference names `part`: tags here and pushed ones. */
export async function removeImagesNamed(part: string): Promise<void> {
  const listed = await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], {
    allowFail: true,
  });
  const refs = listed.stdout.split("\n").filter((r) => r.includes(part));
  if (refs.length) await docker(["rmi", "-f", ...refs], { allowFail: true });
}
