import { assertEquals } from "../../tests/_assert.ts";
import { parseChallenges } from "./challenge.ts";

Deno.test("parseChallenges reads Bearer and Basic challenges with quoted and bare values", async (t) => {
  const cases: [string, unknown][] = [
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [{
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/alpine:pull",
        },
      }],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: "basic", params: { realm: "Registry Realm" } }]],
    [
      'Bearer realm="https://t/x", error="insufficient_scope", Basic realm=r',
      [
        { scheme: "bearer", params: { realm: "https://t/x", error: "insufficient_scope" } },
        { scheme: "basic", params: { realm: "r" } },
      ],
    ],
    ['Bearer realm="a\\"b"', [{ scheme: "bearer", params: { realm: 'a"b' } }]],
    ["", []],
  ];
  for (const [header, want] of cases) {
    await t.step(header || "(empty)", () => assertEquals(parseChallenges(header), want));
  }
});
