import assert from "node:assert/strict";
import { homeCaches, type HostFacts, planVariations } from "./variations.ts";

const facts: HostFacts = {
  tools: {
    faketime: "/usr/bin/faketime",
    disorderfs: "/usr/bin/disorderfs",
    fusermount: "/usr/bin/fusermount",
    unshare: "/usr/bin/unshare",
    setarch: "/usr/bin/setarch",
    taskset: "/usr/bin/taskset",
  },
  root: true,
  fuse: true,
  machine: "x86_64",
  cpus: 4,
  home: "/home/u",
  caches: { GOMODCACHE: "/home/u/go/pkg/mod" },
  homeB: "/tmp/w/home-b",
  modeB: "host",
};

const row = (plan: ReturnType<typeof planVariations>, name: string) =>
  plan.conditions.find((c) => c.name === name)!;

Deno.test("planVariations: every tool present as root on the host: all applied", () => {
  const plan = planVariations(facts);
  assert.deepEqual(plan.prefix, [
    ...["/usr/bin/unshare", "--uts", "--", "/bin/sh", "-c"],
    'hostname "$1" && domainname "$1" && shift && exec "$@"',
    ...["sh", "r10e-check-b", "/usr/bin/setarch", "x86_64", "--uname-2.6", "-R"],
    ...["/usr/bin/taskset", "--cpu-list", "0"],
  ]);
  assert.equal(plan.clockShift, "+3d");
  assert.equal(plan.env.R10E_BUILD_CMD_FAKETIME, undefined);
  assert.equal(plan.env.HOME, "/tmp/w/home-b");
  assert.equal(plan.env.GOMODCACHE, "/home/u/go/pkg/mod");
  assert.equal(plan.shuffleDirents, true);
  assert.deepEqual(plan.conditions.filter((c) => c.notVaried), []);
});

Deno.test("planVariations: what is missing is named, and nothing is claimed that was not done", async (t) => {
  const cases: [string, Partial<HostFacts>, string, RegExp][] = [
    [
      "no faketime",
      { tools: { ...facts.tools, faketime: null } },
      "time",
      /faketime is not installed/,
    ],
    [
      "docker B",
      { modeB: "docker" },
      "time",
      /a date first on PATH in the container/,
    ],
    ["not root", { root: false }, "hostname", /not root/],
    ["not root", { root: false }, "file order", /not root/],
    ["no fuse", { fuse: false }, "file order", /\/dev\/fuse is missing/],
    ["one CPU", { cpus: 1 }, "CPUs", /one CPU/],
    [
      "no setarch",
      { tools: { ...facts.tools, setarch: null } },
      "ASLR",
      /setarch is not installed/,
    ],
    [
      "setarch refused",
      { failed: { setarch: "Operation not permitted" } },
      "kernel",
      /setarch --uname-2\.6 -R failed here: Operation not permitted/,
    ],
    [
      "unshare refused",
      { failed: { unshare: "unshare failed: Operation not permitted" } },
      "hostname",
      /unshare --uts failed here/,
    ],
    ["taskset refused", { failed: { taskset: "x" } }, "CPUs", /taskset failed here: x/],
  ];
  for (const [what, change, name, why] of cases) {
    await t.step(`${what}: ${name}`, () => {
      const plan = planVariations({ ...facts, ...change });
      const c = row(plan, name);
      assert.match(c.notVaried ?? c.note ?? "", why);
      if (name === "time") {
        assert.equal(plan.clockShift, what === "docker B" ? "+3d" : undefined);
      }
      if (name === "hostname") assert.ok(!plan.prefix.includes("/usr/bin/unshare"));
      if (name === "kernel") assert.ok(!plan.prefix.includes("/usr/bin/setarch"));
      if (name === "CPUs") assert.ok(!plan.prefix.includes("/usr/bin/taskset"));
      if (name === "file order") assert.equal(plan.shuffleDirents, false);
    });
  }
});

Deno.test("homeCaches: the caches under HOME stay where the user's are", () => {
  assert.deepEqual(homeCaches({ HOME: "/h" }), {
    GOPATH: "/h/go",
    GOMODCACHE: "/h/go/pkg/mod",
    GOCACHE: "/h/.cache/go-build",
    DENO_DIR: "/h/.cache/deno",
    DOCKER_CONFIG: "/h/.docker",
  });
  assert.equal(homeCaches({ HOME: "/h", GOPATH: "/g:/x" }).GOMODCACHE, "/g/pkg/mod");
  assert.equal(homeCaches({ HOME: "/h", GOCACHE: "/c" }).GOCACHE, "/c");
});

Deno.test("planVariations: B in docker claims no wrapper that cannot reach the container", () => {
  const plan = planVariations({ ...facts, modeB: "docker" });
  assert.deepEqual(plan.prefix, []);
  for (const name of ["kernel", "ASLR", "CPUs"]) {
    assert.match(row(plan, name).notVaried ?? "", /builder container/, name);
  }
  assert.match(row(plan, "hostname").b, /the builder container's own/);
  assert.match(row(plan, "file order").notVaried ?? "", /builder container/);
});
