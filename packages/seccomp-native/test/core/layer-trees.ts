// Builds the layer trees of the shared overlay vectors on disk and
// compiles the C driver of native/layer-index.c and native/overlay.c.
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LayerStack, writeIndex } from "../../../overlay/src/index.js";
import { makeTempDir } from "./run-core.js";

export const root = join(dirname(fileURLToPath(import.meta.url)), "../../../..");

export interface VectorEntry {
  path: string;
  type: "file" | "directory" | "symlink" | "whiteout";
  content?: string;
  target?: string;
}

export interface VectorCase {
  name: string;
  layers: VectorEntry[][];
  queries: {
    op: "resolve" | "readdir";
    path: string;
    noFollow?: boolean;
    expected: unknown;
  }[];
}

export function loadVectorCases(): VectorCase[] {
  const file = join(root, "packages/overlay/vectors/layer-vectors.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { cases: VectorCase[] }).cases;
}

// Creates a whiteout: a character device 0/0, as overlayfs records a
// deletion. mknod(1) is used because Node has no mknod.
export function makeWhiteout(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  execFileSync("mknod", [path, "c", "0", "0"]);
}

export function writeEntry(layerDir: string, entry: VectorEntry): void {
  const host = join(layerDir, entry.path);
  mkdirSync(dirname(host), { recursive: true });
  if (entry.type === "file") writeFileSync(host, entry.content ?? "");
  else if (entry.type === "directory") mkdirSync(host, { recursive: true });
  else if (entry.type === "symlink") symlinkSync(entry.target!, host);
  else makeWhiteout(host);
}

export interface BuiltStack {
  dirs: string[]; // base first, writable layer last
  indexFile: string;
  stack: LayerStack;
}

// Writes each layer of a vector case into its own directory and the
// index of the stack, with the base at dirs[0] instead of "/".
export function buildStack(layers: VectorEntry[][]): BuiltStack {
  const work = makeTempDir("uwrx-layers-");
  const dirs = layers.map((entries, i) => {
    const dir = join(work, `layer${i}`);
    mkdirSync(dir);
    for (const entry of entries) writeEntry(dir, entry);
    return dir;
  });
  const stack = new LayerStack({ layers: dirs.slice(1), base: dirs[0]! });
  const indexFile = join(work, "layers.idx");
  writeIndex(stack, indexFile);
  return { dirs, indexFile, stack };
}

export function compileLayersDriver(): string {
  const driver = join(makeTempDir("uwrx-layers-driver-"), "layers-driver");
  const sources = ["tests/layers-driver.c", "layer-index.c", "overlay.c"];
  execFileSync("gcc", [
    "-std=gnu11",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-o",
    driver,
    ...sources.map((file) => join(root, "native", file)),
  ]);
  return driver;
}

// Sends requests to the driver and returns each answer's lines.
export function askDriver(driver: string, args: string[], requests: string[]): string[][] {
  const output = execFileSync(driver, args, { input: requests.map((r) => `${r}\n`).join("") });
  const answers: string[][] = [[]];
  for (const line of output.toString().split("\n").slice(0, -1)) {
    if (line === "end") answers.push([]);
    else answers[answers.length - 1]!.push(line);
  }
  return answers.slice(0, -1);
}
