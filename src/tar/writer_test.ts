import { assertEquals, assertRejects, assertThrows } from "../../tests/_assert.ts";
import { collectBytes } from "../../tests/_bytes.ts";
import {
  compareNames,
  encodeHeader,
  fileEntry,
  paxRecord,
  splitUstarName,
  type TarEntry,
  writeTar,
} from "./writer.ts";

const enc = new TextEncoder();

const file = fileEntry;

function collect(entries: TarEntry[], mtime: number): Promise<Uint8Array> {
  return collectBytes(writeTar(entries, { mtime }));
}

/**
 * Go's archive/tar (what moby, BuildKit and ko write layers with) writing the
 * same entries: an independent writer that must produce the same bytes.
 */
async function goTar(
  mtime: number,
  entries: {
    name: string;
    kind: string;
    mode: number;
    text?: string;
    link?: string;
    uid?: number;
    gid?: number;
  }[],
) {
  const child = new Deno.Command("go", {
    args: ["run", "."],
    cwd: new URL("../../tests/fixtures/gotar", import.meta.url).pathname,
    env: { GOENV: "off", GOFLAGS: "", GOTOOLCHAIN: "local" },
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(enc.encode(JSON.stringify({ mtime, entries })));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error("go run tests/fixtures/gotar failed");
  return out.stdout;
}

Deno.test("writeTar: bytes equal Go archive/tar's for ustar, prefix-split and PAX entries", async () => {
  const mtime = 1700000000;
  const long = "a/" + "b".repeat(180);
  const splittable = "etc/" + "d".repeat(120) + "/x.txt";
  const ours = await collect([
    { name: "app", kind: "dir", mode: 0o755, size: 0 },
    file("app/hello", "#!/bin/true\n", 0o755),
    { name: "app/link", kind: "symlink", mode: 0o777, size: 0, linkTarget: "hello" },
    file(splittable, "long but splittable into prefix and name"),
    { name: "caf\u00e9", kind: "dir", mode: 0o755, size: 0 },
    file("caf\u00e9/men\u00fc.txt", "non-ASCII names take a PAX path record"),
    file(long, "too long for ustar"),
    { name: "l", kind: "symlink", mode: 0o777, size: 0, linkTarget: "t".repeat(150) },
  ], mtime);
  const theirs = await goTar(mtime, [
    { name: "app/", kind: "dir", mode: 0o755 },
    { name: "app/hello", kind: "file", mode: 0o755, text: "#!/bin/true\n" },
    { name: "app/link", kind: "symlink", mode: 0o777, link: "hello" },
    {
      name: splittable,
      kind: "file",
      mode: 0o644,
      text: "long but splittable into prefix and name",
    },
    { name: "caf\u00e9/", kind: "dir", mode: 0o755 },
    {
      name: "caf\u00e9/men\u00fc.txt",
      kind: "file",
      mode: 0o644,
      text: "non-ASCII names take a PAX path record",
    },
    { name: long, kind: "file", mode: 0o644, text: "too long for ustar" },
    { name: "l", kind: "symlink", mode: 0o777, link: "t".repeat(150) },
  ]);
  assertEquals(ours, new Uint8Array(theirs));
});

Deno.test("writeTar: an owner and the sticky bit are written as Go archive/tar writes them", async () => {
  const mtime = 1700000000;
  const ours = await collect([
    { name: "home", kind: "dir", mode: 0o755, size: 0 },
    { name: "home/nonroot", kind: "dir", mode: 0o700, size: 0, uid: 65532, gid: 65532 },
    { name: "tmp", kind: "dir", mode: 0o1777, size: 0 },
  ], mtime);
  const theirs = await goTar(mtime, [
    { name: "home/", kind: "dir", mode: 0o755 },
    { name: "home/nonroot/", kind: "dir", mode: 0o700, uid: 65532, gid: 65532 },
    { name: "tmp/", kind: "dir", mode: 0o1777 },
  ]);
  assertEquals(ours, new Uint8Array(theirs));
  // An entry that names owner 0 is the same bytes as one that names none.
  assertEquals(
    await collect([{ name: "tmp", kind: "dir", mode: 0o1777, size: 0, uid: 0, gid: 0 }], 0),
    await collect([{ name: "tmp", kind: "dir", mode: 0o1777, size: 0 }], 0),
  );
});

Deno.test("encodeHeader: an owner or mode ustar cannot hold is refused", () => {
  for (
    const [entry, message] of [
      [{ uid: -1 }, 'bad uid "-1"'],
      [{ gid: 0o10000000 }, 'bad gid "2097152"'],
      [{ mode: 0o17777 }, 'bad mode "8191"'],
    ] as const
  ) {
    assertThrows(
      () => encodeHeader({ name: "x", kind: "dir", mode: 0o755, size: 0, ...entry }, { mtime: 0 }),
      RangeError,
      message,
    );
  }
});

Deno.test("writeTar: PAX records for non-ASCII and overlong names, read back by GNU tar and Python", async () => {
  const long = "a/" + "b".repeat(180);
  const bytes = await collect([
    file("café.txt", "non-ascii"),
    file(long, "long"),
    { name: "l", kind: "symlink", mode: 0o777, size: 0, linkTarget: "t".repeat(150) },
  ], 0);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/a.tar`, bytes);
    const gnu = await new Deno.Command("tar", {
      args: ["-tvf", `${dir}/a.tar`],
      stdout: "piped",
      env: { LC_ALL: "C.UTF-8" },
    })
      .output();
    const listing = new TextDecoder().decode(gnu.stdout);
    assertEquals(gnu.success, true);
    assertEquals(listing.includes("café.txt"), true);
    assertEquals(listing.includes(long), true);
    assertEquals(listing.includes("l -> " + "t".repeat(150)), true);
    const py = await new Deno.Command("python3", {
      args: [
        "-c",
        "import tarfile,sys,json;print(json.dumps([[m.name,m.size,m.linkname,m.uid,m.uname,m.mtime] for m in tarfile.open(sys.argv[1])]))",
        `${dir}/a.tar`,
      ],
      stdout: "piped",
    }).output();
    assertEquals(JSON.parse(new TextDecoder().decode(py.stdout)), [
      ["café.txt", 9, "", 0, "", 0],
      [long, 4, "", 0, "", 0],
      ["l", 0, "t".repeat(150), 0, "", 0],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeTar: ends with exactly two zero blocks, no record padding", async () => {
  const bytes = await collect([file("a", "x")], 0);
  assertEquals(bytes.length, 512 + 512 + 1024);
});

Deno.test("writeTar: content that is not the declared size is an error", async () => {
  await assertRejects(
    () => collect([{ ...file("a", "abc"), size: 5 }], 0),
    RangeError,
    'Cannot write tar entry "a": expected 5 bytes, content has 3',
  );
  await assertRejects(
    () => collect([{ ...file("a", "abcdef"), size: 2 }], 0),
    RangeError,
    'Cannot write tar entry "a": expected 2 bytes, content has more',
  );
});

Deno.test("encodeHeader: rejects absolute and ./ names", () => {
  assertThrows(
    () => encodeHeader(file("/etc/x", ""), { mtime: 0 }),
    RangeError,
    "name must be relative",
  );
  assertThrows(
    () => encodeHeader(file("./x", ""), { mtime: 0 }),
    RangeError,
    "name must be relative",
  );
});

Deno.test("paxRecord: the length counts its own digits", async (t) => {
  for (
    const [key, value, want] of [
      ["path", "a", "9 path=a\n"],
      ["path", "x".repeat(90), "99 path=" + "x".repeat(90) + "\n"],
      // 98 bytes plus two digits would be 100, which has three: the length becomes 101.
      ["path", "x".repeat(91), "101 path=" + "x".repeat(91) + "\n"],
    ]
  ) {
    await t.step(want.slice(0, 12), () => {
      const got = paxRecord(key, value);
      assertEquals(got, want);
      assertEquals(new TextEncoder().encode(got).length, Number(got.split(" ")[0]));
    });
  }
});

Deno.test("splitUstarName and compareNames", () => {
  assertEquals(splitUstarName("a".repeat(100)), { prefix: "", name: "a".repeat(100) });
  assertEquals(splitUstarName("p/" + "n".repeat(100)), { prefix: "p", name: "n".repeat(100) });
  assertEquals(splitUstarName("n".repeat(101)), null);
  assertEquals(splitUstarName("é"), null);
  // Bytewise UTF-8 order: "app-x" < "app/" < "app/x"; U+FF61 sorts before U+10000 in UTF-8 but not in UTF-16.
  const names = ["app/x", "app/", "app-x", "\u{10000}", "\uff61"];
  assertEquals(names.sort(compareNames), ["app-x", "app/", "app/x", "\uff61", "\u{10000}"]);
});

Deno.test("fileEntry: a 0o644 file of the text's UTF-8 bytes, readable more than once", async () => {
  const e = fileEntry("etc/motd", "hé\n");
  assertEquals([e.name, e.kind, e.mode, e.size], ["etc/motd", "file", 0o644, 4]);
  for (let i = 0; i < 2; i++) {
    assertEquals(await collectBytes(e.content!()), new Uint8Array([0x68, 0xc3, 0xa9, 0x0a]));
  }
  assertEquals(fileEntry("x", new Uint8Array([1]), 0o755).mode, 0o755);
});
