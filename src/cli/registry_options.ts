/**
 * The registry options of the commands that read images (`verify`, `cp`; `sbom` declares its
 * own): `--ca-file` and `--insecure`, as `push` has them, and the client options main passes down.
 *
 * @module
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { isAbsolute, join } from "node:path";
import type { ClientOptions } from "../registry/client.ts";

/** Adds `--ca-file` and `--insecure` to each named command of `program`. */
export function addRegistryOptions(program: Command, names: string[]): void {
  for (const command of program.commands as Command[]) {
    if (!names.includes(command.name())) continue;
    command.addOption(
      new Option("--ca-file <pem>", "for a registry reference: trust these CA certificates too"),
    );
    command.addOption(
      new Option("--insecure", "for a registry reference: allow plain http beyond loopback"),
    );
    command.addHelpText(
      "after",
      `
An input that is not an existing path and reads as a registry reference
(host[:port]/repo[:tag] or …@sha256:<digest>) is read from the registry: the
manifest and the config, then only the layers the command reads, streamed and
each checked against its digest (verify fetches no layer the other image has).
The auditor's check that production runs what the commit builds:
  r10e verify registry.example.com/team/app@sha256:… r10e-docker/out/app-latest.tar.gz`,
    );
  }
}

/** Client options from the environment and a command's `--ca-file`/`--insecure`. */
export function registryOptions(
  io: { env: Record<string, string>; cwd: string; stderr: (text: string) => void },
  opts: object,
  verbose: boolean,
): ClientOptions {
  const o = opts as { caFile?: string; insecure?: boolean };
  return {
    env: io.env,
    caFile: o.caFile ? (isAbsolute(o.caFile) ? o.caFile : join(io.cwd, o.caFile)) : undefined,
    insecure: o.insecure === true,
    onVerbose: verbose ? (line) => io.stderr(`r10e: ${line}\n`) : undefined,
  };
}
