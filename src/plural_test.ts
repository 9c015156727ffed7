import { assertEquals } from "../tests/_assert.ts";
import { plural } from "./plural.ts";

Deno.test("plural: singular for exactly one", () => {
  assertEquals(plural(1, "entry"), "1 entry");
  assertEquals(plural(0, "entry"), "0 entries");
  assertEquals(plural(2, "blob"), "2 blobs");
  assertEquals(plural(3, "key"), "3 keys");
  assertEquals(plural(1, "uncommitted path"), "1 uncommitted path");
  assertEquals(plural(5, "child", "children"), "5 children");
});
