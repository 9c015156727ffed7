import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { detectBuilder, explain } from "./explain.ts";
import { type CauseId, CAUSES, type Finding } from "./findings.ts";

function finding(cause: CauseId, extra: Partial<Finding>): Finding {
  return {
    scope: "config",
    field: "created",
    a: "2024-01-01T00:00:00Z",
    b: "2024-01-02T00:00:00Z",
    cause,
    causeText: CAUSES[cause].text,
    hint: CAUSES[cause].hint,
    ...extra,
  };
}

const history = (...entries: Record<string, string>[]) => ({ history: entries });

Deno.test("detectBuilder reads the history", async (t) => {
  for (
    const [name, config, want] of [
      ["r10e", history({ created_by: "r10e: artifacts" }), "r10e"],
      [
        "ko",
        history({ comment: "Imported from -" }, { author: "ko", created_by: "ko build ko://x" }),
        "ko",
      ],
      [
        "BuildKit",
        history({ created_by: "RUN /bin/sh -c x # buildkit", comment: "buildkit.dockerfile.v0" }),
        "buildkit",
      ],
      [
        "legacy",
        history({ comment: "Imported from -" }, {
          created_by: "/bin/sh -c #(nop) COPY file:1 in / ",
        }),
        "docker-legacy",
      ],
      [
        "Nix",
        history({ created_by: "nix", comment: "store paths: ['/nix/store/abc-hello']" }),
        "nix",
      ],
      ["imported only", history({ comment: "Imported from -" }), "unknown"],
      ["no history", {}, "unknown"],
    ] as const
  ) {
    await t.step(name, () => assertEquals(detectBuilder(config), want));
  }
});

Deno.test("explain: a different commit first, the timestamps follow from it as one shift", () => {
  const labels = (rev: string, created: string) => ({
    history: [{ created_by: "r10e: artifacts" }],
    config: {
      Labels: {
        "org.opencontainers.image.revision": rev,
        "org.opencontainers.image.created": created,
      },
    },
  });
  const rev = 'config.Labels["org.opencontainers.image.revision"]';
  const created = 'config.Labels["org.opencontainers.image.created"]';
  const mtimes = Array.from(
    { length: 5 },
    (_, i) => finding("timestamps", { scope: "file", layer: 2, path: `app/f${i}`, field: "mtime" }),
  );
  const r = explain([
    finding("config", { field: rev, a: "aaaaaaaaaaaaaaaa", b: "bbbbbbbbbbbbbbbb" }),
    finding("timestamps", { field: created }),
    finding("timestamps", {}),
    finding("timestamps", { field: "history[0].created" }),
    ...mtimes,
    finding("content", { scope: "file", layer: 2, path: "app/hello", field: "content" }),
  ], {
    a: labels("aaaaaaaaaaaaaaaa", "2024-01-01T00:00:00Z"),
    b: labels("bbbbbbbbbbbbbbbb", "2024-01-02T00:00:00Z"),
  });
  assertEquals(r.builders, { a: "r10e", b: "r10e" });
  assertEquals(r.causes.map((c) => [c.cause, c.count]), [
    ["commit", 1],
    ["timestamps", 8],
    ["content", 1],
  ]);
  assertEquals(r.causes[0].text, "built from different commits: aaaaaaaaaaaa → bbbbbbbbbbbb");
  assertEquals(
    r.causes[1].text,
    "build time 2024-01-01T00:00:00Z → 2024-01-02T00:00:00Z in 8 places " +
      "(labels, created, history, 5 mtimes): the commit times, they follow from the commits",
  );
  assertEquals(r.causes[1].shift, {
    a: "2024-01-01T00:00:00Z",
    b: "2024-01-02T00:00:00Z",
    count: 8,
  });
  ok(r.causes[2].text.endsWith("(app/hello): expected from a source change between the commits"));
  assertEquals(r.findings[0].cause, "commit");
});

Deno.test("explain: builder hints, DefaultGODEBUG, config.Image", async (t) => {
  await t.step("legacy builder: SOURCE_DATE_EPOCH does not help", () => {
    const legacy = history({ created_by: "/bin/sh -c date > /x" });
    const r = explain([finding("timestamps", {}), finding("config", { field: "config.Image" })], {
      a: legacy,
      b: legacy,
    });
    ok(r.findings[0].hint.includes("SOURCE_DATE_EPOCH does not change that"), r.findings[0].hint);
    assertEquals(r.findings[1].cause, "builder-ids");
  });
  await t.step("BuildKit: rewrite-timestamp", () => {
    const bk = history({ comment: "buildkit.dockerfile.v0", created_by: "RUN x # buildkit" });
    const r = explain([finding("timestamps", {})], { a: bk, b: bk });
    ok(r.causes[0].hint.includes("rewrite-timestamp=true"), r.causes[0].hint);
  });
  await t.step("ko: KO_DATA_DATE_EPOCH", () => {
    const ko = history({ author: "ko", created_by: "ko build ko://example.com/x" });
    const r = explain([finding("timestamps", {})], { a: ko, b: ko });
    ok(r.causes[0].hint.includes("KO_DATA_DATE_EPOCH"), r.causes[0].hint);
  });
  await t.step("DefaultGODEBUG alone: godebug", () => {
    const r = explain([
      finding("go-build-info", {
        scope: "file",
        path: "app/x",
        field: "content",
        detail: {
          kind: "go",
          buildInfo: [{
            field: "build DefaultGODEBUG",
            a: "",
            b: "x509negativeserial=1",
            hint: "",
          }],
          buildIdA: "a",
          buildIdB: "b",
          sections: [],
          buildPaths: [],
          sizeA: 1,
          sizeB: 1,
          firstDifference: 0,
        },
      }),
    ], { a: {}, b: {} });
    assertEquals(r.causes.map((c) => c.cause), ["godebug"]);
    ok(r.causes[0].hint.includes("go.mod"));
  });
});
