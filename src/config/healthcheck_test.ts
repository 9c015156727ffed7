import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { ConfigError, formatProblem } from "../errors.ts";
import { runtimeConfig } from "../build/build.ts";
import { healthcheckProblem, parseDuration } from "./healthcheck.ts";
import { parseConfig } from "./schema.ts";

const base = (extra: string) =>
  `{\n  "project_name": "app",\n  "build_cmd": "make",\n  "artifacts": [{"src": "bin/app", "dest": "/app/app"}]${extra}\n}`;

function problemsOf(text: string): string[] {
  const error = assertThrows(() => parseConfig(text, "config.json"), ConfigError) as ConfigError;
  return error.problems.map(formatProblem);
}

Deno.test("parseDuration: Go durations in nanoseconds, at least 1ms", () => {
  const cases: [string, number | null][] = [
    ["30s", 30e9],
    ["1m30s", 90e9],
    ["500ms", 5e8],
    ["1.5s", 1.5e9],
    ["2h", 7200e9],
    ["1ms", 1e6],
    ["1000us", 1e6],
    ["999us", null],
    ["0s", null],
    ["30", null],
    ["s", null],
    ["-1s", null],
    ["1d", null],
    ["", null],
    ["1e3s", null],
    ["99999999h", null],
  ];
  assertEquals(cases.map(([d]) => [d, parseDuration(d)]), cases);
});

Deno.test("healthcheck: a shell command or an argument list, mapped to Docker's Healthcheck", async (t) => {
  await t.step("a string runs through the image's shell (CMD-SHELL), durations in ns", () => {
    const { config } = parseConfig(
      base(
        `,\n  "healthcheck": {"test": "wget -q -O- http://127.0.0.1:8080/ || exit 1", "interval": "10s", "timeout": "2s", "start_period": "1m", "start_interval": "500ms", "retries": 5}`,
      ),
      "config.json",
    );
    assertEquals(config.healthcheck, {
      Test: ["CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/ || exit 1"],
      Interval: 10e9,
      Timeout: 2e9,
      StartPeriod: 60e9,
      StartInterval: 5e8,
      Retries: 5,
    });
    assertEquals(runtimeConfig(config).Healthcheck, config.healthcheck);
  });
  await t.step("an array is executed without a shell (CMD); unset fields stay unset", () => {
    const { config } = parseConfig(
      base(`,\n  "healthcheck": {"test": ["/app/app", "-health"]}`),
      "config.json",
    );
    assertEquals(config.healthcheck, { Test: ["CMD", "/app/app", "-health"] });
  });
  await t.step("absent: no Healthcheck in the image config", () => {
    const { config } = parseConfig(base(""), "config.json");
    assertEquals(config.healthcheck, undefined);
    assertEquals("Healthcheck" in runtimeConfig(config), false);
  });
  await t.step("mistakes are named at their place", () => {
    assertEquals(
      problemsOf(
        base(
          `,\n  "healthcheck": {"test": "", "interval": "10", "retries": -1, "timout": "1s"}`,
        ),
      ),
      [
        `config.json:5:18: healthcheck: unknown field "timout": expected "test", "interval", "timeout", "start_period", "start_interval", "retries"`,
        `config.json:5:27: healthcheck.test: expected a shell command (a string, run by the image's /bin/sh) or an argument list like ["/app/svc", "-health"], found ""`,
        `config.json:5:43: healthcheck.interval: expected a duration like "30s", "1m30s" or "500ms" (units ns, us, ms, s, m, h; at least 1ms), found "10"`,
        `config.json:5:60: healthcheck.retries: expected a number of retries of at least 0`,
      ],
    );
    assertEquals(problemsOf(base(`,\n  "healthcheck": "true"`)), [
      `config.json:5:18: healthcheck: expected an object {"test", "interval", …}, found "true"`,
    ]);
    assertEquals(problemsOf(base(`,\n  "healthcheck": {"interval": "1s"}`)), [
      `config.json:5:18: healthcheck.test: expected a shell command (a string, run by the image's /bin/sh) or an argument list like ["/app/svc", "-health"], found nothing (the field is missing)`,
    ]);
  });
});

Deno.test("healthcheckProblem: the program the image needs to run its health check", () => {
  const has = new Set(["/bin/sh", "/app/svc"]);
  const none = new Set(["/app/svc"]);
  assertEquals(healthcheckProblem({ Test: ["CMD-SHELL", "true"] }, has), null);
  assertEquals(
    healthcheckProblem({ Test: ["CMD-SHELL", "true"] }, none),
    'the image has no /bin/sh to run this shell command: use a base_image with a shell, or an argument list such as ["/app/svc", "-health"]',
  );
  assertEquals(healthcheckProblem({ Test: ["CMD", "/app/svc", "-health"] }, none), null);
  assertEquals(
    healthcheckProblem({ Test: ["CMD", "/app/other"] }, none),
    'the image has no "/app/other" to run',
  );
  // A relative program is found through PATH when the check runs.
  assertEquals(healthcheckProblem({ Test: ["CMD", "svc"] }, new Set()), null);
});
