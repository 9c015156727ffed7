/**
 * The credential values this process has sent (passwords, tokens, Authorization header values),
 * so that every message quoting a registry or a token server can have them taken out: a hostile
 * server may echo the Authorization header it received in its error body, and a manifest it
 * serves may hold it (a JSON parse error quotes the text it failed on).
 *
 * Kept per process: a value is secret wherever it turns up, whichever client sent it.
 *
 * @module
 */

const sent = new Set<string>();

/** The text that stands in for a credential value in messages. */
export const REDACTED = "<redacted>";

/** Remembers `value` (and its base64, URL- and form-encoded forms) as a secret to redact. */
export function rememberSecret(value: string): void {
  // Shorter values are too likely to be ordinary words ("a", "pw").
  if (value.length < 4) return;
  sent.add(value);
  sent.add(encodeURIComponent(value));
  // As a form field (an identity token in the refresh-token grant): spaces become "+".
  sent.add(new URLSearchParams({ v: value }).toString().slice(2));
  try {
    sent.add(btoa(value));
  } catch {
    // not Latin-1: no base64 form of it is sent as such
  }
}

/** `text` with every remembered secret replaced by {@linkcode REDACTED}, longest first. */
export function redactSecrets(text: string): string {
  if (!sent.size || !text) return text;
  let out = text;
  for (const secret of [...sent].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}
