import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { formatReport } from "./report.ts";
import { type CauseId, CAUSES, type Finding, type Report } from "./findings.ts";

const D1 = "sha256:" + "1".repeat(64);
const D2 = "sha256:" + "2".repeat(64);

function finding(cause: CauseId, extra: Partial<Finding>): Finding {
  return {
    scope: "file",
    field: "mtime",
    a: "1970-01-01T00:00:00Z",
    b: "2024-01-01T00:00:00Z",
    cause,
    causeText: CAUSES[cause].text,
    hint: CAUSES[cause].hint,
    ...extra,
  };
}

function report(findings: Finding[]): Report {
  const info = (input: string, digest: string) => ({
    input,
    format: "docker-archive+oci",
    compression: "gzip",
    archiveSha256: digest,
    platform: "linux/amd64",
    manifestDigest: digest,
    imageId: digest,
    layers: 1,
    files: 3,
  });
  return {
    schemaVersion: 1,
    identical: findings.length === 0,
    identity: { level: "manifest", equal: findings.length === 0, a: D1, b: D2 },
    summary: findings.length ? `differ: ${findings.length} findings` : "identical",
    a: info("a.tar.gz", D1),
    b: info("b.tar.gz", D2),
    findings,
    consequences: findings.length
      ? [{ scope: "manifest", field: "manifest digest", a: D1, b: D2, because: "config, layer 0" }]
      : [],
    notes: [],
    ignored: { count: 0, byCause: {} },
    causes: [],
    builders: { a: "unknown", b: "unknown" },
  };
}

Deno.test("formatReport", async (t) => {
  await t.step("summary first, grouped by place and path, causes, consequences", () => {
    const text = formatReport(report([
      finding("timestamps", { scope: "config", field: "created" }),
      finding("timestamps", { layer: 0, path: "app/x" }),
      finding("owner", { layer: 0, path: "app/x", field: "uname", a: "", b: "me" }),
      finding("content", {
        layer: 0,
        path: "etc/c",
        field: "content",
        a: "1 bytes",
        b: "2 bytes",
        detail: {
          kind: "text",
          diff: "--- a/etc/c\n+++ b/etc/c\n@@ -1,1 +1,1 @@\n-x\n+y\n",
          truncated: false,
        },
      }),
    ]));
    assertEquals(
      text,
      [
        "Images differ: 4 findings",
        "  A: a.tar.gz (docker-archive+oci, gzip, linux/amd64): manifest sha256:111111111111…, image ID sha256:111111111111…, 1 layers, 3 files",
        "  B: b.tar.gz (docker-archive+oci, gzip, linux/amd64): manifest sha256:222222222222…, image ID sha256:222222222222…, 1 layers, 3 files",
        "",
        "Causes and fixes",
        "  timestamps (2): build time 1970-01-01T00:00:00Z → 2024-01-01T00:00:00Z in 2 places (created, mtimes) → set SOURCE_DATE_EPOCH; build with r10e",
        "  content (1): file content differs (etc/c)",
        "  owner (1): built as different users → use a fixed owner (uid/gid 0, empty uname/gname)",
        "",
        "Config",
        "  created: 1970-01-01T00:00:00Z → 2024-01-01T00:00:00Z [timestamps]",
        "",
        "Layer 0",
        "  /app/x",
        "    mtime: 1970-01-01T00:00:00Z → 2024-01-01T00:00:00Z [timestamps]",
        '    uname: "" → me [owner]',
        "  /etc/c",
        "    content: 1 bytes → 2 bytes [content]",
        "      --- a/etc/c",
        "      +++ b/etc/c",
        "      @@ -1,1 +1,1 @@",
        "      -x",
        "      +y",
        "",
        "Consequences (explained by the findings above)",
        "  manifest digest: sha256:111111111111… → sha256:222222222222… because of config, layer 0",
        "",
      ].join("\n"),
    );
  });
  await t.step("identical", () => {
    const same = report([]);
    same.b.archiveSha256 = same.a.archiveSha256;
    assertEquals(formatReport(same).split("\n")[0], "Images are identical");
    assertEquals(
      formatReport(report([])).split("\n")[0],
      "Images are identical (the archive files differ: see the notes)",
    );
  });
  await t.step("control characters from the input are escaped", () => {
    const evil = "\x1b]0;title\x07\x1b[2J\rImages are identical";
    const text = formatReport(report([
      finding("files", { layer: 0, path: evil, field: "added", a: null, b: evil }),
    ]));
    ok(!text.includes("\x1b"), JSON.stringify(text));
    ok(!text.includes("\r"), JSON.stringify(text));
    ok(text.includes("  /\\x1b]0;title\\x07\\x1b[2J\\rImages are identical\n"), text);
  });
  await t.step("colors only when asked", () => {
    const r = report([finding("timestamps", { layer: 0, path: "a" })]);
    ok(!formatReport(r).includes("\x1b["));
    ok(formatReport(r, { color: true }).includes("\x1b[31m"));
  });
  await t.step("many alike findings in a layer fold into one line unless full", () => {
    const many = Array.from(
      { length: 20 },
      (_, i) => finding("timestamps", { layer: 0, path: `f${i}` }),
    );
    const folded = formatReport(report(many));
    ok(
      folded.includes(
        "  mtime differs on 20 entries [timestamps], e.g. f0: 1970-01-01T00:00:00Z → 2024-01-01T00:00:00Z",
      ),
      folded,
    );
    ok(!folded.includes("/f19"));
    ok(formatReport(report(many), { full: true }).includes("  /f19\n"));
  });
});
