/**
 * A docker-registry of the benchmark's own on loopback (Debian's `docker-registry`), with its own
 * storage, removed when the function given returns: a fresh one per run, so that no blob is
 * there already.
 *
 * @module
 */

/** Runs `fn` with `127.0.0.1:<port>` of a registry started in `dir`, then stops it. */
export async function withRegistry<T>(
  dir: string,
  fn: (host: string) => Promise<T>,
): Promise<T> {
  const storage = await Deno.makeTempDir({ dir, prefix: "registry-" });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await Deno.writeTextFile(
    `${storage}.yml`,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = new Deno.Command("/usr/bin/docker-registry", {
    args: ["serve", `${storage}.yml`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let i = 0;; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v2/`);
        await r.body?.cancel();
        if (r.ok) break;
      } catch {
        if (i > 100) throw new Error("docker-registry did not start");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return await fn(`127.0.0.1:${port}`);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(storage, { recursive: true }).catch(() => {});
    await Deno.remove(`${storage}.yml`).catch(() => {});
  }
}

/** The digest a registry serves for `repo:tag` (HEAD, every manifest kind accepted). */
export async function servedDigest(host: string, repo: string, tag: string): Promise<string> {
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: "HEAD",
    headers: {
      accept: [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
      ].join(", "),
    },
  });
  await r.body?.cancel();
  return r.headers.get("docker-content-digest") ?? "";
}
