import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

import { repoRoot } from "./uwrx.js";

/**
 * Downloads and unpacks a Debian source package with the shared corpus
 * script beside the checkout, returning the source directory.
 */
export function fetchDebianSource(pkg: string): string {
  const script = join(
    process.env.UWRX_SHARED_DIR ?? join(repoRoot, "../shared"),
    "corpus/fetch-debian-source",
  );
  if (!existsSync(script)) {
    throw new Error(
      `${script} not found: set UWRX_SHARED_DIR to the directory that holds corpus/fetch-debian-source`,
    );
  }
  const out = execFileSync(script, [pkg], { encoding: "utf8" });
  return out.trim().split("\n").at(-1)!;
}
