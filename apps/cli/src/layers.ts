import { mkdir, stat, symlink } from "node:fs/promises";
import { join, relative, resolve } from "node:path";

import {
  attemptChain,
  exportMerged,
  isOverlayError,
  LayerStack,
  stackFromAttempt,
  writeIndex,
  type ExportSummary,
} from "@uwrx/overlay";
import type { Determinism, LayerOptions } from "@uwrx/seccomp-native";

import { CliError, EXIT_USAGE } from "./errors.js";
import { LAYER_INTERVAL_NS } from "./determinism.js";

/**
 * Prepares the layered filesystem of a new attempt: its `files/` top
 * layer, `parent/<n>` links to the given parent attempts, and the index of
 * the parent layers that the core reads (`layers.idx`). Layer i reports
 * file times T0 + i * interval with T0 = start - (n + 2) * interval, the
 * same rule as the core's.
 */
export async function prepareLayers(
  attemptDir: string,
  parents: readonly string[],
  determinism: Determinism,
): Promise<LayerOptions> {
  await mkdir(join(attemptDir, "files"));
  await linkParents(attemptDir, parents);

  const chain = overlayCall(() => attemptChain(attemptDir));
  const layers = chain.map((dir) => join(dir, "files"));
  const parentLayers = layers.length - 1;
  const upper = join(attemptDir, "files");
  if (parentLayers === 0) return { upper, parentLayers };

  const interval = determinism.layerIntervalNs ?? LAYER_INTERVAL_NS;
  const t0Ns = determinism.startTimeNs - BigInt(parentLayers + 2) * interval;
  const stack = new LayerStack({ layers, t0Ns, intervalNs: interval });
  const index = join(attemptDir, "layers.idx");
  overlayCall(() => writeIndex(stack, index));
  return { upper, index, parentLayers };
}

/**
 * Checks parent attempts before a new attempt is created, so a bad
 * --parent leaves nothing behind: each must be a finished attempt (a
 * files/ directory and a perfetto trace) whose own parents are sound.
 */
export async function checkParents(parents: readonly string[]): Promise<void> {
  for (const parent of parents) {
    const target = resolve(parent);
    const files = await stat(join(target, "files")).catch(() => undefined);
    if (!files?.isDirectory()) {
      throw new CliError(
        `--parent ${parent} is not an attempt: expected ${join(target, "files")}/, which 'uwrx run' writes`,
        EXIT_USAGE,
      );
    }
    const trace = await stat(join(target, "perfetto")).catch(() => undefined);
    if (!trace?.isFile()) {
      throw new CliError(
        `--parent ${parent} did not finish (it has no perfetto trace); use an attempt whose run completed`,
        EXIT_USAGE,
      );
    }
    overlayCall(() => attemptChain(target));
  }
}

/** Links each parent as `parent/1`, `parent/2`, ... */
async function linkParents(
  attemptDir: string,
  parents: readonly string[],
): Promise<void> {
  if (parents.length === 0) return;
  await mkdir(join(attemptDir, "parent"));
  for (const [i, parent] of parents.entries()) {
    const target = resolve(parent);
    await symlink(
      relative(join(attemptDir, "parent"), target),
      join(attemptDir, "parent", String(i + 1)),
    );
  }
}

/** Exports an attempt's merged changes (its parents' and its own) into dest. */
export function exportAttempt(
  attemptDir: string,
  dest: string,
  onlyTop = false,
): ExportSummary {
  const stack = overlayCall(() => stackFromAttempt(attemptDir));
  return overlayCall(() =>
    exportMerged({ stack, dest, from: onlyTop ? stack.topLayer : 1 }),
  );
}

/** Runs an @uwrx/overlay call, turning its errors into one-line CLI errors. */
function overlayCall<T>(call: () => T): T {
  try {
    return call();
  } catch (cause) {
    if (isOverlayError(cause))
      throw new CliError(cause.message, 125, { cause });
    throw cause;
  }
}
