import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** One entry of a layer tree, as tests and the vectors file describe it. */
export interface TreeEntry {
  path: string;
  type: "file" | "directory" | "symlink" | "whiteout";
  content?: string;
  target?: string;
}

/** Creates a fresh temporary directory; remove it with removeTemp(). */
export function makeTemp(): string {
  return mkdtempSync(join(tmpdir(), "uwrx-overlay-"));
}

export function removeTemp(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Creates `entries` under `root`, with parent directories as needed. */
export function buildTree(root: string, entries: readonly TreeEntry[]): void {
  mkdirSync(root, { recursive: true });
  for (const entry of entries) {
    const hostPath = join(root, entry.path);
    mkdirSync(dirname(hostPath), { recursive: true });
    switch (entry.type) {
      case "file":
        writeFileSync(hostPath, entry.content ?? "");
        break;
      case "directory":
        mkdirSync(hostPath, { recursive: true });
        break;
      case "symlink":
        symlinkSync(entry.target!, hostPath);
        break;
      case "whiteout":
        makeWhiteout(hostPath);
        break;
    }
  }
}

/** Creates an overlayfs whiteout (character device 0/0) with coreutils mknod. */
export function makeWhiteout(hostPath: string): void {
  execFileSync("mknod", [hostPath, "c", "0", "0"]);
}

/** Builds base and upper layers under `dir` and returns their directories. */
export function buildLayers(
  dir: string,
  trees: readonly (readonly TreeEntry[])[],
): { base: string; layers: string[] } {
  const roots = trees.map((tree, i) => {
    const root = join(dir, `layer${i}`);
    buildTree(root, tree);
    return root;
  });
  return { base: roots[0]!, layers: roots.slice(1) };
}
