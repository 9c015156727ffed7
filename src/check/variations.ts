/**
 * What build B of `r10e check` varies, and how: the variations reprotest and debrepro apply to
 * distribution packages that can reach a Go build (environment, build path, user, umask, locale,
 * TZ, time, file order, hostname and domain name, HOME, kernel version, CPU count, ASLR), each
 * applied when the host allows it, or named with the reason it was not. Pure: the host's tools
 * and facts come in as values (check.ts probes them).
 *
 * @module
 */
import type { Condition } from "./result.ts";

/** The host facts the plan depends on. */
export interface HostFacts {
  /** Paths of the tools found on PATH, or null. */
  tools: {
    faketime: string | null;
    disorderfs: string | null;
    fusermount: string | null;
    unshare: string | null;
    setarch: string | null;
    taskset: string | null;
  };
  /**
   * Wrappers that are installed but failed a trial run here, with their message (a container
   * without CAP_SYS_ADMIN cannot unshare; a seccomp profile may refuse setarch's personality).
   */
  failed?: Partial<Record<"unshare" | "setarch" | "taskset", string>>;
  /** Whether the user is root (a new UTS namespace and a FUSE mount need it). */
  root: boolean;
  /** Whether /dev/fuse exists. */
  fuse: boolean;
  /** `uname -m`: setarch's first argument. */
  machine: string;
  /** CPUs this process may run on. */
  cpus: number;
  /** The user's HOME, and the caches that follow from it (kept for B, so nothing is fetched). */
  home: string;
  caches: Record<string, string>;
  /** Where B's own HOME goes. */
  homeB: string;
  /** Where build B runs build_cmd: host or the builder container. */
  modeB: "host" | "docker";
}

/** The days build B's build_cmd is shifted forward by faketime: a day stamp changes too. */
export const FAKETIME_SHIFT = "+3d";

/** The hostname and domain name build B runs under. */
export const HOSTNAME_B = "r10e-check-b";

/** How build B runs: the command prefix and the environment it adds, and the table's rows. */
export interface VariationPlan {
  /** Put before build B's own command (each wrapper ends by running the rest). */
  prefix: string[];
  /** Added to build B's environment. */
  env: Record<string, string>;
  /** The clock shift build B's build_cmd runs under (`build --clock-shift`), when one applies. */
  clockShift?: string;
  /** Whether B's clone is mounted through disorderfs with shuffled directory entries. */
  shuffleDirents: boolean;
  conditions: Condition[];
}

/** What one variation adds to build B: wrappers, variables, a clock shift, and its rows. */
interface Variation {
  prefix?: string[];
  env?: Record<string, string>;
  clockShift?: string;
  shuffleDirents?: boolean;
  conditions: Condition[];
}

/**
 * The variations of build B on this host; each row of the table says what reached whom.
 * A condition is "applied" only when it is really different in B.
 */
export function planVariations(h: HostFacts): VariationPlan {
  const parts = [
    environmentVariation(),
    timeVariation(h),
    fileOrderVariation(h),
    hostnameVariation(h),
    kernelVariation(h),
    cpuVariation(h),
    homeVariation(h),
  ];
  const clockShift = parts.find((p) => p.clockShift)?.clockShift;
  return {
    prefix: parts.flatMap((p) => p.prefix ?? []),
    env: Object.assign({}, ...parts.map((p) => p.env ?? {})),
    ...(clockShift ? { clockShift } : {}),
    shuffleDirents: parts.some((p) => p.shuffleDirents),
    conditions: parts.flatMap((p) => p.conditions),
  };
}

/**
 * An extra variable in B's environment: build clears the environment for build_cmd (only PATH,
 * HOME, the Go caches and proxies pass), so it shows that nothing else reaches the build.
 */
function environmentVariation(): Variation {
  return {
    env: { R10E_CHECK_EXTRA_VARIABLE: "set-in-build-b" },
    conditions: [{
      name: "environment",
      a: "the user's",
      b: "plus R10E_CHECK_EXTRA_VARIABLE (build_cmd gets r10e's fixed set of variables only)",
    }],
  };
}

/** B's build_cmd sees a clock days later: faketime on the host, a shifted `date` in docker. */
function timeVariation(h: HostFacts): Variation {
  if (h.modeB === "docker") {
    // The host's libfaketime cannot be loaded into any builder image: build shifts `date` there.
    return {
      clockShift: FAKETIME_SHIFT,
      conditions: [{
        name: "time",
        a: "wall clock",
        b: `date ${FAKETIME_SHIFT} (3 days later) in the builder container, started after A's ` +
          "build_cmd finished",
        note: "a date first on PATH in the container (libfaketime cannot be loaded there): it " +
          "reaches date, not other programs' clocks; Go's own time calls still see a later wall clock",
      }],
    };
  }
  if (!h.tools.faketime) {
    return {
      conditions: [{
        name: "time",
        a: "wall clock",
        b: "wall clock after A's build_cmd finished",
        note: "faketime is not installed (apt-get install faketime): B's clock is only seconds " +
          "to minutes later, so a day-resolution stamp goes unnoticed",
      }],
    };
  }
  return {
    clockShift: FAKETIME_SHIFT,
    conditions: [{
      name: "time",
      a: "wall clock",
      b: `faketime ${FAKETIME_SHIFT} (3 days later) for build_cmd, started after A's build_cmd finished`,
      note: "libfaketime reaches date and other C programs; Go's own time calls ignore it, " +
        "but they still see a later wall clock",
    }],
  };
}

/** B's clone is read through disorderfs, which shuffles directory entries. */
function fileOrderVariation(h: HostFacts): Variation {
  const docker = h.modeB === "docker";
  const shuffleDirents = !docker && h.tools.disorderfs !== null && h.tools.fusermount !== null &&
    h.root && h.fuse;
  return {
    shuffleDirents,
    conditions: [
      shuffleDirents
        ? { name: "file order", a: "the file system's", b: "disorderfs --shuffle-dirents=yes" }
        : {
          name: "file order",
          a: "",
          b: "",
          notVaried: docker
            ? "B runs build_cmd in the builder container (a FUSE mount is not shared into it)"
            : !h.tools.disorderfs
            ? "disorderfs is not installed (apt-get install disorderfs)"
            : !h.tools.fusermount
            ? "fusermount is not installed (apt-get install fuse)"
            : !h.fuse
            ? "/dev/fuse is missing"
            : "not root (disorderfs needs a FUSE mount)",
        },
    ],
  };
}

/**
 * In docker mode build_cmd runs in a container the Docker engine starts: wrappers around B's
 * r10e process do not reach it, so they are not claimed.
 */
const IN_CONTAINER = "B runs build_cmd in the builder container, which the Docker engine " +
  "starts: a wrapper around r10e does not reach it";

/** B runs in a UTS namespace of its own with another hostname and domain name. */
function hostnameVariation(h: HostFacts): Variation {
  if (h.modeB === "docker") {
    return {
      conditions: [{
        name: "hostname",
        a: "the host's",
        b: "the builder container's own (Docker gives each container one)",
      }],
    };
  }
  if (h.tools.unshare && h.root && !h.failed?.unshare) {
    return {
      prefix: [
        h.tools.unshare,
        "--uts",
        "--",
        "/bin/sh",
        "-c",
        'hostname "$1" && domainname "$1" && shift && exec "$@"',
        "sh",
        HOSTNAME_B,
      ],
      conditions: [{
        name: "hostname",
        a: "the host's",
        b: `${HOSTNAME_B} (unshare --uts), domain name too`,
      }],
    };
  }
  return {
    conditions: [{
      name: "hostname",
      a: "",
      b: "",
      notVaried: !h.tools.unshare
        ? "unshare is not installed (util-linux)"
        : h.failed?.unshare
        ? `unshare --uts failed here: ${h.failed.unshare}`
        : "not root (unshare --uts needs it)",
    }],
  };
}

/** B sees another kernel version and runs without address space randomization. */
function kernelVariation(h: HostFacts): Variation {
  const docker = h.modeB === "docker";
  if (h.tools.setarch && !docker && !h.failed?.setarch) {
    return {
      prefix: [h.tools.setarch, h.machine, "--uname-2.6", "-R"],
      conditions: [
        { name: "kernel", a: "the host's uname -r", b: "2.6.x (setarch --uname-2.6)" },
        { name: "ASLR", a: "randomized", b: "off (setarch -R)" },
      ],
    };
  }
  const why = docker
    ? IN_CONTAINER
    : h.failed?.setarch
    ? `setarch --uname-2.6 -R failed here: ${h.failed.setarch}`
    : "setarch is not installed (util-linux)";
  return {
    conditions: [
      { name: "kernel", a: "", b: "", notVaried: why },
      { name: "ASLR", a: "", b: "", notVaried: why },
    ],
  };
}

/** B runs on one CPU. */
function cpuVariation(h: HostFacts): Variation {
  const docker = h.modeB === "docker";
  if (h.tools.taskset && h.cpus > 1 && !docker && !h.failed?.taskset) {
    return {
      prefix: [h.tools.taskset, "--cpu-list", "0"],
      conditions: [{ name: "CPUs", a: String(h.cpus), b: "1 (taskset --cpu-list 0)" }],
    };
  }
  return {
    conditions: [{
      name: "CPUs",
      a: "",
      b: "",
      notVaried: docker
        ? IN_CONTAINER
        : h.failed?.taskset
        ? `taskset failed here: ${h.failed.taskset}`
        : h.tools.taskset
        ? "this host has one CPU"
        : "taskset is not installed",
    }],
  };
}

/**
 * HOME moves; the caches that default to places under it stay where they are, so that nothing
 * is fetched or compiled again.
 */
function homeVariation(h: HostFacts): Variation {
  return {
    env: { ...h.caches, HOME: h.homeB },
    conditions: [{
      name: "HOME",
      a: h.home,
      b: `${h.homeB} (${Object.keys(h.caches).sort().join(", ")} kept)`,
      ...(h.modeB === "docker"
        ? { note: "r10e's own; build_cmd in the builder container has the container's" }
        : {}),
    }],
  };
}

/**
 * The caches that live under HOME unless set, as variables B keeps pointing at A's: the Go
 * module and build caches, GOPATH, Deno's cache and Docker's config (their defaults on Linux).
 * From the environment alone: build_cmd runs with GOENV=off, so `go env -w` settings do not
 * count.
 */
export function homeCaches(env: Record<string, string>): Record<string, string> {
  const home = env.HOME ?? "";
  const cache = env.XDG_CACHE_HOME || `${home}/.cache`;
  const gopath = env.GOPATH || `${home}/go`;
  const out: Record<string, string> = {
    GOPATH: gopath,
    GOMODCACHE: env.GOMODCACHE || `${gopath.split(":")[0]}/pkg/mod`,
    GOCACHE: env.GOCACHE || `${cache}/go-build`,
    DENO_DIR: env.DENO_DIR || `${cache}/deno`,
    DOCKER_CONFIG: env.DOCKER_CONFIG || `${home}/.docker`,
  };
  return out;
}
