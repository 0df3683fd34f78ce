import { lstatSync, type Stats } from "node:fs";

/** Type of a directory entry as one layer stores it. */
export type EntryType = "file" | "directory" | "symlink" | "other";

/**
 * Tells whether `stats` describe an overlayfs whiteout: a character device
 * with device number 0/0. Linux 5.8 and later let ordinary users create
 * exactly this device node, for the purpose of whiteouts.
 */
export function isWhiteout(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0;
}

/** Maps host stat results to an entry type; FIFOs, sockets and devices are "other". */
export function entryTypeOf(stats: Stats): EntryType {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  if (stats.isSymbolicLink()) return "symlink";
  return "other";
}

/**
 * Runs lstat and returns undefined where the host path does not exist.
 * ENOTDIR counts as absent: a lower layer may hold a file where the merged
 * view has a directory, and that layer then has nothing below it.
 */
export function lstatIfExists(hostPath: string): Stats | undefined {
  try {
    return lstatSync(hostPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}
