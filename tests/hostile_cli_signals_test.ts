/**
 * Signals and leftovers: the real CLI gets SIGINT, SIGTERM or SIGHUP in
 * the middle of its work (a build_cmd that sleeps and spawns children, one of
 * them deaf to SIGTERM; a build writing its archive; a cp and a verify of a
 * 1 GiB sparse-made archive), then: the exit code is 128 + the signal number,
 * no child process is alive (checked by pid and by process group in /proc), and
 * no temporary file or spool directory is left (TMPDIR is a folder of the test).
 */
import { createHash } from "node:crypto";
import { zstdCompressSync } from "node:zlib";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { copyExample, git, r10e } from "./_cli.ts";
import { project as checkProject } from "./_check.ts";
import { docker, dockerTest, goBuilderImage } from "./_docker.ts";
import { hostTag } from "../src/build/stale_containers.ts";
import { fileEntry, imageItems, rawHeader, tarOf } from "./_hostile.ts";
import {
  listAll,
  processAlive,
  processesInGroup,
  type Running,
  spawnR10e,
  waitFor,
  writeSparseImage,
} from "./hostile_cli_helpers.ts";

const CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

async function project(buildCmd: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-sig-" });
  await copyExample(dir);
  const config = await Deno.readTextFile(`${dir}/config.json`);
  await Deno.writeTextFile(
    `${dir}/config.json`,
    config.replace('"go build -o build/hello ."', () => JSON.stringify(buildCmd)),
  );
  await Deno.mkdir(`${dir}/tmp`);
  return dir;
}

const readPid = (path: string) => Number(Deno.readTextFileSync(path).trim());

Deno.test("signals: build_cmd and all its children are stopped and waited for, exit 128+n", async (t) => {
  // The leader records its pid (= its process group: r10e starts it with setsid); one child
  // ignores SIGTERM, SIGHUP and SIGINT (kept through exec), so only the SIGKILL after the grace
  // period stops it; the other is an ordinary sleep.
  const cmd = `echo $$ > leader.pid; ` +
    `sh -c 'trap "" TERM HUP INT; echo $$ > deaf.pid; exec sleep 300' & ` +
    `sh -c 'echo $$ > child.pid; exec sleep 300' & ` +
    `while [ ! -s deaf.pid ] || [ ! -s child.pid ]; do sleep 0.05; done; echo ready-$((1+1)); wait`;
  for (
    const [sig, again] of [["SIGTERM"], ["SIGHUP"], ["SIGINT"], ["SIGTERM", "SIGINT"]] as const
  ) {
    await t.step(again ? `${sig}, then ${again}: SIGKILL at once` : sig, async () => {
      const dir = await project(cmd);
      let run: Running | undefined;
      try {
        run = spawnR10e(["build", "--in", "host"], {
          cwd: dir,
          env: { SOURCE_DATE_EPOCH: "0", TMPDIR: `${dir}/tmp` },
        });
        await Promise.race([run.stderrIncludes("ready-2"), run.child.status]);
        if (!run) throw new Error("unreachable");
        const leader = readPid(`${dir}/leader.pid`);
        const deaf = readPid(`${dir}/deaf.pid`);
        const child = readPid(`${dir}/child.pid`);
        assertEquals(
          processAlive(deaf) && processAlive(child),
          true,
          `children not running: ${await Promise.race([
            run.stderr,
            new Promise((r) => setTimeout(() => r("(running)"), 100)),
          ])}`,
        );
        const sent = Date.now();
        run.child.kill(sig);
        if (again) {
          await run.stderrIncludes("interrupted by");
          run.child.kill(again);
        }
        const status = await run.child.status;
        const stderr = await run.stderr;
        await run.stdout;
        assertEquals(status.code, CODES[sig], stderr);
        assertStringIncludes(stderr, `r10e: interrupted by ${sig}`);
        // The deaf child needed the SIGKILL: r10e waited for it instead of exiting first; a
        // second signal sends it without waiting for the grace period.
        const took = Date.now() - sent;
        if (again) assertEquals(took < 4000, true, `a second signal still waited ${took} ms`);
        else assertEquals(took >= 4000, true, "exited before the grace period");
        assertEquals(processAlive(deaf), false, `deaf child ${deaf} alive`);
        assertEquals(processAlive(child), false, `child ${child} alive`);
        assertEquals(processesInGroup(leader), [], "processes left in build_cmd's group");
        assertEquals(listAll(`${dir}/tmp`), [], "temporaries left in TMPDIR");
        assertEquals(listAll(`${dir}/r10e-docker`).filter((p) => p.startsWith("out")), []);
      } finally {
        if (run) await stopAll(run, dir);
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});

/** A failed assertion must not leave the CLI or build_cmd's group running. */
async function stopAll(run: Running, dir: string): Promise<void> {
  try {
    run.child.kill("SIGKILL");
  } catch {
    // ended
  }
  try {
    Deno.kill(-readPid(`${dir}/leader.pid`), "SIGKILL");
  } catch {
    // ended, or never started
  }
  await run.child.status;
  await Promise.all([run.stderr, run.stdout]).catch(() => {});
}

Deno.test("signals: a build killed while writing its archive leaves no temporary; a stale one of a SIGKILL is removed by the next build", async () => {
  // A large extern_data file of random bytes: the archive takes seconds to write.
  const dir = await project("go build -o build/hello .");
  try {
    const big = await Deno.open(`${dir}/data/big.bin`, { write: true, create: true });
    const chunk = new Uint8Array(1 << 16);
    for (let i = 0; i < 3200; i++) {
      crypto.getRandomValues(chunk);
      await big.write(chunk);
    }
    big.close();
    const out = `${dir}/r10e-docker/out`;
    const temps = () => listAll(out).filter((n) => n.startsWith(".r10e-build-"));
    const run = spawnR10e(["build", "--in", "host"], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "0", TMPDIR: `${dir}/tmp` },
    });
    await Promise.race([
      waitFor("the archive's temporary", () => temps().length > 0, 240_000),
      run.child.status,
    ]);
    assertEquals(temps().length, 1, await Promise.race([run.stderr, Promise.resolve("")]));
    run.child.kill("SIGTERM");
    const status = await run.child.status;
    const stderr = await run.stderr;
    await run.stdout;
    assertEquals(status.code, 143, stderr);
    assertEquals(listAll(out), [], "left in r10e-docker/out");
    assertEquals(listAll(`${dir}/tmp`), [], "left in TMPDIR");

    // What a SIGKILL leaves (no handler runs): a temporary of a dead process, and one of a
    // live process (this test's) that must be kept. The next build removes only the first.
    const name = "r10e-hello-latest.tar.gz";
    const dead = `.r10e-build-${2 ** 22 + 12345}-0123456789ab`;
    const live = `.r10e-build-${Deno.pid}-89abcdef0123`;
    await Deno.writeTextFile(`${out}/${dead}`, "partial");
    await Deno.writeTextFile(`${out}/${live}`, "in use");
    await Deno.writeTextFile(`${out}/unrelated.tmp-1-0123abcd`, "not ours");
    await Deno.remove(`${dir}/data/big.bin`);
    const again = spawnR10e(["build", "--in", "host", "--no-build-cmd"], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: "0", TMPDIR: `${dir}/tmp` },
    });
    const st = await again.child.status;
    const err = await again.stderr;
    await again.stdout;
    assertEquals(st.code, 0, err);
    // With the SBOMs and provenance the build writes beside the archive.
    const docs = ["cdx.json", "provenance.json", "spdx.json"].map((s) => `r10e-hello-latest.${s}`);
    assertEquals(listAll(out), [live, name, ...docs, "unrelated.tmp-1-0123abcd"].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signals: an interrupted cp leaves nothing beside DEST, an interrupted verify no spool", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-sig-" });
  try {
    await Deno.mkdir(`${dir}/tmp`);
    await Deno.mkdir(`${dir}/dest`);
    // 1 GiB of zeros in /app/big, sparse on disk; B differs in the last bytes only.
    await writeSparseImage(`${dir}/a.tar`, 1 << 30);
    await writeSparseImage(`${dir}/b.tar`, 1 << 30, new TextEncoder().encode("END\n"));
    const env = { TMPDIR: `${dir}/tmp` };
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      await t.step(`cp, ${sig}`, async () => {
        const run = spawnR10e(["cp", "a.tar", "/app/big", "dest/big"], { cwd: dir, env });
        // Mid-copy: the temporary file beside DEST exists and grows.
        await Promise.race([
          waitFor("cp's temporary", () => {
            const names = listAll(`${dir}/dest`);
            return names.some((n) =>
              n.startsWith(".r10e-cp-") && Deno.statSync(`${dir}/dest/${n}`).size > 0
            );
          }),
          run.child.status,
        ]);
        run.child.kill(sig);
        const status = await run.child.status;
        const stderr = await run.stderr;
        await run.stdout;
        assertEquals(status.code, CODES[sig], stderr);
        assertEquals(listAll(`${dir}/dest`), [], "left beside DEST");
        assertEquals(listAll(`${dir}/tmp`), [], "left in TMPDIR");
        assertEquals(run.peakRss() < 300 << 20, true, `peak RSS ${run.peakRss()}`);
      });
    }
    await t.step("cp, SIGKILL: the next cp removes what it left beside DEST", async () => {
      const run = spawnR10e(["cp", "a.tar", "/app/big", "dest/big"], { cwd: dir, env });
      const partial = () =>
        listAll(`${dir}/dest`).filter((n) =>
          n.startsWith(".r10e-cp-") && Deno.statSync(`${dir}/dest/${n}`).size > 0
        );
      await Promise.race([waitFor("cp's temporary", () => partial().length > 0), run.child.status]);
      run.child.kill("SIGKILL");
      await run.child.status;
      await Promise.all([run.stderr, run.stdout]);
      // No handler runs on SIGKILL: the temporary stays, named with the dead cp's pid.
      const [left] = partial();
      assertEquals(left, `.r10e-cp-${run.child.pid}-${left?.slice(-12)}`);
      // Beside it: a temporary tree with a read-only directory inside, of a dead process; one
      // of a live process (this test); names that only look like cp's.
      const deadTree = `.r10e-cp-${2 ** 22 + 4321}-0123456789ab`;
      await Deno.mkdir(`${dir}/dest/${deadTree}/sub`, { recursive: true });
      await Deno.writeTextFile(`${dir}/dest/${deadTree}/sub/f`, "partial");
      await Deno.chmod(`${dir}/dest/${deadTree}/sub`, 0o555);
      const kept = [`.r10e-cp-${Deno.pid}-0123456789ab`, ".r10e-cp-1-notours", ".r10e-cp-x"];
      for (const k of kept) await Deno.writeTextFile(`${dir}/dest/${k}`, "kept");
      const small = spawnR10e(["cp", "b.tar", "/app", "dest/app"], { cwd: dir, env });
      await Promise.race([
        waitFor(
          "the second cp's temporary",
          () => listAll(`${dir}/dest`).some((n) => n.startsWith(`.r10e-cp-${small.child.pid}-`)),
        ),
        small.child.status,
      ]);
      // Once the second cp writes, what the killed one left is gone already.
      assertEquals(listAll(`${dir}/dest`).includes(left), false, "the SIGKILLed cp's file stayed");
      small.child.kill("SIGTERM");
      await small.child.status;
      await Promise.all([small.stderr, small.stdout]);
      assertEquals(listAll(`${dir}/dest`), [...kept].sort());
      for (const k of kept) await Deno.remove(`${dir}/dest/${k}`);
    });
    await t.step("verify, SIGTERM while it spools the differing file", async () => {
      const run = spawnR10e(["verify", "a.tar", "b.tar"], { cwd: dir, env });
      // The differing /app/big is spooled (both sides) into the process's folder in TMPDIR.
      await Promise.race([
        waitFor("verify's spool", () => {
          const files = listAll(`${dir}/tmp`).filter((n) => {
            try {
              return Deno.statSync(`${dir}/tmp/${n}`).isFile;
            } catch {
              return false;
            }
          });
          return files.some((n) => Deno.statSync(`${dir}/tmp/${n}`).size > 1 << 20);
        }, 120_000),
        run.child.status,
      ]);
      run.child.kill("SIGTERM");
      const status = await run.child.status;
      const stderr = await run.stderr;
      await run.stdout;
      assertEquals(status.code, 143, stderr);
      assertEquals(listAll(`${dir}/tmp`), [], "spool left in TMPDIR");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

dockerTest(
  "signals: build --in docker stopped by SIGTERM removes its containers",
  async (_t, engine) => {
    const builder = await goBuilderImage();
    const token = `r10e-sig-${crypto.randomUUID().slice(0, 8)}`;
    const dir = await project(`echo ready-$((1+1)) ${token}; sleep 300`);
    const env = { DOCKER_HOST: engine.host, SOURCE_DATE_EPOCH: "0", TMPDIR: `${dir}/tmp` };
    let run: Running | undefined;
    let buildName = "";
    try {
      const config = await Deno.readTextFile(`${dir}/config.json`);
      await Deno.writeTextFile(
        `${dir}/config.json`,
        config.replace(
          '"include_ca_bundle": true,',
          () => `"include_ca_bundle": true,\n  "builder_image": ${JSON.stringify(builder.ref)},`,
        ),
      );
      const init = await r10e(["init", "--force"], { cwd: dir, env });
      assertEquals(init.code, 0, init.stderr);
      const containers = async () =>
        (await docker(["ps", "-a", "--format", "{{.Names}}"])).stdout.split("\n")
          .filter((n) => n.startsWith("r10e-"));
      run = spawnR10e(["build", "--in", "docker"], { cwd: dir, env });
      await Promise.race([run.stderrIncludes(`ready-2 ${token}`), run.child.status]);
      // Ours among the builds other tests run at the same time: build_cmd is in its Env.
      for (const name of (await containers()).filter((n) => n.startsWith("r10e-build-"))) {
        const envs = await docker(["inspect", "--format", "{{json .Config.Env}}", name], {
          allowFail: true,
        });
        if (envs.stdout.includes(token)) buildName = name;
      }
      assertEquals(buildName !== "", true, `no build container found: ${await containers()}`);
      const contextName = buildName.replace("r10e-build-", "r10e-context-");
      run.child.kill("SIGTERM");
      const status = await run.child.status;
      const stderr = await run.stderr;
      await run.stdout;
      assertEquals(status.code, 143, stderr);
      const left = (await containers()).map((l) => l.split("\t")[0]);
      assertEquals(left.filter((n) => n === buildName || n === contextName), []);
      assertEquals(listAll(`${dir}/tmp`), [], "left in TMPDIR");
      assertEquals(listAll(`${dir}/r10e-docker`).filter((p) => p.startsWith("out")), []);
    } finally {
      // A failed assertion must not leave the CLI or the containers running.
      if (run) await stopAll(run, dir);
      if (buildName) {
        await docker(["rm", "-f", buildName, buildName.replace("r10e-build-", "r10e-context-")], {
          allowFail: true,
        });
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
);

dockerTest(
  "signals: the containers of a build --in docker killed with SIGKILL are removed by the next build, only those",
  async (_t, engine) => {
    const builder = await goBuilderImage();
    const token = `r10e-kill-${crypto.randomUUID().slice(0, 8)}`;
    // First a build_cmd that waits (so that it is killed in the middle), then a real one.
    const dir = await project(`echo ready-$((1+1)) ${token}; sleep 300`);
    const env = { DOCKER_HOST: engine.host, SOURCE_DATE_EPOCH: "0", TMPDIR: `${dir}/tmp` };
    const rand = crypto.randomUUID().slice(0, 6).replace(/[^0-9a-f]/g, "0");
    // Decoys that must stay: a live owner (this test), another machine, a name not r10e's.
    const kept = [
      `r10e-build-${hostTag()}-${Deno.pid}-${rand}`,
      `r10e-build-${hostTag() === "00000000" ? "11111111" : "00000000"}-${2 ** 22 + 7}-${rand}`,
      `r10e-buildx-${rand}`,
    ];
    let run: Running | undefined;
    let buildName = "";
    try {
      const config = await Deno.readTextFile(`${dir}/config.json`);
      const pinned = config.replace(
        '"include_ca_bundle": true,',
        () => `"include_ca_bundle": true,\n  "builder_image": ${JSON.stringify(builder.ref)},`,
      );
      await Deno.writeTextFile(`${dir}/config.json`, pinned);
      const init = await r10e(["init", "--force"], { cwd: dir, env });
      assertEquals(init.code, 0, init.stderr);
      for (const name of kept) {
        await docker(["create", "--name", name, "--network", "none", builder.ref, "true"]);
      }
      const names = async () =>
        (await docker(["ps", "-a", "--format", "{{.Names}}"])).stdout.split("\n").filter(Boolean);
      run = spawnR10e(["build", "--in", "docker"], { cwd: dir, env });
      await Promise.race([run.stderrIncludes(`ready-2 ${token}`), run.child.status]);
      for (const name of (await names()).filter((n) => n.startsWith("r10e-build-"))) {
        const envs = await docker(["inspect", "--format", "{{json .Config.Env}}", name], {
          allowFail: true,
        });
        if (envs.stdout.includes(token)) buildName = name;
      }
      assertEquals(buildName.startsWith(`r10e-build-${hostTag()}-${run.child.pid}-`), true);
      const contextName = buildName.replace("r10e-build-", "r10e-context-");
      run.child.kill("SIGKILL");
      await run.child.status;
      await Promise.all([run.stderr, run.stdout]);
      // No handler ran: both containers are still there.
      const after = await names();
      assertEquals([after.includes(buildName), after.includes(contextName)], [true, true]);
      await Deno.writeTextFile(
        `${dir}/config.json`,
        pinned.replace(
          JSON.stringify(`echo ready-$((1+1)) ${token}; sleep 300`),
          () => JSON.stringify("go build -o build/hello ."),
        ),
      );
      const next = await r10e(["build", "--in", "docker"], { cwd: dir, env });
      assertEquals(next.code, 0, next.stderr);
      const left = await names();
      assertEquals(left.filter((n) => n === buildName || n === contextName), []);
      assertEquals(kept.filter((n) => !left.includes(n)), [], "a container not to remove went");
    } finally {
      if (run) await stopAll(run, dir);
      const mine = [
        ...kept,
        ...(buildName ? [buildName, buildName.replace("build", "context")] : []),
      ];
      await docker(["rm", "-f", ...mine], { allowFail: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("signals: the spool folder of a process killed with SIGKILL is removed by the next run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r10e-hostile-sig-" });
  try {
    const tmp = `${dir}/tmp`;
    // What a SIGKILL leaves: the process's own folder with a spool in it. A pid above the
    // kernel's limit (4194304) is never alive; this test's own pid is.
    const dead = `r10e-${2 ** 22 + 7}-0123456789abcdef`;
    const live = `r10e-${Deno.pid}-fedcba9876543210`;
    for (const d of [dead, live, "r10e-image-0123456789abcdef", "r10e-12-not-ours"]) {
      await Deno.mkdir(`${tmp}/${d}/r10e-image-1`, { recursive: true });
      await Deno.writeTextFile(`${tmp}/${d}/r10e-image-1/0`, "spooled");
    }
    const run = spawnR10e(["cp", "missing.tar", "/app", "dest"], {
      cwd: dir,
      env: { TMPDIR: tmp },
    });
    const status = await run.child.status;
    const stderr = await run.stderr;
    await run.stdout;
    assertEquals(status.code, 2, stderr);
    assertEquals(
      listAll(tmp).filter((p) => !p.includes("/")),
      [live, "r10e-12-not-ours", "r10e-image-0123456789abcdef"].sort(),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Bytes the process has read so far (rchar of /proc/<pid>/io, its worker threads included). */
function bytesRead(pid: number): number {
  try {
    return Number(/rchar:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/io`))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Sends `sig` once `ready` holds (the command is in the middle of its work, not finished) and
 * returns the exit code, stderr and the milliseconds from the signal to the exit.
 */
async function interruptWhen(
  run: Running,
  sig: "SIGINT" | "SIGTERM",
  what: string,
  ready: () => boolean,
): Promise<{ code: number; ms: number; stderr: string }> {
  let exited = false;
  run.child.status.then(() => (exited = true));
  await waitFor(what, () => exited || ready(), 240_000);
  if (exited) throw new Error(`It ended before ${what}: ${await run.stderr}`);
  const sent = performance.now();
  run.child.kill(sig);
  const status = await run.child.status;
  const ms = performance.now() - sent;
  const stderr = await run.stderr;
  await run.stdout;
  console.log(`    exit ${status.code}, ${ms.toFixed(0)} ms after ${sig}`);
  // Its own handler ended it (not the default action of a signal that came too early).
  assertStringIncludes(stderr, `r10e: interrupted by ${sig}: stopping`);
  return { code: status.code, ms, stderr };
}

/**
 * The bound: the command has ended 1 s after the signal. Nothing is added for slack:
 * what remains after the abort is one block (1 MiB) of work and removing temporaries.
 */
const STOP_MS = 1000;

Deno.test("signals: every command ends within 1 s of SIGINT or SIGTERM, its workers included", async (t) => {
  const dir = await project("go build -o build/hello .");
  try {
    // 96 MB of random bytes in extern_data: compressing them takes seconds on the workers.
    {
      using big = await Deno.open(`${dir}/data/big.bin`, { write: true, create: true });
      const chunk = new Uint8Array(1 << 16);
      for (let i = 0; i < 1536; i++) {
        crypto.getRandomValues(chunk);
        await big.write(chunk);
      }
    }
    const out = `${dir}/r10e-docker/out`;
    const env = { SOURCE_DATE_EPOCH: "0", TMPDIR: `${dir}/tmp` };
    const nothingLeft = () => {
      assertEquals(listAll(out), [], "left in r10e-docker/out");
      assertEquals(listAll(`${dir}/tmp`), [], "left in TMPDIR");
    };
    await t.step("build, SIGTERM while compressing a layer on the workers", async () => {
      const run = spawnR10e(["build", "--in", "host"], { cwd: dir, env });
      await Promise.race([
        run.stderrIncludes('Compressing layer "r10e: extern_data"'),
        run.child.status,
      ]);
      const from = bytesRead(run.child.pid);
      const r = await interruptWhen(
        run,
        "SIGTERM",
        "32 MB of the layer read",
        () => bytesRead(run.child.pid) > from + (32 << 20),
      );
      assertEquals(r.code, 143, r.stderr);
      assertEquals(r.ms < STOP_MS, true, `ended ${r.ms.toFixed(0)} ms after the signal`);
      nothingLeft();
    });
    await t.step("build, SIGINT while writing the archive", async () => {
      const run = spawnR10e(["build", "--in", "host"], { cwd: dir, env });
      const temp = () =>
        listAll(out).some((n) =>
          n.startsWith(".r10e-build-") && Deno.statSync(`${out}/${n}`).size > 8 << 20
        );
      const r = await interruptWhen(run, "SIGINT", "8 MB of the archive written", temp);
      assertEquals(r.code, 130, r.stderr);
      assertEquals(r.ms < STOP_MS, true, `ended ${r.ms.toFixed(0)} ms after the signal`);
      nothingLeft();
    });
    // 1 GiB of zeros in /app/big (sparse on disk): verify hashes the blobs on worker threads.
    await writeSparseImage(`${dir}/a.tar`, 1 << 30);
    await writeSparseImage(`${dir}/b.tar`, 1 << 30, new TextEncoder().encode("END\n"));
    await t.step("verify, SIGTERM while the hash workers read the blobs", async () => {
      const run = spawnR10e(["verify", "a.tar", "b.tar"], { cwd: dir, env });
      await Promise.race([run.stderrIncludes("r10e: read a.tar"), run.child.status]);
      const from = bytesRead(run.child.pid);
      const r = await interruptWhen(
        run,
        "SIGTERM",
        "64 MB of b.tar read",
        () => bytesRead(run.child.pid) > from + (64 << 20),
      );
      assertEquals(r.code, 143, r.stderr);
      assertEquals(r.ms < STOP_MS, true, `ended ${r.ms.toFixed(0)} ms after the signal`);
      nothingLeft();
    });
    await t.step("sbom, SIGINT while it reads the image", async () => {
      const run = spawnR10e(["sbom", "a.tar"], { cwd: dir, env });
      const r = await interruptWhen(
        run,
        "SIGINT",
        "128 MB of the archive read",
        () => bytesRead(run.child.pid) > 128 << 20,
      );
      assertEquals(r.code, 130, r.stderr);
      assertEquals(r.ms < STOP_MS, true, `ended ${r.ms.toFixed(0)} ms after the signal`);
      nothingLeft();
    });
    // A .tar.zst image (zstd's own compressed blocks: fzstd inflates them at some 30 MB/s)
    // whose first entry is 128 MB of numbered lines, spooled to TMPDIR as it is inflated.
    const lines = new TextEncoder().encode(
      Array.from({ length: 1 << 20 }, (_, i) => `line ${i}`.padEnd(127) + "\n").join(""),
    );
    const blob = `blobs/sha256/${createHash("sha256").update(lines).digest("hex")}`;
    const items = imageItems([{ bytes: tarOf([fileEntry("app/ok", "ok\n")]) }]);
    const outerTar = tarOf([
      rawHeader({ name: blob, size: lines.length }),
      lines,
      ...items.map((item) => {
        if (!("bytes" in item)) throw new TypeError("bytes expected");
        return fileEntry(item.name, item.bytes);
      }),
    ]);
    await Deno.writeFile(`${dir}/z.tar.zst`, zstdCompressSync(outerTar));
    await t.step("cp, SIGTERM while it inflates a .tar.zst", async () => {
      const run = spawnR10e(["cp", "z.tar.zst", "/app/ok", "ok"], { cwd: dir, env });
      // The outer archive's entry is spooled to TMPDIR as it is inflated.
      const spooling = () =>
        listAll(`${dir}/tmp`).some((n) => {
          try {
            return Deno.statSync(`${dir}/tmp/${n}`).size > 16 << 20;
          } catch {
            return false;
          }
        });
      const r = await interruptWhen(run, "SIGTERM", "16 MB inflated to the spool", spooling);
      assertEquals(r.code, 143, r.stderr);
      assertEquals(r.ms < STOP_MS, true, `ended ${r.ms.toFixed(0)} ms after the signal`);
      nothingLeft();
      assertEquals(listAll(dir).includes("ok"), false);
    });
    await t.step("check, SIGTERM while it compares the two builds with verify", async () => {
      const repo = await checkProject();
      try {
        await Deno.copyFile(`${dir}/data/big.bin`, `${repo}/data/big.bin`);
        await git(repo, "add", ".");
        await git(repo, "commit", "-qm", "a large file");
        const run = spawnR10e(["check", "--in-b", "host"], { cwd: repo, env });
        await Promise.race([run.stderrIncludes("comparing A and B with verify"), run.child.status]);
        const r = await interruptWhen(run, "SIGTERM", "the comparison", () => true);
        assertEquals(r.code, 143, r.stderr);
        assertEquals(r.ms < STOP_MS, true, `ended ${r.ms.toFixed(0)} ms after the signal`);
        nothingLeft();
      } finally {
        await Deno.remove(repo, { recursive: true });
      }
    });
    await t.step("push, SIGINT while the registry does not answer", async () => {
      // A registry that accepts connections and never answers.
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const held: Deno.Conn[] = [];
      (async () => {
        for await (const conn of listener) held.push(conn);
      })().catch(() => {});
      try {
        const port = (listener.addr as Deno.NetAddr).port;
        const run = spawnR10e(["push", "a.tar", `127.0.0.1:${port}/r10e/big:1`], {
          cwd: dir,
          env,
        });
        const r = await interruptWhen(
          run,
          "SIGINT",
          "a connection to the registry",
          () => held.length > 0,
        );
        assertEquals(r.code, 130, r.stderr);
        assertEquals(r.ms < STOP_MS, true, `ended ${r.ms.toFixed(0)} ms after the signal`);
        nothingLeft();
      } finally {
        listener.close();
        for (const c of held) c.close();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
