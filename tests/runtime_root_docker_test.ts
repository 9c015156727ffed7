/**
 * `"runtime": "nonroot"` for real: a Go program that makes a temporary file, asks for its user
 * and its home, and writes there runs under `docker run --network none` with the image's default
 * user, which is not root; `"runtime": "root"` gives the same layer and runs as root. The SBOM
 * beside the archive lists the runtime root.
 */
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, r10e } from "./_cli.ts";
import { docker, dockerTest } from "./_docker.ts";
import { suffix } from "./_registry.ts";

/** What the service needs of its root filesystem, each step printed or a non-zero exit. */
const MAIN_GO = `package main

import (
	"fmt"
	"os"
	"os/user"
)

func fail(what string, err error) {
	fmt.Fprintln(os.Stderr, what+":", err)
	os.Exit(1)
}

func main() {
	f, err := os.CreateTemp("", "svc-*")
	if err != nil {
		fail("CreateTemp", err)
	}
	if _, err := f.WriteString("x"); err != nil {
		fail("write temp", err)
	}
	f.Close()
	fmt.Println("temp", f.Name())
	u, err := user.Current()
	if err != nil {
		fail("user.Current", err)
	}
	fmt.Println("user", u.Username, u.Uid, u.Gid, u.HomeDir)
	home, err := os.UserHomeDir()
	if err != nil {
		fail("UserHomeDir", err)
	}
	fmt.Println("home", home)
	if os.Geteuid() != 0 {
		if err := os.WriteFile(home+"/state", []byte("x"), 0o600); err != nil {
			fail("write home", err)
		}
		fmt.Println("wrote", home+"/state")
	}
	fmt.Println("euid", os.Geteuid())
}
`;

dockerTest(
  "runtime: nonroot runs a Go service that needs /tmp, its user and its home, not as root",
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "r10e-runtime-" });
    const images: string[] = [];
    try {
      const built: Record<string, {
        archive: string;
        layers: { createdBy: string; digest: string }[];
      }> = {};
      for (const runtime of ["nonroot", "root"]) {
        const project = `${dir}/${runtime}`;
        await copyExample(project);
        await Deno.writeTextFile(`${project}/main.go`, MAIN_GO);
        const name = `r10e-runtime-${runtime}-${suffix()}`;
        const config = (await Deno.readTextFile(`${project}/config.json`))
          .replace('"project_name": "r10e-hello"', `"project_name": "${name}"`)
          .replace(/\}\s*$/, `,\n  "runtime": "${runtime}"\n}\n`);
        await Deno.writeTextFile(`${project}/config.json`, config);
        const out = await r10e(["build", "--json", "-q"], {
          cwd: project,
          env: { SOURCE_DATE_EPOCH: "1700000000" },
        });
        assertEquals(out.code, 0, out.stderr);
        assertEquals(out.stderr.includes("runtime"), false, out.stderr);
        const result = JSON.parse(out.stdout);
        built[runtime] = { archive: result.archivePath, layers: result.layers };
        const loaded = await docker(["load", "-i", result.archivePath]);
        assertStringIncludes(loaded.stdout, `${name}:latest`);
        images.push(`${name}:latest`);
      }

      await t.step("the runtime root is the first layer, the same for nonroot and root", () => {
        for (const b of Object.values(built)) {
          assertEquals(b.layers[0].createdBy, "r10e: runtime root");
        }
        assertEquals(built.nonroot.layers[0].digest, built.root.layers[0].digest);
      });

      await t.step("nonroot: docker run --network none, default user", async () => {
        const ran = await docker(["run", "--rm", "--network", "none", images[0]]);
        const lines = ran.stdout.trim().split("\n");
        assertEquals(lines[0].startsWith("temp /tmp/svc-"), true, ran.stdout);
        assertEquals(lines.slice(1), [
          "user nonroot 65532 65532 /home/nonroot",
          "home /home/nonroot",
          "wrote /home/nonroot/state",
          "euid 65532",
        ]);
      });

      await t.step("root: the same root, running as root", async () => {
        const ran = await docker(["run", "--rm", "--network", "none", images[1]]);
        assertEquals(ran.stdout.trim().split("\n").slice(1), [
          "user root 0 0 /root",
          "home /root",
          "euid 0",
        ]);
      });

      await t.step("the SBOM beside the archive lists the runtime root", async () => {
        const spdx = built.nonroot.archive.replace(/\.tar\.gz$/, ".spdx.json");
        const doc = JSON.parse(await Deno.readTextFile(spdx));
        assertEquals(
          doc.packages.some((p: { name: string }) => p.name === "r10e-runtime-root"),
          true,
        );
      });
    } finally {
      if (images.length) await docker(["rmi", "-f", ...images], { allowFail: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
);
