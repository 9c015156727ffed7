import { assertEquals } from "../tests/_assert.ts";
import { specialKind } from "./file_kind.ts";

Deno.test("specialKind names a FIFO, a character device, and others as a special file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = `${dir}/fifo`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assertEquals(made.success, true);
    assertEquals(specialKind(await Deno.lstat(fifo)), "a FIFO");
    assertEquals(specialKind(await Deno.stat("/dev/null")), "a character device");
    assertEquals(specialKind(await Deno.stat(dir)), "a special file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
