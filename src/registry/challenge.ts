/**
 * The `WWW-Authenticate` header of a registry (RFC 7235): `Bearer realm="…",service="…",scope="…"`
 * or `Basic realm="…"`. Pure: no I/O.
 *
 * @module
 */

/** One authentication challenge. */
export interface Challenge {
  /** Lowercase scheme: `bearer`, `basic`. */
  scheme: string;
  /** Lowercase parameter names → values (`realm`, `service`, `scope`, `error`). */
  params: Record<string, string>;
}

/** Parses every challenge of a `WWW-Authenticate` header value; unparsable parts are skipped. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i])) i++;
    return header.slice(start, i);
  };
  while (i < n) {
    skipSpace();
    while (i < n && header[i] === ",") {
      i++;
      skipSpace();
    }
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const params: Record<string, string> = {};
    for (;;) {
      skipSpace();
      const save = i;
      const name = token();
      skipSpace();
      if (!name || header[i] !== "=") {
        i = save;
        break;
      }
      i++;
      skipSpace();
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < n) i++;
          value += header[i++];
        }
        i++;
      } else {
        value = token();
      }
      params[name.toLowerCase()] = value;
      skipSpace();
      if (header[i] === ",") {
        i++;
        continue;
      }
      break;
    }
    out.push({ scheme: scheme.toLowerCase(), params });
  }
  return out;
}
