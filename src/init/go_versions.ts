/**
 * The Go versions the module proxy offers, for `init` to resolve `go_version` "1.26" to an exact
 * release. I/O at the edge: the parsing is `parseToolchainList`'s.
 *
 * @module
 */
import { parseToolchainList } from "../pinned/go_versions.ts";

/**
 * Exact Go versions listed by the module proxy for golang.org/toolchain, or null
 * when no proxy in GOPROXY answers within a few seconds.
 */
export async function listGoVersions(env: Record<string, string>): Promise<string[] | null> {
  const proxies = (env.GOPROXY ?? "https://proxy.golang.org,direct").split(/[,|]/)
    .filter((p) => p.startsWith("http"));
  for (const proxy of proxies) {
    try {
      const res = await fetch(`${proxy.replace(/\/$/, "")}/golang.org/toolchain/@v/list`, {
        signal: AbortSignal.timeout(8000),
      });
      if (res.ok) return parseToolchainList(await res.text());
      await res.body?.cancel();
    } catch {
      // Try the next proxy; none reachable means the shipped table decides.
    }
  }
  return null;
}
