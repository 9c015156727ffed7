import { assertEquals } from "../../tests/_assert.ts";
import { archiveName, DIGESTS_PATH, OUT_DIR, PINS_PATH } from "./layout.ts";

Deno.test("layout: r10e's files under r10e-docker/, the archive named after project_name", () => {
  assertEquals(PINS_PATH, "r10e-docker/pins.json");
  assertEquals(DIGESTS_PATH, "r10e-docker/digests.json");
  assertEquals(OUT_DIR, "r10e-docker/out");
  assertEquals(archiveName("traefik/whoami", "tar.gz"), "traefik-whoami-latest.tar.gz");
  assertEquals(archiveName("app", "tar"), "app-latest.tar");
});
