/**
 * build_cmd and the scripts it names, read for the usual clock and host leaks before building:
 * a value stamped from `date`, `whoami`, `$USER`, `hostname`, `uname`, `$RANDOM` or `uuidgen`
 * differs between two builds of the same commit (r10e check varies exactly these), and a
 * GOTOOLCHAIN set by the project overrides r10e's pin. Pure: reading the scripts is build.ts's.
 *
 * @module
 */

/** A script build_cmd runs, as read from the project. */
export interface ScriptText {
  /** Relative to the project root, as shown in messages. */
  path: string;
  text: string;
}

/** What a line leaks, and the fix. */
const LEAKS: { re: RegExp; what: string; fix: string }[] = [
  {
    // `date` as a command: $(date …), `date`, $(shell date …), a line starting with it.
    re: /(?:^|[\s`;(|&])date(?=\s|$|[`);|&])/,
    what: "reads the clock (date)",
    fix:
      'derive the value from SOURCE_DATE_EPOCH, which r10e sets to the commit time: date -u -d "@$SOURCE_DATE_EPOCH" …',
  },
  {
    re: /(?:^|[\s`;(|&])whoami(?=\s|$|[`);|&])|\$\{?(?:USER|LOGNAME)\b/,
    what: "reads the user name (whoami, $USER)",
    fix: "use a fixed value: another rebuilder runs as another user",
  },
  {
    re: /(?:^|[\s`;(|&])hostname(?=\s|$|[`);|&])|\$\{?HOSTNAME\b/,
    what: "reads the host name (hostname)",
    fix: "use a fixed value: another rebuilder's machine has another name",
  },
  {
    re: /(?:^|[\s`;(|&])uname(?=\s|$|[`);|&])/,
    what: "reads the kernel (uname)",
    fix: "use a fixed value: another rebuilder runs another kernel (GOOS/GOARCH name the target)",
  },
  {
    re: /\$\{?RANDOM\b/,
    what: "uses $RANDOM",
    fix: "use a fixed value or one derived from the commit (git rev-parse HEAD)",
  },
  {
    re: /(?:^|[\s`;(|&])uuidgen(?=\s|$|[`);|&])/,
    what: "makes a random UUID (uuidgen)",
    fix: "use a fixed value or one derived from the commit (git rev-parse HEAD)",
  },
  {
    re: /(?:^|[\s;(&]|export\s+)GOTOOLCHAIN\s*[:?]?=/,
    what: "sets GOTOOLCHAIN",
    fix: "r10e pins the toolchain with GOTOOLCHAIN; another one makes the audit refuse the " +
      'artifacts: leave GOTOOLCHAIN alone and set "go_version" in config.json instead',
  },
];

/**
 * The scripts build_cmd names: words that are paths of files in the project (`./build.sh`,
 * `scripts/build.sh`), and the Makefile when it runs `make` without `-f`.
 */
export function scriptsNamed(buildCmd: string, files: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const add = (p: string) => {
    const clean = p.replace(/^\.\//, "");
    if (files.has(clean) && !out.includes(clean)) out.push(clean);
  };
  const words = buildCmd.split(/[\s;&|()]+/).map((w) => w.replace(/^['"]|['"]$/g, ""));
  words.forEach((w, i) => {
    if (w === "-f" || w === "--file" || w === "--makefile") add(words[i + 1] ?? "");
    else add(w);
  });
  if (words.includes("make") && !words.some((w) => /^(-f|--file|--makefile)$/.test(w))) {
    for (const name of ["GNUmakefile", "makefile", "Makefile"]) {
      if (files.has(name)) {
        add(name);
        break;
      }
    }
  }
  return out;
}

/**
 * One warning per line of build_cmd or a script that leaks the clock or the host, naming the
 * place and the line. Comment lines are skipped, and so is a line that uses SOURCE_DATE_EPOCH
 * (`date -d @$SOURCE_DATE_EPOCH` is the fix, not a leak).
 */
export function scanLeaks(buildCmd: string, scripts: readonly ScriptText[]): string[] {
  const out: string[] = [];
  const scan = (where: (n: number) => string, text: string) => {
    text.split("\n").forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#") || line.includes("SOURCE_DATE_EPOCH")) return;
      for (const leak of LEAKS) {
        if (!leak.re.test(line)) continue;
        const shown = line.length > 120 ? `${line.slice(0, 117)}...` : line;
        out.push(`${where(i + 1)} ${leak.what}: "${shown}": ${leak.fix}`);
      }
    });
  };
  scan(() => "build_cmd", buildCmd);
  for (const s of scripts) scan((n) => `${s.path}:${n}`, s.text);
  return out;
}
