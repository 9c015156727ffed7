import { assertEquals } from "../tests/_assert.ts";
import { isObject } from "./json_object.ts";

Deno.test("isObject: an object, not null, an array or a string", () => {
  assertEquals(isObject({}), true);
  assertEquals(isObject({ a: 1 }), true);
  assertEquals(isObject(null), false);
  assertEquals(isObject([]), false);
  assertEquals(isObject("{}"), false);
  assertEquals(isObject(undefined), false);
});
