/**
 * Which images of two inputs verify compares (an input may hold several platforms):
 * the one chosen with `--platform`, the only image of each, or every platform of either,
 * paired by platform; a platform that only one input holds is a difference of its own.
 * Pure: works on the images the reader listed.
 *
 * @module
 */
import type { ImageInfo } from "../image/reader.ts";
import { formatPlatform } from "../image/platform.ts";
import type { Finding } from "./findings.ts";

/** One comparison: the image of each side, or one side only (a platform the other lacks). */
export interface PlatformPair {
  a?: ImageInfo;
  b?: ImageInfo;
}

/** What the reader offers for picking: its images and its picker (which throws its own errors). */
export interface PlatformSource {
  images: readonly ImageInfo[];
  image(platform?: string): ImageInfo;
}

/** `os/arch[/variant]` of an image, `unknown` when neither index nor config says. */
export function platformKey(image: ImageInfo): string {
  return image.platform ? formatPlatform(image.platform) : "unknown";
}

/**
 * The pairs to compare. With `platform`, or when each input holds one image: that image of
 * each (the reader's picker throws, naming the platforms present, when one lacks it). Else
 * every platform of either input, sorted, each with the image of each side that has it.
 * @throws {InputError} from the reader's picker
 */
export function pairPlatforms(
  a: PlatformSource,
  b: PlatformSource,
  platform: string | undefined,
): PlatformPair[] {
  if (platform !== undefined || (a.images.length <= 1 && b.images.length <= 1)) {
    return [{ a: a.image(platform), b: b.image(platform) }];
  }
  const byKey = new Map<string, PlatformPair>();
  for (const i of a.images) if (!byKey.has(platformKey(i))) byKey.set(platformKey(i), { a: i });
  for (const i of b.images) {
    const p = byKey.get(platformKey(i)) ?? {};
    p.b ??= i;
    byKey.set(platformKey(i), p);
  }
  return [...byKey.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .map(([, p]) => p);
}

/** The platform of a pair. */
export function pairPlatform(pair: PlatformPair): string {
  return platformKey((pair.a ?? pair.b)!);
}

/** The finding for a platform one input holds and the other does not. */
export function missingPlatform(pair: PlatformPair): Finding {
  const platform = pairPlatform(pair);
  return {
    scope: "index",
    field: "platform",
    a: pair.a ? platform : null,
    b: pair.b ? platform : null,
    cause: "platform",
    causeText: `a platform only ${pair.a ? "A" : "B"} has`,
    hint: "build the same platforms, or compare one with --platform",
    platform,
  };
}

/** Every platform of an input, in its order, for the report's input lines. */
export function platformList(source: PlatformSource): string {
  return [...new Set(source.images.map(platformKey))].join(", ");
}
