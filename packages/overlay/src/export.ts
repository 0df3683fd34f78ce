import {
  chmodSync,
  copyFileSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, basename } from "node:path";

import { lstatIfExists } from "./entry-type.js";
import { OverlayError } from "./errors.js";
import type { LayerStack } from "./layer-stack.js";
import { hostPathIn } from "./paths.js";
import { walkLayers, type WalkEntry } from "./walk.js";

/** Options of `exportMerged()`. */
export interface ExportOptions {
  stack: LayerStack;
  /**
   * Directory that receives the changes, at their absolute paths below it;
   * "/" writes them into the real tree. It must exist.
   */
  dest: string;
  /**
   * Lowest layer whose changes are exported. Default 1, the first parent
   * layer: the base is never copied. The writable layer is always included.
   */
  from?: number;
}

/** Counts of what `exportMerged()` changed under `dest`. */
export interface ExportSummary {
  files: number;
  symlinks: number;
  directories: number;
  deletions: number;
}

/**
 * Writes the merged changes of the layers `from`..n+1 into `dest`: files,
 * symlinks and directories with their host modes and mtimes, and each
 * whiteout as a recursive deletion. Files that are hard links of one
 * another in a layer stay hard links of one another in `dest`. A
 * directory whose merge stops at a
 * whiteout or non-directory within those layers replaces whatever `dest`
 * contains at its path. Each file and symlink is written under a temporary
 * name in its target directory and renamed into place, so a crash leaves
 * the old file or the new one, never a part.
 *
 * @throws OverlayError UNSUPPORTED_TYPE for a FIFO, socket or device file.
 */
export function exportMerged(options: ExportOptions): ExportSummary {
  const { stack, dest } = options;
  const from = options.from ?? 1;
  validateExport(stack, dest, from);
  checkExportable(stack, from);

  const summary: ExportSummary = {
    files: 0,
    symlinks: 0,
    directories: 0,
    deletions: 0,
  };
  // The first exported path of each layer inode with more than one link.
  const linked = new Map<string, string>();
  const finishDirectory = (entry: WalkEntry) => {
    const source = lstatSync(entry.hostPath);
    const target = hostPathIn(dest, entry.path);
    chmodSync(target, source.mode & 0o7777);
    utimesSync(target, source.atime, source.mtime);
  };

  for (const entry of walkLayers(
    stack.roots,
    from,
    stack.topLayer,
    finishDirectory,
  )) {
    exportEntry(entry, hostPathIn(dest, entry.path), summary, linked);
  }
  return summary;
}

function exportEntry(
  entry: WalkEntry,
  target: string,
  summary: ExportSummary,
  linked: Map<string, string>,
): void {
  if (entry.kind === "whiteout") {
    if (lstatIfExists(target) !== undefined) summary.deletions += 1;
    rmSync(target, { recursive: true, force: true });
    return;
  }

  switch (entry.type) {
    case "directory":
      exportDirectory(target, entry.opaque === true);
      summary.directories += 1;
      return;
    case "file": {
      const source = lstatSync(entry.hostPath);
      const key = `${source.dev}:${source.ino}`;
      const first = source.nlink > 1 ? linked.get(key) : undefined;
      replaceAtomically(target, (temporary) =>
        first !== undefined
          ? linkSync(first, temporary)
          : copyFile(entry.hostPath, temporary),
      );
      if (source.nlink > 1 && first === undefined) linked.set(key, target);
      summary.files += 1;
      return;
    }
    case "symlink":
      replaceAtomically(target, (temporary) =>
        copySymlink(entry.hostPath, entry.target!, temporary),
      );
      summary.symlinks += 1;
      return;
    default:
      throw unsupportedEntry(entry);
  }
}

/**
 * Walks the layers once before anything is written, so that an entry
 * that cannot be exported (or a name that is not UTF-8) stops the export
 * while `dest` is still untouched.
 */
function checkExportable(stack: LayerStack, from: number): void {
  const walk = walkLayers(stack.roots, from, stack.topLayer, () => undefined);
  for (const entry of walk) {
    if (entry.kind === "whiteout") continue;
    if (!EXPORTABLE.has(entry.type)) throw unsupportedEntry(entry);
  }
}

const EXPORTABLE = new Set(["directory", "file", "symlink"]);

function unsupportedEntry(entry: WalkEntry): OverlayError {
  return new OverlayError(
    "UNSUPPORTED_TYPE",
    `Cannot export ${entry.path} from layer ${entry.layer}: it is a FIFO, socket or device file, which Node cannot create. Remove it from ${entry.hostPath} or copy it by hand; nothing was exported.`,
  );
}

function exportDirectory(target: string, opaque: boolean): void {
  const existing = lstatIfExists(target);
  if (existing !== undefined && (opaque || !existing.isDirectory())) {
    rmSync(target, { recursive: true, force: true });
  }
  // Owner rwx until finishDirectory sets the source mode, so that the
  // children can be written even under a read-only source directory.
  mkdirSync(target, { recursive: true, mode: 0o700 });
  chmodSync(target, statSync(target).mode | 0o700);
}

function copyFile(source: string, temporary: string): void {
  const stats = lstatSync(source);
  copyFileSync(source, temporary);
  chmodSync(temporary, stats.mode & 0o7777);
  utimesSync(temporary, stats.atime, stats.mtime);
}

function copySymlink(
  source: string,
  linkTarget: string,
  temporary: string,
): void {
  const stats = lstatSync(source);
  symlinkSync(linkTarget, temporary);
  lutimesSync(temporary, stats.atime, stats.mtime);
}

function replaceAtomically(
  target: string,
  write: (temporary: string) => void,
): void {
  const temporary = `${dirname(target)}/.${basename(target)}.uwrx-${randomBytes(4).toString("hex")}`;
  try {
    write(temporary);
    // rename() cannot replace a directory with a file, so an old directory
    // goes first. This step is not atomic, but the new file is complete
    // before it starts.
    if (lstatIfExists(target)?.isDirectory() === true) {
      rmSync(target, { recursive: true, force: true });
    }
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

function validateExport(stack: LayerStack, dest: string, from: number): void {
  if (!Number.isInteger(from) || from < 1 || from > stack.topLayer) {
    throw new OverlayError(
      "INVALID_OPTION",
      `Invalid option from ${String(from)}: expected a layer number from 1 to ${stack.topLayer}.`,
    );
  }
  const stats =
    typeof dest === "string" && dest.startsWith("/")
      ? lstatIfExists(dest)
      : undefined;
  if (stats === undefined || !statSync(dest).isDirectory()) {
    throw new OverlayError(
      "INVALID_OPTION",
      `Invalid option dest ${JSON.stringify(dest)}: expected an absolute path of an existing directory.`,
    );
  }
}
