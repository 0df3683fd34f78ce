import { lstatSync, readlinkSync } from "node:fs";

import { entryTypeOf, isWhiteout, type EntryType } from "./entry-type.js";
import { OverlayError } from "./errors.js";
import { lookupChild, mergedRoot, type MergedDirectory } from "./lookup.js";
import {
  childPath,
  hostPathIn,
  readNames,
  requireAbsolute,
  splitPath,
} from "./paths.js";

/** Linux's limit on symlinks followed in one lookup (MAXSYMLINKS). */
export const MAX_SYMLINKS = 40;

/** Options of `new LayerStack()`. */
export interface LayerStackOptions {
  /**
   * Upper layer directories, bottom to top: the `files/` directories of the
   * parent attempts, then the current attempt's own `files/`, which is the
   * only writable layer. Each contains files at their absolute paths.
   */
  layers: readonly string[];
  /** Host directory used as the read-only base, layer 0. Default "/". */
  base?: string;
  /**
   * Timestamp of the base layer in nanoseconds since the Unix epoch.
   * Default 2000-01-01T00:00:00Z, because ZIP and other archive formats
   * cannot store dates before 1980.
   */
  t0Ns?: bigint;
  /** Nanoseconds between the timestamps of adjacent layers. Default 1 s. */
  intervalNs?: bigint;
}

/** Defaults merged under the options of `new LayerStack()`. */
export const DEFAULT_LAYER_STACK_OPTIONS = Object.freeze({
  base: "/",
  t0Ns: 946_684_800_000_000_000n,
  intervalNs: 1_000_000_000n,
});

/** Options of `resolve()` and `stat()`. */
export interface ResolveOptions {
  /**
   * Leave a symlink in the last component unfollowed (lstat semantics).
   * A trailing "/" still follows it, as in the kernel.
   */
  noFollow?: boolean;
}

/** Result of `resolve()`. `path` is the merged path after symlinks. */
export type Resolution =
  | {
      kind: "found";
      layer: number;
      hostPath: string;
      type: EntryType;
      path: string;
    }
  | { kind: "whiteout"; layer: number; path: string }
  | {
      kind: "absent";
      /** ENOTDIR when a component other than the last is not a directory. */
      errno: "ENOENT" | "ENOTDIR";
    };

/** One name of a merged directory listing. */
export interface MergedEntry {
  name: string;
  type: EntryType;
  /** The topmost layer that contains the name. */
  layer: number;
}

/** stat() of a path on the merged view. */
export interface MergedStat {
  path: string;
  layer: number;
  hostPath: string;
  type: EntryType;
  /** Type and permission bits (st_mode) of the host file, unchanged. */
  mode: number;
  /** Owner and group of the host file, unchanged. */
  uid: number;
  gid: number;
  /** Size and link count of the host file in the topmost layer. */
  size: bigint;
  nlink: number;
  /** Per-layer timestamps in nanoseconds since the Unix epoch. */
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

type InternalResolution =
  | (Resolution & { kind: "absent" | "whiteout" })
  | {
      kind: "found";
      layer: number;
      hostPath: string;
      type: EntryType;
      path: string;
      directory?: MergedDirectory;
    };

/**
 * A stack of read-only layers under one writable layer, seen as one merged
 * filesystem. Layer 0 is the base (the real root by default), layers
 * 1..n are the parent attempts and layer n+1 is the current attempt.
 *
 * Every method reads the layer directories with synchronous node:fs calls
 * at the moment it runs; nothing is cached between calls.
 */
export class LayerStack {
  /** Host directories of all layers, base first, writable layer last. */
  readonly roots: readonly string[];
  readonly t0Ns: bigint;
  readonly intervalNs: bigint;

  constructor(options: LayerStackOptions) {
    const merged = { ...DEFAULT_LAYER_STACK_OPTIONS, ...options };
    validateOptions(merged);
    this.roots = Object.freeze([merged.base, ...merged.layers]);
    this.t0Ns = merged.t0Ns;
    this.intervalNs = merged.intervalNs;
  }

  /** Index of the writable layer, n + 1. */
  get topLayer(): number {
    return this.roots.length - 1;
  }

  /**
   * Resolves an absolute path on the merged view, component by component.
   * Symlinks found in any layer are followed on the merged view: a relative
   * target against the merged parent directory, an absolute one from the
   * merged root. ".." goes to the merged parent of the directory reached
   * so far, so it never leaves the layer stack.
   *
   * @throws OverlayError ELOOP after more than 40 symlinks.
   */
  resolve(path: string, options: ResolveOptions = {}): Resolution {
    const result = this.resolveInternal(path, options);
    if (result.kind !== "found") return result;
    const { layer, hostPath, type } = result;
    return { kind: "found", layer, hostPath, type, path: result.path };
  }

  /**
   * Lists a merged directory: the names of every layer whose copy of the
   * directory takes part in the merge, each with the type of its topmost
   * copy, minus whited-out names, sorted by their UTF-8 bytes.
   *
   * @throws OverlayError ENOENT or ENOTDIR when `path` is not a directory.
   */
  readdir(path: string): MergedEntry[] {
    const directory = this.requireDirectory(path);
    const entries: MergedEntry[] = [];
    const seen = new Set<string>();

    for (const layer of directory.layers) {
      const hostDir = hostPathIn(this.roots[layer]!, directory.path);
      for (const name of readNames(hostDir)) {
        if (seen.has(name)) continue;
        seen.add(name);

        const stats = lstatSync(`${hostDir}/${name}`);
        if (isWhiteout(stats)) continue;
        entries.push({ name, type: entryTypeOf(stats), layer });
      }
    }

    return entries.sort(compareNames);
  }

  /**
   * Returns stat() of a merged path. Mode, owner, size and link count come
   * from the host file in the topmost layer that contains the path. atime,
   * mtime and ctime are all `t0Ns + layer * intervalNs`, so a file of a
   * higher layer is always newer than one of a lower layer, and the result
   * does not depend on when the layers were written.
   *
   * @throws OverlayError ENOENT, ENOTDIR or ELOOP as the kernel would.
   */
  stat(path: string, options: ResolveOptions = {}): MergedStat {
    const found = this.requireFound(path, options);
    const host = lstatSync(found.hostPath, { bigint: true });
    const timeNs = this.layerTimeNs(found.layer);

    return {
      path: found.path,
      layer: found.layer,
      hostPath: found.hostPath,
      type: found.type,
      mode: Number(host.mode),
      uid: Number(host.uid),
      gid: Number(host.gid),
      size: host.size,
      nlink: Number(host.nlink),
      atimeNs: timeNs,
      mtimeNs: timeNs,
      ctimeNs: timeNs,
    };
  }

  /** Returns the timestamp in nanoseconds that files of `layer` report. */
  layerTimeNs(layer: number): bigint {
    return this.t0Ns + BigInt(layer) * this.intervalNs;
  }

  /** Resolves `path` to a merged directory, with the layers it merges. */
  directoryAt(path: string): MergedDirectory {
    return this.requireDirectory(path);
  }

  private requireFound(path: string, options: ResolveOptions) {
    const result = this.resolveInternal(path, options);
    if (result.kind === "found") return result;

    const errno = result.kind === "absent" ? result.errno : "ENOENT";
    const reason =
      result.kind === "whiteout"
        ? `it is deleted by a whiteout in layer ${result.layer}`
        : "a component is missing or is not a directory";
    throw new OverlayError(
      errno,
      `${errno}: ${JSON.stringify(path)} is not on the merged view because ${reason}.`,
    );
  }

  private requireDirectory(path: string): MergedDirectory {
    const found = this.requireFound(path, {});
    if (found.directory !== undefined) return found.directory;
    throw new OverlayError(
      "ENOTDIR",
      `ENOTDIR: ${JSON.stringify(path)} is a ${found.type} in layer ${found.layer}, not a directory.`,
    );
  }

  private resolveInternal(
    path: string,
    options: ResolveOptions,
  ): InternalResolution {
    requireAbsolute(path);
    const followLast = options.noFollow !== true || path.endsWith("/");
    const root = mergedRoot(this.roots, this.allLayersTopDown());
    let chain: MergedDirectory[] = [root];
    const pending = splitPath(path);
    let symlinks = 0;

    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === ".") continue;
      if (name === "..") {
        if (chain.length > 1) chain.pop();
        continue;
      }

      const isLast = pending.length === 0;
      const parent = chain[chain.length - 1]!;
      const hit = lookupChild(this.roots, parent, name);
      const merged = childPath(parent.path, name);

      if (hit.kind === "absent") return { kind: "absent", errno: "ENOENT" };
      if (hit.kind === "whiteout") {
        return isLast
          ? { kind: "whiteout", layer: hit.layer, path: merged }
          : { kind: "absent", errno: "ENOENT" };
      }

      if (hit.type === "symlink" && (!isLast || followLast)) {
        symlinks += 1;
        if (symlinks > MAX_SYMLINKS) {
          throw new OverlayError(
            "ELOOP",
            `ELOOP: resolving ${JSON.stringify(path)} followed more than ${MAX_SYMLINKS} symlinks.`,
          );
        }
        const target = readlinkSync(hit.hostPath);
        if (target.startsWith("/")) chain = [root];
        pending.unshift(...splitPath(target));
        continue;
      }

      if (hit.directory === undefined) {
        if (!isLast || path.endsWith("/")) {
          return { kind: "absent", errno: "ENOTDIR" };
        }
        return { ...hit, path: merged };
      }

      chain.push(hit.directory);
    }

    const directory = chain[chain.length - 1]!;
    return this.foundDirectory(directory);
  }

  private foundDirectory(directory: MergedDirectory): InternalResolution {
    const layer = directory.layers[0];
    if (layer === undefined) {
      // Only the root can have no layer: every layer root is missing.
      return { kind: "absent", errno: "ENOENT" };
    }
    return {
      kind: "found",
      layer,
      hostPath: hostPathIn(this.roots[layer]!, directory.path),
      type: "directory",
      path: directory.path,
      directory,
    };
  }

  private allLayersTopDown(): number[] {
    return this.roots.map((_, layer) => layer).reverse();
  }
}

function validateOptions(options: Required<LayerStackOptions>): void {
  if (!Array.isArray(options.layers)) {
    throw new OverlayError(
      "INVALID_OPTION",
      "Invalid option layers: expected an array of layer directories, bottom to top.",
    );
  }
  if (options.layers.length === 0) {
    throw new OverlayError(
      "INVALID_OPTION",
      "Invalid option layers: expected at least one directory, the writable layer.",
    );
  }
  for (const layer of options.layers) requireAbsolute(layer, "layer directory");
  requireAbsolute(options.base, "base directory");

  if (typeof options.t0Ns !== "bigint" || options.t0Ns < 0n) {
    throw new OverlayError(
      "INVALID_OPTION",
      `Invalid option t0Ns ${String(options.t0Ns)}: expected a non-negative bigint of nanoseconds.`,
    );
  }
  if (typeof options.intervalNs !== "bigint" || options.intervalNs < 0n) {
    throw new OverlayError(
      "INVALID_OPTION",
      `Invalid option intervalNs ${String(options.intervalNs)}: expected a non-negative bigint of nanoseconds.`,
    );
  }
}

function compareNames(a: MergedEntry, b: MergedEntry): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}
