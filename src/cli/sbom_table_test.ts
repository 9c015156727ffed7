import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { sbomTable } from "./sbom_table.ts";

Deno.test("sbomTable: packages with version, type and where found; modules by the binaries using them", () => {
  const text = sbomTable({
    packages: [
      {
        SPDXID: "img",
        name: "app:latest",
        versionInfo: "sha256:ab",
        primaryPackagePurpose: "CONTAINER",
      },
      {
        SPDXID: "main",
        name: "example.com/app",
        versionInfo: "(devel)",
        primaryPackagePurpose: "APPLICATION",
      },
      {
        SPDXID: "dep",
        name: "golang.org/x/text",
        versionInfo: "v0.3.0",
        primaryPackagePurpose: "LIBRARY",
      },
      {
        SPDXID: "ca",
        name: "ca-certificates",
        primaryPackagePurpose: "OTHER",
        hasFiles: ["f1", "f2"],
      },
    ],
    files: [
      { SPDXID: "bin", fileName: "/app/server" },
      { SPDXID: "f1", fileName: "/etc/ssl/certs/a.crt" },
      { SPDXID: "f2", fileName: "/etc/ssl/certs/b.crt" },
    ],
    relationships: [
      { spdxElementId: "bin", relationshipType: "GENERATED_FROM", relatedSpdxElement: "main" },
      { spdxElementId: "main", relationshipType: "DEPENDS_ON", relatedSpdxElement: "dep" },
    ],
  });
  assertEquals(
    text,
    "app:latest sha256:ab\n" +
      "NAME               VERSION  TYPE         FOUND IN\n" +
      "ca-certificates             other        /etc/ssl/certs/\n" +
      "example.com/app    (devel)  application  /app/server\n" +
      "golang.org/x/text  v0.3.0   library      /app/server\n" +
      "3 packages; the whole document: --format spdx|cyclonedx, or pipe the output\n",
  );
});
