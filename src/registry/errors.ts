/**
 * The registry's errors. Every one is exit 2 (usage, input, or a registry that refused:
 * DESIGN: errors and exit codes) and none carries a credential.
 *
 * @module
 */

/** A registry request failed or was refused; `message` quotes the registry's own words. */
export class RegistryError extends Error {
  readonly exitCode = 2;
  /** The HTTP status, when a response came. */
  readonly status: number | undefined;
  constructor(message: string, options?: ErrorOptions & { status?: number }) {
    super(message, options);
    this.name = "RegistryError";
    this.status = options?.status;
  }
}
