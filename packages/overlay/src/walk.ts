import { readlinkSync } from "node:fs";

import type { EntryType } from "./entry-type.js";
import { lookupChild, mergedRoot, type MergedDirectory } from "./lookup.js";
import { hostPathIn, readNames } from "./paths.js";

/** One path of the merged view of a range of layers, as `walkLayers` yields it. */
export type WalkEntry =
  | { kind: "whiteout"; path: string; layer: number; hostPath: string }
  | {
      kind: "found";
      path: string;
      layer: number;
      hostPath: string;
      type: EntryType;
      /** Symlink target, for type "symlink". */
      target?: string;
      /**
       * For a directory: true when the merge stopped inside the range at a
       * whiteout or non-directory, so layers below the range must not be
       * merged into it.
       */
      opaque?: boolean;
    };

/**
 * Walks the merged view of the layers `lowest..highest` (inclusive) of
 * `roots`, depth first, names in byte order. Each path present in the
 * range is yielded once, with its topmost layer, parents before children.
 * Whiteouts are yielded too. Names hidden by a whiteout or a non-directory
 * higher in the range are skipped. `onLeave` runs after a directory's
 * children.
 */
export function* walkLayers(
  roots: readonly string[],
  lowest: number,
  highest: number,
  onLeave?: (entry: WalkEntry) => void,
): Generator<WalkEntry> {
  const layers: number[] = [];
  for (let layer = highest; layer >= lowest; layer--) layers.push(layer);
  yield* walkDirectory(roots, mergedRoot(roots, layers), onLeave);
}

function* walkDirectory(
  roots: readonly string[],
  directory: MergedDirectory,
  onLeave?: (entry: WalkEntry) => void,
): Generator<WalkEntry> {
  for (const name of unionOfNames(roots, directory)) {
    const hit = lookupChild(roots, directory, name);
    const path =
      directory.path === "/" ? `/${name}` : `${directory.path}/${name}`;
    if (hit.kind === "absent") continue;

    if (hit.kind === "whiteout") {
      yield {
        kind: "whiteout",
        path,
        layer: hit.layer,
        hostPath: hit.hostPath,
      };
      continue;
    }

    const entry: WalkEntry = {
      kind: "found",
      path,
      layer: hit.layer,
      hostPath: hit.hostPath,
      type: hit.type,
    };
    if (hit.type === "symlink") entry.target = readlinkSync(hit.hostPath);
    if (hit.directory !== undefined) entry.opaque = hit.directory.stopped;
    yield entry;

    if (hit.directory !== undefined) {
      yield* walkDirectory(roots, hit.directory, onLeave);
      onLeave?.(entry);
    }
  }
}

function unionOfNames(
  roots: readonly string[],
  directory: MergedDirectory,
): string[] {
  const names = new Set<string>();
  for (const layer of directory.layers) {
    const hostDir = hostPathIn(roots[layer]!, directory.path);
    for (const name of readNames(hostDir)) names.add(name);
  }
  return [...names].sort((a, b) =>
    Buffer.compare(Buffer.from(a), Buffer.from(b)),
  );
}
