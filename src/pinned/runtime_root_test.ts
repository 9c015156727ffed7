import { assertEquals } from "../../tests/_assert.ts";
import { collectBytes } from "../../tests/_bytes.ts";
import { sha256Hex } from "../image/digest.ts";
import { readTar } from "../tar/reader.ts";
import { writeTar } from "../tar/writer.ts";
import { NONROOT_USER, runtimeRootEntries, runtimeUser } from "./runtime_root.ts";

Deno.test("runtimeRootEntries: the layer's bytes are fixed by r10e (golden diff_ids)", async (t) => {
  for (
    const [mtime, digest] of [
      [0, "a0ddf0ed035ffb17166f2a0720cdc13e7f9d885826c2f5fb0c6af3a33d1a6abf"],
      [1700000000, "27c792696ba7769e503c1e253eed6f3eb9d2e7a1c7d2d6b82823ab97dcdd38bf"],
    ] as const
  ) {
    await t.step(`mtime ${mtime}`, async () => {
      const tar = await collectBytes(writeTar(runtimeRootEntries(), { mtime }));
      assertEquals(sha256Hex(tar), digest);
    });
  }
});

Deno.test("runtimeRootEntries: owners, modes and files as distroless's static root has them", async () => {
  const tar = await collectBytes(writeTar(runtimeRootEntries(), { mtime: 0 }));
  const seen: string[] = [];
  const texts: Record<string, string> = {};
  for await (const { header: h, body } of readTar(ReadableStream.from([tar]))) {
    seen.push(`${h.name} ${h.mode.toString(8)} ${h.uid}:${h.gid}`);
    const bytes = await collectBytes(body);
    if (h.kind === "file") texts[h.name] = new TextDecoder().decode(bytes);
  }
  assertEquals(seen, [
    "etc/ 755 0:0",
    "etc/group 644 0:0",
    "etc/nsswitch.conf 644 0:0",
    "etc/passwd 644 0:0",
    "home/ 755 0:0",
    "home/nonroot/ 700 65532:65532",
    "root/ 700 0:0",
    "tmp/ 1777 0:0",
  ]);
  assertEquals(
    texts["etc/passwd"].split("\n").filter(Boolean).map((l) => l.split(":").slice(0, 6).join(":")),
    [
      "root:x:0:0:root:/root",
      "nobody:x:65534:65534:nobody:/nonexistent",
      "nonroot:x:65532:65532:nonroot:/home/nonroot",
    ],
  );
  assertEquals(texts["etc/group"], "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n");
  assertEquals(texts["etc/nsswitch.conf"].includes("hosts:          files dns\n"), true);
});

Deno.test("runtimeUser: nonroot runs as 65532, root and none leave User unset", () => {
  assertEquals(NONROOT_USER, "65532");
  assertEquals(runtimeUser("nonroot"), "65532");
  assertEquals(runtimeUser("root"), undefined);
  assertEquals(runtimeUser(undefined), undefined);
});
