// node:assert/strict stands in for @std/assert, which is JSR only (STYLE: dependencies).
import assert from "node:assert/strict";
import { fixture } from "../src/sbom/_fixture.ts";
import { spdxDocument } from "../src/sbom/spdx.ts";
import { cyclonedxDocument } from "../src/sbom/cyclonedx.ts";
import { sortedJson } from "../src/sbom/model.ts";
import { schemaProblems } from "./_sbom_schema.ts";

Deno.test("the fixed input's documents validate against the official schemas", async (t) => {
  for (
    const [format, make] of [["spdx", spdxDocument], ["cyclonedx", cyclonedxDocument]] as const
  ) {
    await t.step(format, () => {
      const doc = JSON.parse(sortedJson(make(fixture())));
      assert.deepEqual(schemaProblems(format, doc), []);
    });
  }
});

Deno.test("the validators can fail: a document missing required fields is refused", async (t) => {
  await t.step("spdx without spdxVersion", () => {
    const doc = JSON.parse(sortedJson(spdxDocument(fixture())));
    delete doc.spdxVersion;
    assert.ok(schemaProblems("spdx", doc).some((p) => p.includes("spdxVersion")));
  });
  await t.step("cyclonedx with a bad hash algorithm", () => {
    const doc = JSON.parse(sortedJson(cyclonedxDocument(fixture())));
    doc.components[0].hashes = [{ alg: "SHA-999", content: "00" }];
    assert.notDeepEqual(schemaProblems("cyclonedx", doc), []);
  });
});
