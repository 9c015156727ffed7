/**
 * Unified diff of two texts, truncated (DESIGN: verify, "text file differs").
 * Common prefix and suffix are trimmed first; the middle is aligned by a longest
 * common subsequence when it is small enough, otherwise shown as replaced, so
 * time and memory stay bounded for any input.
 *
 * Pure.
 *
 * @module
 */

/** Options of `unifiedDiff`. */
export interface DiffOptions {
  /** Names in the `---`/`+++` header lines. */
  labelA?: string;
  labelB?: string;
  /** Lines of context around each change (3, like `diff -u`). */
  context?: number;
  /** At most this many lines after the header; the rest is cut with a marker. */
  maxLines?: number;
}

/** A unified diff and whether it was cut. */
export interface UnifiedDiff {
  diff: string;
  truncated: boolean;
}

/** Largest middle section (lines × lines) aligned exactly. */
const MAX_CELLS = 4_000_000;

type Op = { op: " " | "-" | "+"; line: string; ia: number; ib: number };

/** Splits text into lines, keeping whether the last line ends with a newline. */
function lines(text: string): string[] {
  if (text === "") return [];
  const parts = text.split("\n");
  if (parts[parts.length - 1] === "") parts.pop();
  else parts[parts.length - 1] += "\n\\ No newline at end of file";
  return parts;
}

/** The unified diff of `a` and `b`; empty when they are equal. */
export function unifiedDiff(a: string, b: string, options: DiffOptions = {}): UnifiedDiff {
  const context = options.context ?? 3;
  const maxLines = options.maxLines ?? 40;
  if (a === b) return { diff: "", truncated: false };
  const la = lines(a);
  const lb = lines(b);
  const ops = align(la, lb);
  const hunks = toHunks(ops, context);
  const body: string[] = [];
  // No push(...array): a spread of an unbounded array overflows the stack.
  for (const h of hunks) for (const line of h) body.push(line);
  const truncated = body.length > maxLines;
  const shown = truncated ? body.slice(0, maxLines) : body;
  if (truncated) shown.push(`… ${body.length - maxLines} more diff lines`);
  const header = [`--- ${options.labelA ?? "a"}`, `+++ ${options.labelB ?? "b"}`];
  return { diff: header.concat(shown).join("\n") + "\n", truncated };
}

function align(a: string[], b: string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (
    suf < a.length - pre && suf < b.length - pre &&
    a[a.length - 1 - suf] === b[b.length - 1 - suf]
  ) suf++;
  const ops: Op[] = [];
  for (let i = 0; i < pre; i++) ops.push({ op: " ", line: a[i], ia: i, ib: i });
  const ma = a.slice(pre, a.length - suf);
  const mb = b.slice(pre, b.length - suf);
  for (const o of middle(ma, mb, pre, pre)) ops.push(o);
  for (let k = 0; k < suf; k++) {
    const ia = a.length - suf + k;
    const ib = b.length - suf + k;
    ops.push({ op: " ", line: a[ia], ia, ib });
  }
  return ops;
}

/** LCS alignment of the middle part, or "all replaced" when it is too large. */
function middle(a: string[], b: string[], offA: number, offB: number): Op[] {
  const n = a.length;
  const m = b.length;
  const ops: Op[] = [];
  if (n === 0 || m === 0 || (n + 1) * (m + 1) > MAX_CELLS) {
    for (let i = 0; i < n; i++) ops.push({ op: "-", line: a[i], ia: offA + i, ib: offB });
    for (let j = 0; j < m; j++) ops.push({ op: "+", line: b[j], ia: offA + n, ib: offB + j });
    return ops;
  }
  // table[i][j] = LCS length of a[i..] and b[j..]
  const w = m + 1;
  const table = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * w + j] = a[i] === b[j]
        ? table[(i + 1) * w + j + 1] + 1
        : Math.max(table[(i + 1) * w + j], table[i * w + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ op: " ", line: a[i], ia: offA + i, ib: offB + j });
      i++;
      j++;
    } else if (j < m && (i === n || table[i * w + j + 1] >= table[(i + 1) * w + j])) {
      ops.push({ op: "+", line: b[j], ia: offA + i, ib: offB + j });
      j++;
    } else {
      ops.push({ op: "-", line: a[i], ia: offA + i, ib: offB + j });
      i++;
    }
  }
  // Show deletions before insertions within a run of changes, as diff -u does.
  const out: Op[] = [];
  let run: Op[] = [];
  const flush = () => {
    for (const o of run) if (o.op === "-") out.push(o);
    for (const o of run) if (o.op === "+") out.push(o);
    run = [];
  };
  for (const o of ops) {
    if (o.op === " ") {
      flush();
      out.push(o);
    } else run.push(o);
  }
  flush();
  return out;
}

function toHunks(ops: Op[], context: number): string[][] {
  const changed = ops.map((o, i) => (o.op === " " ? -1 : i)).filter((i) => i >= 0);
  const hunks: string[][] = [];
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k] - context);
    let end = changed[k];
    while (k + 1 < changed.length && changed[k + 1] - end <= 2 * context) end = changed[++k];
    k++;
    const stop = Math.min(ops.length, end + context + 1);
    const slice = ops.slice(start, stop);
    const first = slice[0];
    const inA = slice.filter((o) => o.op !== "+");
    const inB = slice.filter((o) => o.op !== "-");
    // 1-based first line of each side; for an empty side, the line after which the change goes.
    const startA = inA.length === 0 ? first.ia : minOf(inA, (o) => o.ia) + 1;
    const startB = inB.length === 0 ? first.ib : minOf(inB, (o) => o.ib) + 1;
    const countA = inA.length;
    const countB = inB.length;
    const hunk = [`@@ -${startA},${countA} +${startB},${countB} @@`];
    for (const o of slice) hunk.push(o.op + o.line);
    hunks.push(hunk);
  }
  return hunks;
}

/** The smallest `key(x)` of a non-empty array, without spreading it into arguments. */
function minOf<T>(items: T[], key: (x: T) => number): number {
  let min = Infinity;
  for (const x of items) min = Math.min(min, key(x));
  return min;
}

/** Whether bytes look like text: valid UTF-8 without NUL bytes. */
export function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
