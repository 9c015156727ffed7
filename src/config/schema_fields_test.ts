// exposed_ports, stop_signal, include_tzdata.
import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { ConfigError, formatProblem } from "../errors.ts";
import { isStopSignal, normalizePort, parseConfig } from "./schema.ts";

const base = (extra: string) =>
  `{\n  "project_name": "app",\n  "build_cmd": "make",\n  "artifacts": [{"src": "bin/app", "dest": "/app/app"}]${extra}\n}`;

function problemsOf(text: string): string[] {
  const error = assertThrows(() => parseConfig(text, "config.json"), ConfigError) as ConfigError;
  return error.problems.map(formatProblem);
}

Deno.test("normalizePort: port/proto, tcp by default, 1-65535", () => {
  const cases: [string, string | null][] = [
    ["8080", "8080/tcp"],
    ["8080/tcp", "8080/tcp"],
    ["53/udp", "53/udp"],
    ["9/sctp", "9/sctp"],
    ["1", "1/tcp"],
    ["65535/udp", "65535/udp"],
    ["0", null],
    ["65536", null],
    ["080", null],
    ["8080/TCP", null],
    ["8080/icmp", null],
    ["8000-8010/tcp", null],
    [" 8080", null],
    ["", null],
  ];
  assertEquals(cases.map(([p]) => [p, normalizePort(p)]), cases);
});

Deno.test("isStopSignal: names with or without SIG, real-time signals, numbers 1-64", () => {
  const cases: [string, boolean][] = [
    ["SIGTERM", true],
    ["TERM", true],
    ["SIGQUIT", true],
    ["SIGWINCH", true],
    ["SIGRTMIN", true],
    ["SIGRTMIN+3", true],
    ["SIGRTMAX-2", true],
    ["15", true],
    ["64", true],
    ["0", false],
    ["65", false],
    ["sigterm", false],
    ["SIGFOO", false],
    ["SIGRTMIN-1", false],
    ["SIGRTMAX+1", false],
    ["", false],
  ];
  assertEquals(cases.map(([s]) => [s, isStopSignal(s)]), cases);
});

Deno.test("parseConfig: the new fields, defaults and normalized values", () => {
  const none = parseConfig(base(""), "config.json").config;
  assertEquals([none.exposed_ports, none.stop_signal, none.include_tzdata], [[], undefined, false]);
  const set = parseConfig(
    base(
      `,\n  "exposed_ports": ["9090/udp", "8080", "443/tcp"],\n  "stop_signal": "SIGINT",\n  "include_tzdata": true`,
    ),
    "config.json",
  );
  assertEquals(set.warnings, []);
  assertEquals(set.config.exposed_ports, ["443/tcp", "8080/tcp", "9090/udp"]);
  assertEquals(set.config.stop_signal, "SIGINT");
  assertEquals(set.config.include_tzdata, true);
});

Deno.test("parseConfig: bad ports, signals and tzdata flags, each with its position", () => {
  assertEquals(
    problemsOf(
      base(
        `,\n  "exposed_ports": ["8080", "70000/tcp", "8080/tcp", 22],\n  "stop_signal": "SIGSTOPP",\n  "include_tzdata": "yes"`,
      ),
    ),
    [
      'config.json:5:29: exposed_ports[1]: expected a port like "8080/tcp" (1-65535, /tcp, /udp or /sctp, default tcp), found "70000/tcp"',
      'config.json:5:42: exposed_ports[2]: duplicate port "8080/tcp": also at exposed_ports[0]',
      'config.json:5:54: exposed_ports[3]: expected a port like "8080/tcp", found 22',
      'config.json:6:18: stop_signal: expected a signal name like "SIGTERM" or "SIGRTMIN+3", or a number 1-64, found "SIGSTOPP"',
      'config.json:7:21: include_tzdata: expected true or false, found "yes"',
    ],
  );
  assertEquals(problemsOf(base(`,\n  "exposed_ports": "8080"`)), [
    'config.json:5:20: exposed_ports: expected an array of ports like "8080/tcp", found "8080"',
  ]);
});

// layer_compression.
Deno.test("parseConfig: layer_compression is gzip by default, gzip or none when set", () => {
  assertEquals(parseConfig(base(""), "config.json").config.layer_compression, "gzip");
  for (const value of ["gzip", "none"] as const) {
    const set = parseConfig(base(`,\n  "layer_compression": "${value}"`), "config.json");
    assertEquals(set.warnings, []);
    assertEquals(set.config.layer_compression, value);
  }
});

Deno.test("parseConfig: a bad layer_compression is an error at its position", () => {
  assertEquals(problemsOf(base(`,\n  "layer_compression": "zstd"`)), [
    'config.json:5:24: layer_compression: expected "gzip" or "none", found "zstd"',
  ]);
  assertEquals(problemsOf(base(`,\n  "layer_compression": true`)), [
    'config.json:5:24: layer_compression: expected "gzip" or "none", found true',
  ]);
  // null means "not set", as for every optional field.
  assertEquals(
    parseConfig(base(`,\n  "layer_compression": null`), "config.json").config.layer_compression,
    "gzip",
  );
});

Deno.test("parseConfig: runtime is unset by default, nonroot or root when set", () => {
  assertEquals(parseConfig(base(""), "config.json").config.runtime, undefined);
  for (const value of ["nonroot", "root"] as const) {
    const set = parseConfig(base(`,\n  "runtime": "${value}"`), "config.json");
    assertEquals(set.warnings, []);
    assertEquals(set.config.runtime, value);
  }
  assertEquals(parseConfig(base(`,\n  "runtime": null`), "config.json").config.runtime, undefined);
});

Deno.test("parseConfig: a bad runtime is an error at its position", () => {
  assertEquals(problemsOf(base(`,\n  "runtime": "distroless"`)), [
    'config.json:5:14: runtime: expected "nonroot" (a runtime root, running as user 65532) or "root" (the same root, running as root), found "distroless"',
  ]);
});

Deno.test("parseConfig: base_image is a reference, by digest or by tag (init pins a tag)", () => {
  const pinned = `127.0.0.1:5000/base@sha256:${"ab".repeat(32)}`;
  for (const ref of [pinned, "debian:12"]) {
    assertEquals(
      parseConfig(base(`,\n  "base_image": "${ref}"`), "config.json").config.base_image,
      ref,
    );
  }
  assertEquals(problemsOf(base(`,\n  "base_image": "Debian 12"`)).length, 1);
  assertEquals(problemsOf(base(`,\n  "base_image": "${pinned}",\n  "runtime": "nonroot"`)), [
    "config.json:6:14: runtime: not with base_image: the base image brings its own /etc/passwd, /tmp and user",
  ]);
});

Deno.test("parseConfig: cgo needs a base_image, and is left out unless true", () => {
  const digest = "a".repeat(64);
  const based = `,\n  "base_image": "registry.example/base@sha256:${digest}"`;
  assertEquals(parseConfig(base(based + `,\n  "cgo": true`), "config.json").config.cgo, true);
  assertEquals(
    "cgo" in parseConfig(base(based + `,\n  "cgo": false`), "config.json").config,
    false,
  );
  assertEquals("cgo" in parseConfig(base(""), "config.json").config, false);
  assertEquals(problemsOf(base(`,\n  "cgo": true`)), [
    "config.json:5:10: cgo: expected a base_image with it: a cgo binary needs the C library and its loader at run time, which r10e's own layers do not hold (or leave cgo out and build a static binary)",
  ]);
  assertEquals(problemsOf(base(based + `,\n  "cgo": "yes"`)), [
    'config.json:6:10: cgo: expected true or false, found "yes"',
  ]);
});
