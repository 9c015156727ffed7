/**
 * Assertions for tests: node:assert/strict (STYLE: dependencies), with the
 * std-like names the tests use.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Deep, strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** Asserts that `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  if (!text.includes(part)) {
    throw new assert.AssertionError({
      message: message ?? `expected text to include ${JSON.stringify(part)}, got:\n${text}`,
      actual: text,
      expected: part,
    });
  }
}

/** Asserts `fn` throws an instance of `type` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  type: new (...a: never[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (error) {
    checkError(error, type, includes);
    return error as Error;
  }
  throw new assert.AssertionError({ message: `expected ${type.name} to be thrown` });
}

/** Asserts the promise rejects with an instance of `type` whose message includes `includes`. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  type: new (...a: never[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    checkError(error, type, includes);
    return error as Error;
  }
  throw new assert.AssertionError({ message: `expected ${type.name} to be thrown` });
}

function checkError(error: unknown, type: new (...a: never[]) => Error, includes?: string): void {
  if (!(error instanceof type)) {
    throw new assert.AssertionError({
      message: `expected ${type.name}, got ${
        error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      }`,
    });
  }
  if (includes !== undefined && !error.message.includes(includes)) {
    throw new assert.AssertionError({
      message: `expected the message to include ${JSON.stringify(includes)}, got ${
        JSON.stringify(error.message)
      }`,
    });
  }
}
