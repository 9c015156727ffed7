/**
 * The clock and the start of build_cmd for build B of `r10e check`: B's build_cmd starts only
 * once A's has finished (a gate file), and sees a clock days later, through Debian's faketime on
 * the host or a shifted `date` first on PATH in the builder container (where the host's
 * libfaketime cannot be loaded).
 *
 * @module
 */
import { dirname } from "node:path";
import { BuildFailed, ConfigError } from "../errors.ts";

/**
 * The command prefix that runs build_cmd on the host under a clock shift (e.g. "+3d"): Debian's
 * faketime, so that `date` and other C programs see another day. Empty without a shift.
 * @throws {ConfigError} for a value faketime would not read as a relative offset.
 */
export function faketimeWrap(shift: string | undefined): string[] {
  if (shift === undefined || shift === "") return [];
  if (!/^[+-]\d{1,6}[smhdy]?$/.test(shift)) {
    throw new ConfigError(
      `Cannot shift build_cmd's clock by "${shift}": expected a relative time like "+3d" or "-90m"`,
    );
  }
  return ["faketime", "-f", shift];
}

/**
 * Waits until `path` exists (nothing to wait for when unset).
 * @throws {BuildFailed} when interrupted, {ConfigError} when its folder is gone (check ended).
 */
export async function waitForFile(path: string | undefined, signal?: AbortSignal): Promise<void> {
  if (!path) return;
  for (;;) {
    if (await Deno.stat(path).then(() => true, () => false)) return;
    if (signal?.aborted) throw new BuildFailed("Interrupted while waiting to run build_cmd");
    if (!(await Deno.stat(dirname(path)).then(() => true, () => false))) {
      throw new ConfigError(
        `Cannot run build_cmd: "${
          dirname(path)
        }", where the file it waits for would appear, is gone`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Seconds of a faketime relative offset such as "+3d" (s, m, h, d, y; seconds without one). */
export function offsetSeconds(shift: string): number {
  const m = /^([+-])(\d{1,6})([smhdy]?)$/.exec(shift)!;
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, y: 31536000 }[m[3]]!;
  return (m[1] === "-" ? -1 : 1) * Number(m[2]) * unit;
}

/**
 * For build_cmd in the builder container, where the host's libfaketime cannot be loaded (another
 * libc, or none): shell commands that put a `date` first on PATH which prints the clock shifted
 * by `shift`, and passes through when given a date of its own (-d, -r, -s, -f).
 * Empty without a shift.
 * @throws {ConfigError} for a malformed value (as `faketimeWrap`).
 */
export function dateShiftPrefix(shift: string | undefined): string {
  const wrap = faketimeWrap(shift);
  if (wrap.length === 0) return "";
  const seconds = offsetSeconds(wrap[2]);
  const dir = '"${TMPDIR:-/tmp}/r10e-shifted-date"';
  const lines = [
    "#!/bin/sh",
    'for a in "$@"; do case "$a" in -d*|--date*|-r*|--reference*|-s*|--set*|-f*|--file*) ' +
    'exec "$R10E_REAL_DATE" "$@";; esac; done',
    'exec "$R10E_REAL_DATE" -d "@$(( $("$R10E_REAL_DATE" +%s) + $R10E_DATE_SHIFT ))" "$@"',
  ];
  // The real date by path: `command -v` names an applet by its bare name in BusyBox. A shell
  // function as well as the PATH entry: BusyBox's shell runs its own applets before PATH.
  const real = "for d in /usr/bin /bin /usr/local/bin; do " +
    '[ -x "$d/date" ] && echo "$d/date" && break; done';
  return `export R10E_REAL_DATE="$(${real})" R10E_DATE_SHIFT=${seconds} && ` +
    `mkdir -p ${dir} && printf '%s\\n' ${lines.map((l) => `'${l}'`).join(" ")} > ${dir}/date && ` +
    `chmod +x ${dir}/date && export PATH=${dir}:"$PATH" && ` +
    `date() { ${dir}/date "$@"; } && `;
}
