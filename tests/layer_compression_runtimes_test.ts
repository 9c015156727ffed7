/**
 * containerd and podman pull both kinds of r10e image (gzip
 * layers, the default, and uncompressed layers) from the shared loopback
 * registry by digest, unpack and run them.
 *
 * - containerd: the one Docker's engine runs (its socket found beside the
 *   engine's, or the system one), in a namespace of this test's own,
 *   `ctr images pull --plain-http --snapshotter native` (the sandbox has no
 *   overlayfs), the unpacked snapshot named by the chain ID of the config's
 *   diff_ids, then `ctr run` in a network namespace of its own; the namespace is
 *   emptied and removed afterwards.
 * - podman (Debian's, scripts/setup.sh installs it): root, vfs storage in a
 *   temporary --root/--runroot (nothing left behind), `pull --tls-verify=false`,
 *   `run --network none`. Its ulimits are lowered: podman asks for an open-files
 *   limit above the sandbox's hard limit, which runc may not raise.
 */
import { assertEquals } from "./_assert.ts";
import { r10e } from "./_cli.ts";
import { dockerRequired, dockerTest, requireTool, run, testRegistry } from "./_docker.ts";
import { cacheEnv, suffix } from "./_registry.ts";
import { buildBoth, type BuiltImage } from "./layer_compression_images.ts";

/** containerd's socket: Docker's own (scripts/dockerd.sh's state dir), else the system one. */
function containerdSocket(): string | undefined {
  const state = Deno.env.get("R10E_DOCKERD_DIR") || "/tmp/r10e-dockerd";
  for (
    const path of [
      `${state}/exec/containerd/containerd.sock`,
      "/var/run/docker/containerd/containerd.sock",
      "/run/containerd/containerd.sock",
    ]
  ) {
    try {
      if (Deno.statSync(path).isSocket) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The chain ID of a list of diff_ids (OCI image spec, config: layer ChainID). */
async function chainId(diffIds: string[]): Promise<string> {
  let chain = diffIds[0];
  for (const diff of diffIds.slice(1)) {
    const bytes = new TextEncoder().encode(`${chain} ${diff}`);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    chain = `sha256:${[...hash].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  return chain;
}

/** The config's diff_ids, read from the archive with GNU tar (not with r10e's own reader). */
async function diffIds(image: BuiltImage): Promise<string[]> {
  const tar = await run("tar", ["-xzOf", image.archive, `blobs/sha256/${image.imageId.slice(7)}`]);
  return JSON.parse(tar.stdout).rootfs.diff_ids;
}

/** Pushes both images to the shared registry; returns REF@digest of each. */
async function pushBoth(dir: string, images: BuiltImage[]): Promise<string[]> {
  const registry = testRegistry();
  if (!registry) throw new Error("no shared loopback registry (scripts/dockerd.sh start)");
  const refs: string[] = [];
  for (const image of images) {
    const pushed = await r10e(["push", image.archive, `${registry}/${image.name}:v1`], {
      env: { DOCKER_CONFIG: `${dir}/docker`, ...cacheEnv(dir) },
    });
    assertEquals(pushed.code, 0, pushed.stderr);
    const ref = `${registry}/${image.name}@${image.manifestDigest}`;
    assertEquals(pushed.stdout, ref + "\n");
    refs.push(ref);
  }
  return refs;
}

dockerTest("layer_compression: containerd (ctr) pulls, unpacks and runs both kinds", async (t) => {
  const ctr = requireTool(t, "ctr");
  if (!ctr) return;
  const socket = containerdSocket();
  if (!socket) {
    const reason = "no containerd socket found beside the Docker engine's or in /run/containerd";
    if (dockerRequired()) throw new Error(`R10E_REQUIRE_DOCKER=1 but ${reason}`);
    console.log(`skipped: "${t.name}": ${reason}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "r10e-lc-ctr-" });
  const namespace = `r10e-lc-${suffix()}`;
  const c = (...args: string[]) => run(ctr, ["--address", socket, "-n", namespace, ...args]);
  const pulled: string[] = [];
  try {
    const images = await buildBoth(dir);
    const refs = await pushBoth(dir, images);
    for (const [i, image] of images.entries()) {
      await t.step(
        `${image.kind}: ctr images pull, the snapshot of its chain ID, ctr run`,
        async () => {
          const ref = refs[i];
          const pull = await c("images", "pull", "--plain-http", "--snapshotter", "native", ref);
          assertEquals(pull.code, 0, pull.stdout + pull.stderr);
          pulled.push(ref);
          const listed = await c("images", "ls", "--quiet");
          assertEquals(listed.stdout.split("\n").includes(ref), true, listed.stdout);
          const check = await c("images", "check");
          assertEquals(/complete \(\d+\/\d+\)/.test(check.stdout), true, check.stdout);
          // Unpacked: the snapshot of the last layer is named by the chain of the config's diff_ids.
          const snapshots = await c("snapshots", "--snapshotter", "native", "ls");
          const top = await chainId(await diffIds(image));
          assertEquals(snapshots.stdout.includes(top), true, `${top} in\n${snapshots.stdout}`);
          const ran = await c("run", "--rm", "--snapshotter", "native", ref, `r10e-lc-${suffix()}`);
          assertEquals(ran.code, 0, ran.stderr);
          assertEquals(ran.stdout.split("\n")[0], image.greeting);
        },
      );
    }
  } finally {
    for (const ref of pulled) await c("images", "rm", "--sync", ref);
    const left = await c("snapshots", "--snapshotter", "native", "ls");
    // Children before parents: the listing's rows are KEY PARENT KIND.
    const rows = left.stdout.split("\n").slice(1).map((l) => l.split(/\s+/)).filter((r) => r[0]);
    while (rows.length) {
      const leaf = rows.findIndex((r) => !rows.some((o) => o[1] === r[0]));
      await c("snapshots", "--snapshotter", "native", "rm", rows[leaf][0]);
      rows.splice(leaf, 1);
    }
    await run(ctr, ["--address", socket, "namespaces", "rm", namespace]);
    await Deno.remove(dir, { recursive: true });
  }
});

dockerTest("layer_compression: podman pulls and runs both kinds by digest", async (t) => {
  const podman = requireTool(t, "podman");
  if (!podman) return;
  const dir = await Deno.makeTempDir({ prefix: "r10e-lc-podman-" });
  // podman refuses a runroot longer than 50 characters: a short one under /tmp.
  const state = await Deno.makeTempDir({ dir: "/tmp", prefix: "r10e-pm-" });
  await Deno.mkdir(`${state}/tmp`);
  const p = (...args: string[]) =>
    run(podman, [
      "--root",
      `${state}/root`,
      "--runroot",
      `${state}/run`,
      "--tmpdir",
      `${state}/tmp`,
      "--storage-driver",
      "vfs",
      ...args,
    ]);
  try {
    const images = await buildBoth(dir);
    const refs = await pushBoth(dir, images);
    for (const [i, image] of images.entries()) {
      await t.step(
        `${image.kind}: podman pull, image inspect, podman run --network none`,
        async () => {
          const ref = refs[i];
          const pull = await p("pull", "--quiet", "--tls-verify=false", ref);
          assertEquals(pull.code, 0, pull.stderr);
          assertEquals(`sha256:${pull.stdout.trim()}`, image.imageId);
          const inspect = await p("image", "inspect", "--format", "{{.Id}} {{.Digest}}", ref);
          assertEquals(inspect.stdout.trim(), `${image.imageId.slice(7)} ${image.manifestDigest}`);
          const ran = await p(
            "run",
            "--rm",
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            ref,
          );
          assertEquals(ran.code, 0, ran.stderr);
          assertEquals(ran.stdout.split("\n")[0], image.greeting);
        },
      );
    }
  } finally {
    await p("rm", "--all", "--force");
    await p("rmi", "--all", "--force");
    // vfs layers are plain directories, removable as they are.
    await Deno.remove(state, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});
