import { assertEquals } from "../tests/_assert.ts";
import { compareCodePoints } from "./code_point_order.ts";

Deno.test("compareCodePoints is UTF-8 byte order", () => {
  const words = [
    "app/x",
    "app/",
    "app-x",
    "\u{10000}",
    "\uff61",
    "a",
    "",
    "\u00e9",
    "z\u{1f600}",
    "z\uffff",
  ];
  const enc = new TextEncoder();
  const bytewise = (a: string, b: string) => {
    const x = enc.encode(a);
    const y = enc.encode(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  assertEquals([...words].sort(compareCodePoints), [...words].sort(bytewise));
});
