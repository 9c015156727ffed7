/**
 * Path globs for `--ignore-path`: `*` and `?` within one path segment, `**`
 * across segments, `[abc]` classes. Like a .gitignore line, a glob without a
 * slash matches a name at any depth, and a glob that matches a directory also
 * matches everything below it. A leading `/` or `./` anchors at the image root.
 *
 * @module
 */

/** Whether `path` (an image path, with or without a leading `/`) matches `glob`. */
export function globMatch(glob: string, path: string): boolean {
  return globRegExp(glob).test(path.replace(/^\.?\/+/, ""));
}

const cache = new Map<string, RegExp>();

/**
 * The regular expression of a glob.
 * @throws {SyntaxError} for an unterminated `[` class.
 */
export function globRegExp(glob: string): RegExp {
  const cached = cache.get(glob);
  if (cached) return cached;
  let g = glob;
  const anchored = /^\.?\//.test(g) || g.replace(/\/+$/, "").includes("/");
  g = g.replace(/^\.?\/+/, "").replace(/\/+$/, "");
  let re = "";
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === "*") {
      if (g[i + 1] === "*") {
        const slash = g[i + 2] === "/";
        re += slash ? "(?:.*/)?" : ".*";
        i += slash ? 2 : 1;
      } else {
        re += "[^/]*";
      }
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const end = g.indexOf("]", i + 2);
      if (end < 0) throw new SyntaxError(`Cannot parse glob "${glob}": unterminated "["`);
      let body = g.slice(i + 1, end);
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += "[" + body.replace(/\\/g, "\\\\") + "]";
      i = end;
    } else {
      re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
    }
  }
  const regexp = new RegExp(`^${anchored ? "" : "(?:.*/)?"}${re}(?:/.*)?$`, "s");
  cache.set(glob, regexp);
  return regexp;
}
