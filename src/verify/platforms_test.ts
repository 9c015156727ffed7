import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import type { ImageInfo } from "../image/reader.ts";
import {
  missingPlatform,
  pairPlatform,
  pairPlatforms,
  platformList,
  type PlatformSource,
} from "./platforms.ts";

function image(platform: string | null, id: string): ImageInfo {
  const [os, architecture, variant] = platform?.split("/") ?? [];
  return {
    platform: platform ? { os, architecture, ...(variant ? { variant } : {}) } : null,
    configDigest: id,
  } as unknown as ImageInfo;
}

function source(...images: ImageInfo[]): PlatformSource {
  return {
    images,
    image(platform?: string) {
      const found = platform === undefined
        ? images.length === 1 ? images[0] : undefined
        : images.find((i) => pairPlatform({ a: i }) === platform);
      if (!found) throw new RangeError(`no image for ${platform ?? "(none given)"}`);
      return found;
    },
  };
}

const ids = (pairs: ReturnType<typeof pairPlatforms>) =>
  pairs.map((p) => [pairPlatform(p), p.a?.configDigest ?? null, p.b?.configDigest ?? null]);

Deno.test("pairPlatforms: one image each is one pair, whatever their platforms", () => {
  assertEquals(
    ids(
      pairPlatforms(
        source(image("linux/amd64", "a")),
        source(image("linux/arm64", "b")),
        undefined,
      ),
    ),
    [
      ["linux/amd64", "a", "b"],
    ],
  );
});

Deno.test("pairPlatforms: several platforms pair by platform, sorted; one side only is a pair of its own", () => {
  const a = source(
    image("linux/arm64", "a1"),
    image("linux/amd64", "a2"),
    image("linux/arm/v7", "a3"),
  );
  const b = source(
    image("linux/amd64", "b1"),
    image("linux/arm64", "b2"),
    image("linux/386", "b3"),
  );
  assertEquals(ids(pairPlatforms(a, b, undefined)), [
    ["linux/386", null, "b3"],
    ["linux/amd64", "a2", "b1"],
    ["linux/arm/v7", "a3", null],
    ["linux/arm64", "a1", "b2"],
  ]);
  // A one-platform side against a several-platform side: the others are on one side only.
  assertEquals(ids(pairPlatforms(a, source(image("linux/arm64", "b")), undefined)), [
    ["linux/amd64", "a2", null],
    ["linux/arm/v7", "a3", null],
    ["linux/arm64", "a1", "b"],
  ]);
});

Deno.test("pairPlatforms: --platform picks that image of each, the reader's error when one lacks it", () => {
  const a = source(image("linux/arm64", "a1"), image("linux/amd64", "a2"));
  assertEquals(ids(pairPlatforms(a, source(image("linux/arm64", "b")), "linux/arm64")), [
    ["linux/arm64", "a1", "b"],
  ]);
  assertThrows(
    () => pairPlatforms(a, source(image("linux/arm64", "b")), "linux/amd64"),
    RangeError,
    "no image for linux/amd64",
  );
});

Deno.test("missingPlatform: an index finding naming the platform and the side that has it", () => {
  assertEquals(missingPlatform({ b: image("linux/arm/v7", "b") }), {
    scope: "index",
    field: "platform",
    a: null,
    b: "linux/arm/v7",
    cause: "platform",
    causeText: "a platform only B has",
    hint: "build the same platforms, or compare one with --platform",
    platform: "linux/arm/v7",
  });
  assertEquals(missingPlatform({ a: image(null, "a") }).a, "unknown");
});

Deno.test("platformList: every platform once, in the input's order", () => {
  assertEquals(
    platformList(
      source(image("linux/arm64", "1"), image("linux/amd64", "2"), image("linux/arm64", "3")),
    ),
    "linux/arm64, linux/amd64",
  );
});
