/**
 * Validates SBOM documents against the official JSON schemas vendored in tests/fixtures/schemas
 * (see its README), with ajv (draft-07, the schemas' dialect) and ajv-formats (date-time, uri,
 * email, … which both schemas use). Tests only: r10e itself never loads a validator.
 *
 * @module
 */
// ajv: the common JSON-schema validator for draft-07; pinned in deno.lock, used by tests only.
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { REPO } from "./_cli.ts";

const DIR = `${REPO}/tests/fixtures/schemas`;

function load(name: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(`${DIR}/${name}`));
}

// deno-lint-ignore no-explicit-any
type Validate = ((doc: unknown) => boolean) & { errors?: any[] | null };

function compile(main: string, refs: string[]): Validate {
  // strict: false: the CycloneDX schema uses keywords ajv's strict mode refuses (`deprecated`,
  // `meta:enum`); validation itself is unchanged.
  // deno-lint-ignore no-explicit-any
  const ajv = new (Ajv as any)({ allErrors: true, strict: false, logger: false });
  // deno-lint-ignore no-explicit-any
  (addFormats as any)(ajv);
  // ajv-formats has no IRI formats (CycloneDX uses iri-reference for URLs): no whitespace, as
  // RFC 3987 forbids it; r10e writes no such field.
  ajv.addFormat("iri-reference", /^\S*$/);
  for (const r of refs) ajv.addSchema(load(r), r);
  return ajv.compile(load(main));
}

let spdx: Validate | undefined;
let cyclonedx: Validate | undefined;

/** Problems of a document against its schema (empty when valid), as `path: message` lines. */
export function schemaProblems(format: "spdx" | "cyclonedx", doc: unknown): string[] {
  const v = format === "spdx"
    ? (spdx ??= compile("spdx-2.3.schema.json", []))
    : (cyclonedx ??= compile("bom-1.6.schema.json", ["spdx.schema.json", "jsf-0.82.schema.json"]));
  if (v(doc)) return [];
  return (v.errors ?? []).map((e) =>
    `${e.instancePath || "/"}: ${e.message} ${JSON.stringify(e.params)}`
  );
}
