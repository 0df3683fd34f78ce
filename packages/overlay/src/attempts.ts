import { readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";

import { OverlayError } from "./errors.js";
import { LayerStack, type LayerStackOptions } from "./layer-stack.js";

const ATTEMPT_CONTENTS =
  'an attempt directory must contain a "files/" directory and may contain "parent/<n>" symlinks (n = 1, 2, ...) to its parent attempts';

/** Options of `stackFromAttempt()`: those of LayerStack without `layers`. */
export type AttemptStackOptions = Omit<LayerStackOptions, "layers">;

/**
 * Lists the attempts whose `files/` directories form the layer stack of
 * `attempt`, bottom to top, as real paths. The parents `parent/1`,
 * `parent/2`, ... are stacked in that order, and each parent's own parents
 * lie below it (recursively). An attempt reached twice keeps its lowest
 * position, so an ancestor is always below all of its descendants.
 *
 * @throws OverlayError NOT_AN_ATTEMPT for a directory without `files/`,
 *   PARENT_CYCLE when the parent links form a cycle.
 */
export function attemptChain(attempt: string): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  visit(realAttempt(attempt, attempt), [], order, placed);
  return order;
}

/** Returns the `files/` directories of `attemptChain(attempt)`, bottom to top. */
export function layersFromAttempt(attempt: string): string[] {
  return attemptChain(attempt).map((dir) => join(dir, "files"));
}

/** Builds the LayerStack of `attempt`: its parents' layers under its own. */
export function stackFromAttempt(
  attempt: string,
  options: AttemptStackOptions = {},
): LayerStack {
  return new LayerStack({ ...options, layers: layersFromAttempt(attempt) });
}

function visit(
  attempt: string,
  chain: string[],
  order: string[],
  placed: Set<string>,
): void {
  if (chain.includes(attempt)) {
    const cycle = [...chain.slice(chain.indexOf(attempt)), attempt];
    throw new OverlayError(
      "PARENT_CYCLE",
      `Parent links form a cycle: ${cycle.join(" -> ")}. Remove one of these parent/<n> symlinks.`,
    );
  }
  if (placed.has(attempt)) return;

  const nextChain = [...chain, attempt];
  for (const link of parentLinks(attempt)) {
    visit(realAttempt(link, attempt), nextChain, order, placed);
  }
  placed.add(attempt);
  order.push(attempt);
}

function parentLinks(attempt: string): string[] {
  const parentDir = join(attempt, "parent");
  let names: string[];
  try {
    names = readdirSync(parentDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw notAnAttempt(
      attempt,
      `its "parent" is not a readable directory`,
      error,
    );
  }

  const numbers = names.map((name) => {
    if (!/^[1-9][0-9]*$/.test(name)) {
      throw notAnAttempt(attempt, `"parent/${name}" is not a positive number`);
    }
    return Number(name);
  });
  return numbers.sort((a, b) => a - b).map((n) => join(parentDir, String(n)));
}

function realAttempt(path: string, linkedFrom: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    throw notAnAttempt(path, "it does not exist", error, linkedFrom);
  }

  try {
    if (!statSync(join(real, "files")).isDirectory()) {
      throw notAnAttempt(
        path,
        '"files" is not a directory',
        undefined,
        linkedFrom,
      );
    }
  } catch (error) {
    if (error instanceof OverlayError) throw error;
    throw notAnAttempt(path, 'it has no "files/" directory', error, linkedFrom);
  }
  return real;
}

function notAnAttempt(
  path: string,
  reason: string,
  cause?: unknown,
  linkedFrom?: string,
): OverlayError {
  const origin =
    linkedFrom !== undefined && linkedFrom !== path
      ? ` (a parent of ${linkedFrom})`
      : "";
  return new OverlayError(
    "NOT_AN_ATTEMPT",
    `${path}${origin} is not a uwrx attempt directory because ${reason}: ${ATTEMPT_CONTENTS}.`,
    { cause },
  );
}
