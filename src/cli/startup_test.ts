import { deepStrictEqual as assertEquals } from "node:assert/strict";

/**
 * The modules Deno loads before `runProgram` runs: main.ts, then program.ts (imported by a
 * computed name), and what they import statically, type-only imports excepted. Read from the
 * sources, so that the test needs no Deno internals.
 */
async function loadedAtStart(): Promise<Map<string, string[]>> {
  const src = new URL("../", import.meta.url);
  const seen = new Map<string, string[]>();
  const queue = [new URL("main.ts", src), new URL("cli/program.ts", src)];
  while (queue.length) {
    const url = queue.shift()!;
    const key = url.href.slice(src.href.length);
    if (seen.has(key)) continue;
    const text = await Deno.readTextFile(url);
    const imports: string[] = [];
    // `import x from "…"` and `export … from "…"` at the start of a line, not `import type`.
    for (const m of text.matchAll(/^(?:import|export)(?!\s+type\b)[^;]*?from\s+"([^"]+)"/gms)) {
      imports.push(m[1]);
    }
    for (const m of text.matchAll(/^import\s+"([^"]+)"/gm)) imports.push(m[1]);
    seen.set(key, imports);
    for (const i of imports) if (i.startsWith(".")) queue.push(new URL(i, url));
  }
  return seen;
}

Deno.test("start-up: version and --help load no node: or npm: module and no command's work", async () => {
  const graph = await loadedAtStart();
  const foreign = [...graph].flatMap(([file, imports]) =>
    imports.filter((i) => !i.startsWith(".")).map((i) => `${file} imports ${i}`)
  );
  // Each costs every call: node: modules start Deno's Node layer (~9 ms of CPU), npm: packages
  // are large (commander alone was 0.05 s).
  assertEquals(foreign, []);
  // A command's own modules (build/, verify/, image/ …) are imported inside its run.
  const outside = [...graph.keys()].filter((f) =>
    !f.startsWith("cli/") && !/^(main|errors|printable|version|registry\/secrets)\.ts$/.test(f)
  );
  assertEquals(outside, []);
});

Deno.test("start-up: scripts/r10e keeps Deno from preparing each command's work before it runs", async () => {
  // Without it, every `await import("…")` in a command's run is loaded at start: ~10 ms each graph.
  // In deno.json instead, it would also make `deno compile --no-check` leave those modules out.
  const wrapper = await Deno.readTextFile(new URL("../../scripts/r10e", import.meta.url));
  assertEquals(/^exec .* --unstable-lazy-dynamic-imports /m.test(wrapper), true);
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assertEquals(config.unstable?.includes("lazy-dynamic-imports") ?? false, false);
});
