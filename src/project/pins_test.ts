// pins.json with several platforms: `platforms` only for several, so that
// one-platform pins keep their bytes; parsePins checks the list.
import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { ConfigError } from "../errors.ts";
import { formatPins, parsePins, pinnedPlatforms, type Pins } from "./pins.ts";

const one: Pins = {
  go_version: "1.26.8",
  go_version_requested: "1.26.8",
  platform: "linux/amd64",
  ca_bundle_sha256: null,
  builder_image: null,
  image_format: 2,
  r10e_version: "0.1.0",
  generated: {},
};

Deno.test("pins: one platform has no platforms key; several are listed and read back", () => {
  assertEquals(formatPins(one).includes("platforms"), false);
  assertEquals(pinnedPlatforms(parsePins(formatPins(one), "pins.json")), ["linux/amd64"]);
  const several = { ...one, platforms: ["linux/amd64", "linux/arm64"] };
  const text = formatPins(several);
  assertEquals(JSON.parse(text).platforms, ["linux/amd64", "linux/arm64"]);
  assertEquals(pinnedPlatforms(parsePins(text, "pins.json")), ["linux/amd64", "linux/arm64"]);
});

Deno.test("pins: a platforms list of one, or not starting with platform, is refused", () => {
  for (const platforms of [["linux/amd64"], ["linux/arm64", "linux/amd64"], "linux/amd64"]) {
    assertThrows(
      () => parsePins(JSON.stringify({ ...one, platforms }), "pins.json"),
      ConfigError,
      `platforms: expected a list of at least two platforms starting with "platform"'s, or nothing`,
    );
  }
});
