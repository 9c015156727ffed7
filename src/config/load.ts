/**
 * Loading config.json from disk.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { type LoadedConfig, parseConfig } from "./schema.ts";

/**
 * Reads and validates a config file.
 * @throws {ConfigError} when it cannot be read or is invalid.
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file (pass the config with -c PATH)"
      : (error as Error).message;
    throw new ConfigError(`Cannot read config "${path}": ${why}`);
  }
  return parseConfig(text, path);
}
