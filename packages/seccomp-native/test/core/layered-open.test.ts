import { beforeEach, describe, expect, test } from "@jest/globals";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { LayerStack, writeIndex } from "../../../overlay/src/index.js";
import { eventsNamed, makeTempDir, runCore, type CoreRun } from "./run-core.js";

// Read-only opens on the layered filesystem: the core leaves an open of a
// base file to the kernel (recorded as found) only where the kernel's own
// walk reaches that file, and injects the layer's file otherwise. The
// base is the real root, with one parent layer and the upper layer.

interface Layers {
  project: string; // a real directory, the same path on the merged view
  parent: string; // files/ of the one parent layer
  upper: string;
  indexFile: string;
}

let layers: Layers;

beforeEach(() => {
  const work = makeTempDir("uwrx-layered-open-");
  layers = {
    project: makeTempDir("uwrx-layered-open-project-"),
    parent: join(work, "p1"),
    upper: join(work, "upper"),
    indexFile: join(work, "layers.idx"),
  };
  mkdirSync(layers.parent);
  mkdirSync(layers.upper);
});

function writeBase(path: string, content: string): void {
  const file = join(layers.project, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function writeParent(path: string, content: string): void {
  const file = join(layers.parent, layers.project, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function symlinkParent(path: string, target: string): void {
  const link = join(layers.parent, layers.project, path);
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(target, link);
}

function finishIndex(): void {
  const stack = new LayerStack({ layers: [layers.parent, layers.upper], base: "/" });
  writeIndex(stack, layers.indexFile);
}

async function runLayered(script: string): Promise<CoreRun> {
  return runCore(["sh", "-c", script], {
    cwd: layers.project,
    timeoutMs: 60000,
    coreArgs: ["--upper", layers.upper, "--layer-index", layers.indexFile],
  });
}

function openEvent(run: CoreRun, path: string) {
  return eventsNamed(run, "openat").find((e) => e.annotations.get("path") === path);
}

describe("layered read-only open", () => {
  test("base file by absolute path is found", async () => {
    writeBase("base.txt", "base\n");
    finishIndex();
    const file = join(layers.project, "base.txt");
    const run = await runLayered(`cat ${file}`);
    const event = openEvent(run, file);
    expect(run.stdout).toBe("base\n");
    expect(event?.annotations.get("found")).toBe(true);
    expect(event?.annotations.has("result")).toBe(false);
  });

  test("base file by relative path is found", async () => {
    writeBase("sub/base.txt", "base\n");
    writeBase("sub/dir/keep", "");
    finishIndex();
    const run = await runLayered("cat sub/base.txt && cd sub/dir && cat ../base.txt");
    expect(run.stdout).toBe("base\nbase\n");
    expect(openEvent(run, "sub/base.txt")?.annotations.get("found")).toBe(true);
    expect(openEvent(run, "../base.txt")?.annotations.get("found")).toBe(true);
  });

  test("base directory is found", async () => {
    writeBase("only-base/entry", "");
    finishIndex();
    const run = await runLayered("ls only-base");
    expect(run.stdout).toBe("entry\n");
    expect(openEvent(run, "only-base")?.annotations.get("found")).toBe(true);
  });

  test("shadowed base file reads the layer", async () => {
    writeBase("shadow.txt", "base\n");
    writeParent("shadow.txt", "parent\n");
    finishIndex();
    const run = await runLayered("cat shadow.txt");
    const event = openEvent(run, "shadow.txt");
    expect(run.stdout).toBe("parent\n");
    expect(event?.annotations.has("found")).toBe(false);
    expect(event?.annotations.get("result")).toBe(3n);
  });

  test("upper symlink over a base directory", async () => {
    // The base's own sw/ would give the kernel the wrong file.
    writeBase("sw/a.txt", "wrong\n");
    writeBase("other/a.txt", "other\n");
    symlinkParent("sw", "other");
    finishIndex();
    const run = await runLayered("cat sw/a.txt");
    const event = openEvent(run, "sw/a.txt");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("other\n");
    expect(event?.annotations.has("found")).toBe(false);
    expect(event?.annotations.get("result")).toBe(3n);
  });

  test("dot-dot after an upper-only directory", async () => {
    // The real tree has no up-only/, so the kernel's walk would fail.
    writeBase("base.txt", "base\n");
    writeParent("up-only/keep", "");
    finishIndex();
    const run = await runLayered("cat up-only/../base.txt");
    const event = openEvent(run, "up-only/../base.txt");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("base\n");
    expect(event?.annotations.has("found")).toBe(false);
    expect(event?.annotations.get("result")).toBe(3n);
  });

  test("relative open from an upper-only cwd", async () => {
    // The real cwd is a directory of the parent layer, where ../base.txt
    // does not exist.
    writeBase("base.txt", "base\n");
    writeParent("up-only/keep", "");
    finishIndex();
    const run = await runLayered("cd up-only && cat ../base.txt");
    const event = openEvent(run, "../base.txt");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("base\n");
    expect(event?.annotations.has("found")).toBe(false);
    expect(event?.annotations.get("result")).toBe(3n);
  });

  test("relative open from a merged cwd", async () => {
    writeBase("merged/base.txt", "base\n");
    writeParent("merged/parent.txt", "parent\n");
    finishIndex();
    const run = await runLayered("cd merged && cat base.txt parent.txt");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("base\nparent\n");
  });

  test("O_PATH from an upper-only cwd", async () => {
    // 0x200000 is O_PATH on x86-64 and arm64. Left to the kernel, the
    // open would find nothing from the parent layer's directory.
    writeBase("base.txt", "base\n");
    writeParent("up-only/keep", "");
    finishIndex();
    const script = "use Fcntl; sysopen(F, $ARGV[0], 0x200000) or die qq($!\\n); print qq(ok\\n);";
    const run = await runLayered(`cd up-only && perl -e '${script}' ../base.txt`);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("ok\n");
  });
});
