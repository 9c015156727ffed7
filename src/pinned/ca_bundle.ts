/**
 * The CA bundle r10e ships, pinned by sha256 (DESIGN: image format). The host's
 * /etc/ssl is never read: it differs between machines.
 *
 * @module
 */
import { sha256Hex } from "../image/digest.ts";
import {
  CA_BUNDLE_COUNT,
  CA_BUNDLE_PEM,
  CA_BUNDLE_SHA256,
  CA_BUNDLE_SOURCE,
} from "./ca_bundle_data.ts";

/** Where the bundle lands in the image: the first place Go's crypto/x509 looks on Linux. */
export const CA_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt";

/** The shipped bundle. */
export interface CaBundle {
  bytes: Uint8Array;
  sha256: string;
  count: number;
  source: string;
}

/**
 * The shipped CA bundle, checked against its pinned sha256.
 * @throws {Error} when the embedded bundle does not match its pin (a broken r10e build).
 */
export function caBundle(): CaBundle {
  const bytes = new TextEncoder().encode(CA_BUNDLE_PEM);
  const sha256 = sha256Hex(bytes);
  if (sha256 !== CA_BUNDLE_SHA256) {
    throw new Error(
      `The CA bundle shipped with r10e does not match its pin: expected sha256 "${CA_BUNDLE_SHA256}", found "${sha256}"`,
    );
  }
  return { bytes, sha256, count: CA_BUNDLE_COUNT, source: CA_BUNDLE_SOURCE };
}
