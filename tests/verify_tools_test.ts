/**
 * `r10e verify` on pairs that other writers make of r10e's own images (the same image must not
 * be called different, nor different bytes identical): `docker save` of a loaded r10e image,
 * `skopeo copy` to an oci-archive, the archive with bytes appended, a padding byte flipped or
 * written twice, and two r10e builds of different commits. Each pair is made here, with the real
 * tools; the r10e images are builds of examples/hello in a temporary git repository.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  docker,
  dockerRequired,
  dockerTest,
  findTool,
  importImage,
  pushToLocalRegistry,
  requireTool,
  run,
  testRegistry,
} from "./_docker.ts";
import { build, verify } from "./_verify.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OUT = "r10e-docker/out/r10e-hello-latest.tar.gz";

/** Runs git in `dir` with a fixed identity and commit time. */
async function git(dir: string, args: string[], time: string): Promise<void> {
  const r = await run("git", args, {
    cwd: dir,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dir,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
      GIT_AUTHOR_DATE: time,
      GIT_COMMITTER_DATE: time,
    },
  });
  assertEquals(r.code, 0, `git ${args.join(" ")}: ${r.stderr}`);
}

/** examples/hello in `to` as a git repository of one commit. */
async function project(to: string): Promise<void> {
  const cp = await new Deno.Command("cp", { args: ["-r", ROOT + "examples/hello", to] }).output();
  ok(cp.success);
  await Deno.remove(`${to}/r10e-docker/out`, { recursive: true }).catch(() => {});
  await git(to, ["init", "-q"], "2024-01-01T00:00:00Z");
  await git(to, ["add", "-A"], "2024-01-01T00:00:00Z");
  await git(to, ["commit", "-q", "-m", "one"], "2024-01-01T00:00:00Z");
}

/** The lines before the details: the part a person reads at a glance. */
function head(stdout: string): string[] {
  const lines = stdout.split("\n");
  const causes = lines.findIndex((l) => l.startsWith("Causes and fixes"));
  if (causes < 0) return lines.slice(0, lines.indexOf(""));
  let end = causes + 1;
  while (end < lines.length && lines[end].startsWith("  ")) end++;
  return lines.slice(0, end);
}

Deno.test("verify: archive bytes differ around the same image (appended, padding, doubled)", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-bytes-" });
  try {
    await project(`${dir}/p`);
    await build(`${dir}/p`);
    const plain = gunzipSync(await Deno.readFile(`${dir}/p/${OUT}`));
    await Deno.writeFile(`${dir}/a.tar`, plain);
    await Deno.writeFile(
      `${dir}/garbage.tar`,
      new Uint8Array([...plain, ...new TextEncoder().encode("garbage")]),
    );
    const doubled = new Uint8Array(plain.length * 2);
    doubled.set(plain);
    doubled.set(plain, plain.length);
    await Deno.writeFile(`${dir}/doubled.tar`, doubled);
    // The padding after the first entry whose size is not a multiple of 512 (ustar headers).
    let at = 0;
    let pad = -1;
    while (pad < 0) {
      const size = parseInt(new TextDecoder().decode(plain.subarray(at + 124, at + 136)), 8) || 0;
      if (size % 512) pad = at + 512 + size;
      at += 512 + Math.ceil(size / 512) * 512;
    }
    const flipped = plain.slice();
    flipped[pad] ^= 0xff;
    await Deno.writeFile(`${dir}/padding.tar`, flipped);

    for (
      const [name, where] of [
        ["garbage", /B has 7 more bytes after offset \d+, where A ends: bytes after the end/],
        ["doubled", /B has \d+ more bytes after offset \d+, where A ends: a second copy of A/],
        ["padding", new RegExp(`1 byte differs, the first at offset ${pad} in the padding after`)],
      ] as const
    ) {
      await t.step(name, async () => {
        const r = await verify(["a.tar", `${name}.tar`], dir);
        assertEquals([r.code, r.stderr], [0, ""]);
        ok(
          /^Images are identical: the same manifest digest sha256:[0-9a-f]{12}… \(the archive files differ: see the notes\)\n/
            .test(r.stdout),
          r.stdout,
        );
        ok(where.test(r.stdout), r.stdout);
        const json = JSON.parse((await verify(["a.tar", `${name}.tar`, "--json"], dir)).stdout);
        assertEquals(json.identical, true);
        ok(json.a.archiveSha256 !== json.b.archiveSha256);
        ok(json.notes.some((n: string) => n.startsWith("the archive files differ")), json.notes);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify: two r10e builds of different commits name the commit first", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-commits-" });
  try {
    await project(`${dir}/one`);
    await project(`${dir}/two`);
    const main = await Deno.readTextFile(`${dir}/two/main.go`);
    await Deno.writeTextFile(
      `${dir}/two/main.go`,
      main.replace("package main", "package main\n\n// v2"),
    );
    await git(`${dir}/two`, ["commit", "-q", "-am", "two"], "2024-02-01T00:00:00Z");
    await build(`${dir}/one`);
    await build(`${dir}/two`);
    const r = await verify([`one/${OUT}`, `two/${OUT}`], dir);
    assertEquals([r.code, r.stderr], [1, ""]);
    const glance = head(r.stdout);
    ok(glance.length <= 15, glance.join("\n"));
    const causes = glance.indexOf("Causes and fixes (both built by r10e)");
    ok(causes > 0, r.stdout);
    ok(
      /^ {2}commit \(1\): built from different commits: [0-9a-f]{12} → [0-9a-f]{12} → compare builds of the same commit$/
        .test(glance[causes + 1]),
      r.stdout,
    );
    // The binary's build info names the commit too: the main module's version
    // and vcs stamp, which follow from the commits.
    assertEquals(
      glance[causes + 2],
      "  go-main-module (3): the main module or its VCS stamp differs: main module, vcs.revision, " +
        "vcs.time (in /app/hello): they follow from the commits → none needed once the same " +
        "commit is built",
    );
    ok(
      /^ {2}timestamps \(\d+\): build time 2024-01-01T00:00:00Z → 2024-02-01T00:00:00Z in \d+ places \(.*\): the commit times, they follow from the commits/
        .test(glance[causes + 3]),
      r.stdout,
    );
    const json = JSON.parse((await verify([`one/${OUT}`, `two/${OUT}`, "--json"], dir)).stdout);
    assertEquals(json.causes[0].cause, "commit");
    assertEquals(json.builders, { a: "r10e", b: "r10e" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

dockerTest("verify: docker save and skopeo copy of an r10e image", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-tools-" });
  const id = crypto.randomUUID().slice(0, 8);
  const tag = `r10e-verify-saved:${id}`;
  try {
    await project(`${dir}/p`);
    await build(`${dir}/p`);
    const loaded = await docker(["load", "-i", `${dir}/p/${OUT}`]);
    const ref = loaded.stdout.match(/Loaded image: (\S+)/)?.[1];
    ok(ref, loaded.stdout);
    await docker(["tag", ref, tag]);
    await docker(["save", "-o", `${dir}/saved.tar`, tag]);
    await Deno.writeFile(`${dir}/a.tar`, gunzipSync(await Deno.readFile(`${dir}/p/${OUT}`)));

    await t.step(
      "docker save of the image is the same image: exit 0, packaging notes",
      async () => {
        const r = await verify([`p/${OUT}`, "saved.tar"], dir);
        assertEquals([r.code, r.stderr], [0, ""], r.stdout);
        const lines = r.stdout.split("\n");
        // docker save (before Docker 25) writes no manifest: the image ID is the identity.
        ok(
          /^Images are identical: the same image ID sha256:[0-9a-f]{12}…, every layer checked against its diff_id \(the archive files differ: see the notes\)$/
            .test(lines[0]),
          r.stdout,
        );
        ok(lines.includes("  note: archive formats differ (docker-archive+oci vs docker-archive)"));
        ok(
          lines.includes(
            "  note: blob file names differ: blobs/sha256/<hex> vs <hex>.json, <hex>/layer.tar",
          ),
          r.stdout,
        );
        ok(lines.includes("  note: media types differ: OCI vs none (docker-archive)"), r.stdout);
        ok(lines.length <= 16, r.stdout);
        // Every layer of the saved archive is read: none of its files is lost. Counted by tar
        // itself (r10e's side has gzip layers, which verify need not read: the same diff_ids).
        const json = JSON.parse((await verify(["a.tar", "saved.tar", "--json"], dir)).stdout);
        assertEquals(json.identical, true);
        assertEquals(json.b.imageId, json.a.imageId);
        const count = await new Deno.Command("sh", {
          args: [
            "-c",
            `n=0; for l in $(tar -xOf saved.tar manifest.json | grep -o '[0-9a-f]*/layer.tar'); do ` +
            `n=$((n + $(tar -xOf saved.tar "$l" | tar -t | wc -l))); done; echo $n`,
          ],
          cwd: dir,
        }).output();
        const inLayers = Number(new TextDecoder().decode(count.stdout).trim());
        ok(inLayers > 0, new TextDecoder().decode(count.stderr));
        assertEquals(json.b.files, inLayers);
      },
    );

    await t.step("skopeo copy to oci-archive: same content, the config re-serialized", async () => {
      if (!requireTool(t, "skopeo")) return;
      const copy = await run("skopeo", [
        "copy",
        "--quiet",
        `docker-archive:${dir}/a.tar`,
        `oci-archive:${dir}/copy.tar`,
      ]);
      assertEquals(copy.code, 0, copy.stderr);
      const r = await verify(["a.tar", "copy.tar"], dir);
      assertEquals([r.code, r.stderr], [1, ""], r.stdout);
      const lines = r.stdout.split("\n");
      // skopeo gzips the layers again and re-encodes the config: the same verified content
      // under another manifest digest, one finding for each.
      assertEquals(lines[0], "Images differ: 2 findings: compression (1), config-encoding (1)");
      ok(
        lines.some((l) =>
          l.startsWith("  layer blobs (same content: diff_ids verified): layer 0:")
        ),
        r.stdout,
      );
      ok(
        lines.some((l) =>
          l.startsWith("  config-encoding (1): config re-serialized: the same JSON content") &&
          l.includes("→ no fix needed")
        ),
        r.stdout,
      );
      ok(!r.stdout.includes("rootfs.diff_ids"), r.stdout);
      // Other blobs are read on both sides, each checked against its diff_id.
      ok(/ \d+ files$/.test(lines[2]) && !lines[2].endsWith(" 0 files"), r.stdout);
      ok(!r.stdout.includes("[files]"), r.stdout);
      const half = await verify(["a.tar", "copy.tar", "--ignore", "config-encoding"], dir);
      assertEquals([half.code, half.stdout.split("\n")[0]], [
        1,
        "Images differ: 1 finding: compression (1)",
      ]);
      const ignored = await verify(
        ["a.tar", "copy.tar", "--ignore", "config-encoding,compression"],
        dir,
      );
      assertEquals([ignored.code, ignored.stderr], [0, ""], ignored.stdout);
    });
  } finally {
    await docker(["rmi", tag], { allowFail: true });
    await Deno.remove(dir, { recursive: true });
  }
});

/** ko on PATH or in `$(go env GOPATH)/bin`, where scripts/setup.sh installs it. */
async function findKo(): Promise<string | undefined> {
  const found = findTool("ko");
  if (found) return found;
  const gopath = (await run("go", ["env", "GOPATH"])).stdout.trim();
  try {
    Deno.statSync(`${gopath}/bin/ko`);
    return `${gopath}/bin/ko`;
  } catch {
    return undefined;
  }
}

dockerTest("verify: two ko builds with different SOURCE_DATE_EPOCH", async (t) => {
  const ko = await findKo();
  if (!ko) {
    if (dockerRequired()) {
      throw new Error("R10E_REQUIRE_DOCKER=1 but ko is not installed (bash scripts/setup.sh)");
    }
    console.log(`skipped: "${t.name}": ko is not installed (bash scripts/setup.sh installs it)`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "r10e-verify-ko-" });
  const id = crypto.randomUUID().slice(0, 8);
  const base = `r10e-verify-ko-base:${id}`;
  try {
    // ko's base image: a one-file image imported here and pushed to the loopback registry.
    await Deno.mkdir(`${dir}/rootfs/etc`, { recursive: true });
    await Deno.writeTextFile(`${dir}/rootfs/etc/os-release`, "ID=r10e-test\n");
    await importImage(`${dir}/rootfs`, base);
    const pinned = await pushToLocalRegistry(base);
    await Deno.mkdir(`${dir}/app/kodata`, { recursive: true });
    await Deno.writeTextFile(`${dir}/app/go.mod`, "module example.com/kohello\n\ngo 1.22\n");
    await Deno.writeTextFile(
      `${dir}/app/main.go`,
      'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from ko") }\n',
    );
    await Deno.writeTextFile(`${dir}/app/kodata/greeting.txt`, "hello\n");
    for (const [name, epoch] of [["a", "1700000000"], ["b", "1700086400"]]) {
      const env: Record<string, string> = {
        KO_DEFAULTBASEIMAGE: pinned,
        // Not ko.local: that would load the image into the engine. --push=false keeps it local.
        KO_DOCKER_REPO: "example.com/kohello",
        SOURCE_DATE_EPOCH: epoch,
        KO_DATA_DATE_EPOCH: "1700000000",
        GOFLAGS: "",
        GOPROXY: "off",
        CGO_ENABLED: "0",
        HOME: Deno.env.get("HOME") ?? dir,
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      };
      for (const key of ["GOCACHE", "GOMODCACHE", "GOPATH", "DOCKER_HOST"]) {
        const v = Deno.env.get(key);
        if (v !== undefined) env[key] = v;
      }
      const r = await run(ko, [
        "build",
        "--push=false",
        "--platform=linux/amd64",
        `--tarball=${dir}/${name}.tar`,
        "--bare",
        ".",
      ], { cwd: `${dir}/app`, env });
      assertEquals(r.code, 0, r.stderr);
    }
    const r = await verify(["a.tar", "b.tar"], dir);
    assertEquals([r.code, r.stderr], [1, ""], r.stdout);
    const json = JSON.parse((await verify(["a.tar", "b.tar", "--json"], dir)).stdout);
    assertEquals(json.builders, { a: "ko", b: "ko" });
    const fields = json.findings.map((f: { scope: string; field: string; cause: string }) =>
      `${f.scope} ${f.field} ${f.cause}`
    );
    ok(fields.includes("config created timestamps"), fields.join("\n"));
    // The config entry is named after its digest (sha256:<hex>): renamed, not another file set.
    ok(!json.findings.some((f: { cause: string }) => f.cause === "files"), r.stdout);
    const times = json.causes.find((c: { cause: string }) => c.cause === "timestamps");
    ok(times.hint.includes("KO_DATA_DATE_EPOCH"), times.hint);
    ok(head(r.stdout).length <= 15, r.stdout);
  } finally {
    await docker(["rmi", base, `${testRegistry()}/${base}`], { allowFail: true });
    await Deno.remove(dir, { recursive: true });
  }
});
