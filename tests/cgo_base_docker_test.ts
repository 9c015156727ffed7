/**
 * `"cgo": true` for real: a glibc root made in the test from Debian's own packages (libc6 and its
 * dependency libgcc-s1, at the versions this machine runs, fetched with `apt-get download` and
 * unpacked with `dpkg-deb -x`, /lib and /lib64 merged into /usr as usrmerge does), imported with
 * `docker import` and pushed to the loopback registry, is the base of a cgo program built on the
 * host. The audit passes it because the base holds the loader (PT_INTERP, through its symlinks)
 * and libc.so.6 (DT_NEEDED) it names, and refuses it on a base without them;
 * docker runs it with no network; two clones give the same archive bytes.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { r10e } from "./_cli.ts";
import {
  docker,
  dockerTest,
  findTool,
  importImage,
  pushToLocalRegistry,
  removeImagesNamed,
  run,
} from "./_docker.ts";
import { cacheEnv, suffix } from "./_registry.ts";

const MAIN_GO = `package main

/*
#include <unistd.h>
static long pagesize(void) { return sysconf(_SC_PAGESIZE); }
*/
import "C"

import "fmt"

func main() {
	fmt.Printf("Hello from cgo: page size %d\\n", int64(C.pagesize()))
}
`;

/** A cgo project on `base`, in `dir`. */
async function writeProject(dir: string, name: string, base: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/go.mod`, "module example.com/cgohello\n\ngo 1.26\n");
  await Deno.writeTextFile(`${dir}/main.go`, MAIN_GO);
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify(
      {
        project_name: name,
        build_cmd: "go build -o build/hello .",
        go_version: "1.26.8",
        artifacts: [{ src: "build/hello", dest: "/app/hello" }],
        entrypoint: ["/app/hello"],
        base_image: base,
        cgo: true,
      },
      null,
      2,
    ) + "\n",
  );
}

/** Unpacks the installed version of each Debian package into `root`. */
async function debianRoot(root: string, work: string, packages: string[]): Promise<void> {
  for (const tool of ["apt-get", "dpkg-deb", "dpkg-query", "gcc"]) {
    if (!findTool(tool)) {
      throw new Error(
        `${tool} is missing: the cgo test needs Debian's apt and gcc (scripts/setup.sh)`,
      );
    }
  }
  await Deno.mkdir(root, { recursive: true });
  for (const pkg of packages) {
    const version = await run("dpkg-query", ["-W", "-f", "${Version}", pkg]);
    assertEquals(version.code, 0, version.stderr);
    const got = await run("apt-get", ["download", "-q", `${pkg}=${version.stdout.trim()}`], {
      cwd: work,
    });
    assertEquals(got.code, 0, got.stderr);
  }
  for await (const e of Deno.readDir(work)) {
    if (!e.name.endsWith(".deb")) continue;
    const x = await run("dpkg-deb", ["-x", `${work}/${e.name}`, root]);
    assertEquals(x.code, 0, x.stderr);
  }
}

/**
 * Merges /lib and /lib64 into /usr as Debian's usrmerge does (and merged-/usr bases ship): the
 * loader the binary names, /lib64/ld-linux-x86-64.so.2, is then found only through the
 * symlinks /lib64 → usr/lib64 and usr/lib64/ld-linux-x86-64.so.2 → /lib/x86_64-linux-gnu/….
 */
async function mergeUsr(root: string): Promise<void> {
  for (const dir of ["lib", "lib64"]) {
    await Deno.mkdir(`${root}/usr/${dir}`, { recursive: true });
    const cp = await run("cp", ["-a", `${root}/${dir}/.`, `${root}/usr/${dir}/`]);
    assertEquals(cp.code, 0, cp.stderr);
    await Deno.remove(`${root}/${dir}`, { recursive: true });
    await Deno.symlink(`usr/${dir}`, `${root}/${dir}`);
  }
}

dockerTest(
  "cgo: a cgo binary on a glibc base made from Debian packages runs, and builds twice the same",
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-cgo-" });
    const id = suffix();
    const images: string[] = [];
    try {
      const debs = `${dir}/debs`;
      await Deno.mkdir(debs);
      await debianRoot(`${dir}/glibc`, debs, ["libc6", "libgcc-s1"]);
      await mergeUsr(`${dir}/glibc`);
      const baseTag = `r10e-glibc-${id}:v1`;
      await importImage(`${dir}/glibc`, baseTag);
      images.push(baseTag);
      const baseRef = await pushToLocalRegistry(baseTag);

      const name = `r10e-cgo-${id}`;
      const env = { SOURCE_DATE_EPOCH: "1700000000", ...cacheEnv(dir), GOPROXY: "off" };
      const build = async (project: string, extra: Record<string, string> = {}) => {
        const init = await r10e(["init", "-q"], { cwd: project, env: { ...env, ...extra } });
        assertEquals(init.code, 0, init.stderr);
        return await r10e(["build", "--in", "host", "--json"], {
          cwd: project,
          env: { ...env, ...extra },
        });
      };

      const a = `${dir}/a/project`;
      await writeProject(a, name, baseRef);
      const first = await build(a);
      assertEquals(first.code, 0, first.stderr);
      const built = JSON.parse(first.stdout);

      await t.step("the audit checks CGO_ENABLED=1 and finds the loader in the base", () => {
        assertStringIncludes(first.stderr, "CGO_ENABLED=1");
      });

      await t.step("docker runs it with no network", async () => {
        await docker(["load", "-i", built.archivePath]);
        images.push(`${name}:latest`);
        const ran = await docker(["run", "--rm", "--network", "none", `${name}:latest`]);
        assertStringIncludes(ran.stdout, "Hello from cgo: page size ");
      });

      await t.step("a second clone elsewhere gives the same archive bytes", async () => {
        const b = `${dir}/b/elsewhere/project`;
        await writeProject(b, name, baseRef);
        // Its own Go build cache: the C code is compiled and linked again, not reused.
        const second = await build(b, { GOCACHE: `${dir}/b/gocache` });
        assertEquals(second.code, 0, second.stderr);
        const again = JSON.parse(second.stdout);
        assertEquals(again.archiveSha256, built.archiveSha256);
        assertEquals(again.manifestDigest, built.manifestDigest);
      });

      await t.step("on a base without the C library the audit refuses it", async () => {
        const bare = `${dir}/bare`;
        await Deno.mkdir(`${bare}/etc`, { recursive: true });
        await Deno.writeTextFile(`${bare}/etc/hostname`, "bare\n");
        const bareTag = `r10e-bare-${id}:v1`;
        await importImage(bare, bareTag);
        images.push(bareTag);
        const c = `${dir}/c/project`;
        await writeProject(c, name, await pushToLocalRegistry(bareTag));
        const refused = await build(c);
        assertEquals(refused.code, 1, refused.stderr);
        assertStringIncludes(refused.stderr, "program interpreter (PT_INTERP)");
        assertStringIncludes(refused.stderr, "shared libraries (DT_NEEDED)");
        assertStringIncludes(refused.stderr, "libc.so.6");
      });
    } finally {
      await removeImagesNamed(id);
      await Deno.remove(dir, { recursive: true });
    }
  },
);
