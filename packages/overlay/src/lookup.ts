import { statSync } from "node:fs";

import {
  entryTypeOf,
  isWhiteout,
  lstatIfExists,
  type EntryType,
} from "./entry-type.js";
import { childPath, hostPathIn } from "./paths.js";

/**
 * A directory of the merged view: its absolute path and the layers whose
 * copy of it is merged, topmost first.
 */
export interface MergedDirectory {
  path: string;
  layers: number[];
  /**
   * True when the merge stopped at a whiteout or a non-directory in one of
   * the given layers, so no layer below that one contributes.
   */
  stopped: boolean;
}

/** Result of looking up one name in a merged directory. */
export type ChildLookup =
  | { kind: "absent" }
  | { kind: "whiteout"; layer: number; hostPath: string }
  | {
      kind: "found";
      layer: number;
      hostPath: string;
      type: EntryType;
      /** The merged directory, when `type` is "directory". */
      directory?: MergedDirectory;
    };

/**
 * Builds the merged root from `layers` (topmost first). A layer whose root
 * directory is missing contributes nothing, which is the normal state of an
 * attempt that has not written a file yet.
 */
export function mergedRoot(
  roots: readonly string[],
  layers: number[],
): MergedDirectory {
  const present = layers.filter((layer) => isDirectory(roots[layer]!));
  return { path: "/", layers: present, stopped: false };
}

/**
 * Looks `name` up in `parent`, checking its layers top-down. The topmost
 * layer containing the name decides: a whiteout hides the name, a non-directory
 * hides everything below it, and a directory merges with the directories of
 * the same path in the layers below it until one of those layers contains a
 * whiteout or a non-directory there.
 */
export function lookupChild(
  roots: readonly string[],
  parent: MergedDirectory,
  name: string,
): ChildLookup {
  const path = childPath(parent.path, name);

  for (let k = 0; k < parent.layers.length; k++) {
    const layer = parent.layers[k]!;
    const hostPath = hostPathIn(roots[layer]!, path);
    const stats = lstatIfExists(hostPath);
    if (stats === undefined) continue;

    if (isWhiteout(stats)) return { kind: "whiteout", layer, hostPath };

    const type = entryTypeOf(stats);
    if (type !== "directory") return { kind: "found", layer, hostPath, type };

    const below = mergeBelow(roots, parent.layers.slice(k + 1), path);
    const directory = {
      path,
      layers: [layer, ...below.layers],
      stopped: below.stopped,
    };
    return { kind: "found", layer, hostPath, type, directory };
  }

  return { kind: "absent" };
}

function mergeBelow(
  roots: readonly string[],
  candidates: number[],
  path: string,
): { layers: number[]; stopped: boolean } {
  const layers: number[] = [];
  for (const layer of candidates) {
    const stats = lstatIfExists(hostPathIn(roots[layer]!, path));
    if (stats === undefined) continue;
    if (!stats.isDirectory()) return { layers, stopped: true };
    layers.push(layer);
  }
  return { layers, stopped: false };
}

function isDirectory(hostPath: string): boolean {
  try {
    return statSync(hostPath).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw error;
  }
}
