import type { TraceEvent, UwrxTrace } from "./load-trace.js";

/** The files one process touched, by kind of access, as absolute paths. */
export interface FileAccess {
  pid: number;
  read: string[];
  written: string[];
  /** Looked up and not found (ENOENT or ENOTDIR): inputs of a rebuild too. */
  missing: string[];
  /** Checked with stat, access or readlink and found. */
  probed: string[];
  removed: string[];
  created: string[];
  renamed: { from: string; to: string }[];
  /** Calls that failed with another error, as "path: -errno". */
  failed: string[];
}

const O_ACCMODE = 0o3;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const ENOENT = 2;
const ENOTDIR = 20;

const OPENS = new Set(["open", "openat", "openat2", "creat"]);
const PROBES = new Set([
  "stat",
  "lstat",
  "newfstatat",
  "statx",
  "access",
  "faccessat",
  "faccessat2",
  "readlink",
  "readlinkat",
  "chdir",
]);
const REMOVES = new Set(["unlink", "unlinkat", "rmdir"]);
const CREATES = new Set(["mkdir", "mkdirat"]);
const RENAMES = new Set(["rename", "renameat", "renameat2"]);
const CHANGES = new Set([
  "chmod",
  "fchmodat",
  "chown",
  "lchown",
  "fchownat",
  "utimensat",
]);

/** Groups the file events of a trace by process. */
export function collectFileAccess(trace: UwrxTrace): FileAccess[] {
  const byPid = new Map<number, FileAccess>();
  for (const event of trace.events) {
    if (event.category !== "file") continue;
    let access = byPid.get(event.pid);
    if (!access) {
      access = emptyAccess(event.pid);
      byPid.set(event.pid, access);
    }
    classify(access, event);
  }
  return [...byPid.values()].map(deduplicate);
}

function emptyAccess(pid: number): FileAccess {
  return {
    pid,
    read: [],
    written: [],
    missing: [],
    probed: [],
    removed: [],
    created: [],
    renamed: [],
    failed: [],
  };
}

function classify(access: FileAccess, event: TraceEvent): void {
  const path = String(event.args.abspath ?? event.args.path ?? "");
  // The core lets the kernel perform read-only opens that it found; those
  // carry `found: true` and no result.
  const result =
    event.args.result ?? (event.args.found === true ? 0 : undefined);
  if (typeof result !== "number") return;

  if (result < 0) {
    const errno = -result;
    if (errno === ENOENT || errno === ENOTDIR) access.missing.push(path);
    else access.failed.push(`${path}: ${result}`);
    return;
  }

  if (OPENS.has(event.name)) classifyOpen(access, event, path);
  else if (PROBES.has(event.name)) access.probed.push(path);
  else if (REMOVES.has(event.name)) access.removed.push(path);
  else if (CREATES.has(event.name)) access.created.push(path);
  else if (CHANGES.has(event.name)) access.written.push(path);
  else if (RENAMES.has(event.name)) {
    const to = String(event.args.abspath2 ?? event.args.path2 ?? "");
    access.renamed.push({ from: path, to });
  }
}

function classifyOpen(
  access: FileAccess,
  event: TraceEvent,
  path: string,
): void {
  const flags = Number(event.args.flags ?? 0);
  const writes =
    event.name === "creat" ||
    (flags & O_ACCMODE) !== 0 ||
    (flags & (O_CREAT | O_TRUNC)) !== 0;
  (writes ? access.written : access.read).push(path);
}

function deduplicate(access: FileAccess): FileAccess {
  const unique = (paths: string[]) => [...new Set(paths)].sort();
  return {
    ...access,
    read: unique(access.read),
    written: unique(access.written),
    missing: unique(access.missing),
    probed: unique(access.probed),
    removed: unique(access.removed),
    created: unique(access.created),
    failed: unique(access.failed),
  };
}
