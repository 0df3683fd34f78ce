import { beforeEach, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { LayerStack, writeIndex } from "../../../overlay/src/index.js";
import { makeTempDir, runCore, type CoreRun } from "./run-core.js";

// Real programs on a layered filesystem: the base is the real root, two
// parent layers hold files below the project directory, which exists in
// the base, and --upper receives every change. The project directory is
// the cwd, so these tests need no exec or chdir into an upper layer.

interface Layers {
  project: string; // a real directory, the same path on the merged view
  parents: string[]; // files/ of parent 1 and parent 2
  upper: string;
  indexFile: string;
}

let layers: Layers;

function write(root: string, path: string, content: string): void {
  const file = join(root, layers.project, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function makeLayers(): Layers {
  const work = makeTempDir("uwrx-layers-run-");
  const project = makeTempDir("uwrx-layers-project-");
  const parents = [join(work, "p1"), join(work, "p2")];
  for (const dir of parents) mkdirSync(dir);
  const upper = join(work, "upper");
  mkdirSync(upper);
  const indexFile = join(work, "layers.idx");
  return { project, parents, upper, indexFile };
}

function finishIndex(): void {
  // The last layer of a stack is the writable one.
  const stack = new LayerStack({ layers: [...layers.parents, layers.upper], base: "/" });
  writeIndex(stack, layers.indexFile);
}

// Lists a real directory recursively with sizes and mtimes, to show that
// a run left it unchanged.
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .sort()
    .map((name) => {
      const st = lstatSync(join(dir, name));
      return `${name} ${st.mode} ${st.size} ${st.mtimeMs}`;
    });
}

async function runLayered(script: string, coreArgs: string[] = []): Promise<CoreRun> {
  return runCore(["sh", "-c", script], {
    cwd: layers.project,
    timeoutMs: 60000,
    coreArgs: ["--upper", layers.upper, "--layer-index", layers.indexFile, ...coreArgs],
  });
}

function inUpper(path: string): string {
  return join(layers.upper, layers.project, path);
}

function isWhiteout(path: string): boolean {
  const st = lstatSync(path);
  return st.isCharacterDevice() && st.rdev === 0;
}

beforeEach(() => {
  layers = makeLayers();
});

describe("layered file calls", () => {
  test("append copies a parent file up", async () => {
    write(layers.parents[0]!, "notes.txt", "one\n");
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("echo two >> notes.txt && cat notes.txt");
    expect(run.stdout).toBe("one\ntwo\n");
    expect(readFileSync(inUpper("notes.txt"), "utf8")).toBe("one\ntwo\n");
    expect(readFileSync(join(layers.parents[0]!, layers.project, "notes.txt"), "utf8")).toBe("one\n");
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("rm of a base file leaves a whiteout", async () => {
    writeFileSync(join(layers.project, "base.txt"), "base\n");
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("rm base.txt && test ! -e base.txt && echo gone");
    expect(run.stdout).toBe("gone\n");
    expect(isWhiteout(inUpper("base.txt"))).toBe(true);
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("mv moves a parent file across layers", async () => {
    write(layers.parents[1]!, "old.txt", "moved\n");
    finishIndex();
    const run = await runLayered("mv old.txt new.txt && cat new.txt && test ! -e old.txt && echo ok");
    expect(run.stdout).toBe("moved\nok\n");
    expect(isWhiteout(inUpper("old.txt"))).toBe(true);
    expect(readFileSync(inUpper("new.txt"), "utf8")).toBe("moved\n");
    expect(readdirSync(layers.project)).toEqual([]);
  });

  test("tar x then tar c", async () => {
    const source = makeTempDir("uwrx-layers-tar-");
    mkdirSync(join(source, "pkg/sub"), { recursive: true });
    writeFileSync(join(source, "pkg/a.txt"), "a\n");
    writeFileSync(join(source, "pkg/sub/b.txt"), "b\n");
    execFileSync("tar", ["cf", join(layers.project, "in.tar"), "-C", source, "pkg"]);
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("tar xf in.tar && tar cf out.tar pkg && tar tf out.tar | sort");
    expect(run.stdout).toBe("pkg/\npkg/a.txt\npkg/sub/\npkg/sub/b.txt\n");
    expect(readFileSync(inUpper("pkg/sub/b.txt"), "utf8")).toBe("b\n");
    expect(existsSync(inUpper("out.tar"))).toBe(true);
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("cp -a copies a parent directory", async () => {
    write(layers.parents[0]!, "lib/x.h", "x\n");
    write(layers.parents[0]!, "lib/y.h", "y\n");
    finishIndex();
    const run = await runLayered("cp -a lib lib2 && cat lib2/x.h lib2/y.h");
    expect(run.stdout).toBe("x\ny\n");
    expect(readdirSync(inUpper("lib2")).sort()).toEqual(["x.h", "y.h"]);
    expect(readdirSync(layers.project)).toEqual([]);
  });

  test("gcc writes its object to the upper layer", async () => {
    write(layers.parents[1]!, "hello.c", "int main(void) { return 0; }\n");
    finishIndex();
    const run = await runLayered("gcc -c hello.c -o hello.o && echo built");
    expect(run.stdout).toBe("built\n");
    expect(lstatSync(inUpper("hello.o")).size).toBeGreaterThan(0);
    expect(readdirSync(layers.project)).toEqual([]);
  });

  test("parent layer count must match", async () => {
    finishIndex();
    const run = await runLayered("true", ["--seed", "1".repeat(64), "--parent-layers", "1"]);
    expect(run.status).toBe(125);
    expect(run.stderr).toContain("--parent-layers 2");
  });
});
