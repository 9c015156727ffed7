/**
 * The one retry policy of the registry client (like ggcr's `transport/retry.go`): 5xx, 429
 * and dropped connections are tried again with exponential backoff; `Retry-After` is
 * honoured up to the longest wait.
 *
 * @module
 */
import { isTlsError } from "./transport.ts";

/** How often and how long to retry. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). */
  attempts: number;
  /** Wait before the second attempt in ms; doubles each time (default 250). */
  baseMs: number;
  /** Longest single wait in ms (default 8000). */
  maxMs: number;
  /** Waits; tests inject a fast one. */
  sleep: (ms: number) => Promise<void>;
}

/** The default policy: 5 attempts, 0.25 s doubling, at most 8 s per wait (about 4 s in all). */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  baseMs: 250,
  maxMs: 8000,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** True for statuses worth another attempt: 429 Too Many Requests and 5xx except 501. */
export function retriableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status <= 599);
}

/**
 * True for errors of a connection that dropped or could not be made (fetch throws TypeError);
 * false for a TLS failure, which the next attempt meets again.
 */
export function retriableError(error: unknown): boolean {
  if (isTlsError(error)) return false;
  return error instanceof TypeError || error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.TimedOut;
}

/** The wait before attempt `attempt + 1` (attempt counts from 1). */
export function backoff(policy: RetryPolicy, attempt: number, retryAfter?: string | null): number {
  const seconds = retryAfter ? Number(retryAfter) : NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, policy.maxMs);
  return Math.min(policy.baseMs * 2 ** (attempt - 1), policy.maxMs);
}

/**
 * Runs `attempt` until it returns a response that is not retriable, or the attempts are spent
 * (then the last response is returned, or the last error thrown). A retriable response's body
 * is cancelled before the next attempt. `onRetry` hears why each retry happens.
 */
export async function withRetries(
  policy: RetryPolicy,
  attempt: () => Promise<Response>,
  onRetry?: (why: string, waitMs: number) => void,
): Promise<Response> {
  for (let n = 1;; n++) {
    let response: Response;
    try {
      response = await attempt();
    } catch (e) {
      if (n >= policy.attempts || !retriableError(e)) throw e;
      const wait = backoff(policy, n);
      onRetry?.(`connection failed (${(e as Error).message})`, wait);
      await policy.sleep(wait);
      continue;
    }
    if (n >= policy.attempts || !retriableStatus(response.status)) return response;
    const wait = backoff(policy, n, response.headers.get("retry-after"));
    await response.body?.cancel().catch(() => {});
    onRetry?.(`HTTP ${response.status}`, wait);
    await policy.sleep(wait);
  }
}
