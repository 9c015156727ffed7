import { assertEquals } from "../../tests/_assert.ts";
import { RegistryError } from "./errors.ts";
import { REDACTED, redactSecrets, rememberSecret } from "./secrets.ts";

Deno.test("a remembered secret is taken out of messages in every form it was sent", () => {
  rememberSecret("s3cret pass/word");
  const b64 = btoa("s3cret pass/word");
  assertEquals(
    redactSecrets(
      `you sent Basic ${b64} and s3cret%20pass%2Fword and s3cret+pass%2Fword and s3cret pass/word`,
    ),
    `you sent Basic ${REDACTED} and ${REDACTED} and ${REDACTED} and ${REDACTED}`,
  );
  const e = new RegistryError("denied to s3cret pass/word", {
    cause: new SyntaxError(`Unexpected token 'B', "Basic ${b64}" is not valid JSON`),
  });
  assertEquals(e.message, `denied to ${REDACTED}`);
  assertEquals((e.cause as Error).message.includes(b64), false);
  rememberSecret("ab");
  assertEquals(redactSecrets("a tab"), "a tab");
});
