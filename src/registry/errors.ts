/**
 * The registry's errors. Every one is exit 2 (usage, input, or a registry that refused:
 * DESIGN: errors and exit codes) and none carries a credential.
 *
 * @module
 */
import { redactSecrets } from "./secrets.ts";

/** A registry request failed or was refused; `message` quotes the registry's own words. */
export class RegistryError extends Error {
  readonly exitCode = 2;
  /** The HTTP status, when a response came. */
  readonly status: number | undefined;
  constructor(message: string, options?: ErrorOptions & { status?: number }) {
    super(redactSecrets(message), options);
    this.name = "RegistryError";
    this.status = options?.status;
    // The causes are printed too (the innermost one always): a parse error of what a server
    // sent quotes that text, which may hold a credential the server echoed.
    for (let e = options?.cause; e instanceof Error; e = e.cause) {
      try {
        e.message = redactSecrets(e.message);
      } catch {
        // a read-only message (DOMException) holds nothing a server sent
      }
    }
  }
}
