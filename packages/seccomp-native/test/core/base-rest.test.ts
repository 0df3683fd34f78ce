import { beforeAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LayerStack, writeIndex } from "../../../overlay/src/index.js";
import { askDriver, buildStack, compileLayersDriver, makeWhiteout, type VectorEntry } from "./layer-trees.js";
import { makeTempDir, runCore } from "./run-core.js";

// The walk resolves the rest of a path in the base with one openat2 once
// no upper layer has the prefix. These cases put a symlink, a whiteout or
// a new top-layer directory below such a prefix, where the one-call
// lookup alone would give the wrong answer.

let driver = "";

beforeAll(() => {
  driver = compileLayersDriver();
});

// Sends the requests to the driver on a stack of base and writable layer
// (or base, parents and writable layer) and returns one line per request.
function ask(layers: VectorEntry[][], requests: string[]): string[] {
  const built = buildStack(layers);
  const answers = askDriver(driver, [built.indexFile, built.dirs.at(-1)!], requests);
  return answers.map((lines) => lines.join("|"));
}

describe("base rest in the driver", () => {
  const base: VectorEntry[] = [
    { path: "d/a/b/file", type: "file", content: "base" },
    { path: "d/a/b/abs", type: "symlink", target: "/up" },
    { path: "d/a/b/rel", type: "symlink", target: "../../../up" },
    { path: "up/x/y/f", type: "file", content: "base" },
    { path: "up/x/y/only-base", type: "file", content: "base" },
  ];
  const parent: VectorEntry[] = [{ path: "up/x/y/f", type: "file", content: "parent" }];

  test("absolute base symlink into a parent directory", () => {
    const answers = ask([base, parent, []], [
      "resolve /d/a/b/abs/x/y/f",
      "resolve /d/a/b/abs/x/y/only-base",
      "resolve /d/a/b/abs",
      "lresolve /d/a/b/abs",
      "lresolve /d/a/b/abs/.",
      "resolve /d/a/./b/abs/x/./y/f",
    ]);
    expect(answers[0]).toBe("found 1 file /up/x/y/f");
    expect(answers[1]).toBe("found 0 file /up/x/y/only-base");
    expect(answers[2]).toBe("found 1 directory /up");
    expect(answers[3]).toBe("found 0 symlink /d/a/b/abs");
    expect(answers[4]).toBe("found 1 directory /up");
    expect(answers[5]).toBe("found 1 file /up/x/y/f");
  });

  test("relative base symlink into a parent directory", () => {
    const answers = ask([base, parent, []], [
      "resolve /d/a/b/rel/x/y/f",
      "resolve /d/a/b/rel/x/y/missing",
      "resolve /d/a/b/rel",
      "resolve /d/a/b/rel/",
    ]);
    expect(answers[0]).toBe("found 1 file /up/x/y/f");
    expect(answers[1]).toBe("absent ENOENT");
    expect(answers[2]).toBe("found 1 directory /up");
    expect(answers[3]).toBe("found 1 directory /up");
  });

  test("base-only paths keep the walk's answers", () => {
    const answers = ask([base, parent, []], [
      "resolve /d/a/b/file",
      "resolve /d/a/./b//file",
      "resolve /d/a/b/../b/file",
      "resolve /d/a/b/file/",
      "resolve /d/a/b/file/.",
      "resolve /d/a/b/file/x",
      "resolve /d/a/missing/x",
      "resolve /d/a/b/",
    ]);
    expect(answers[0]).toBe("found 0 file /d/a/b/file");
    expect(answers[1]).toBe("found 0 file /d/a/b/file");
    expect(answers[2]).toBe("found 0 file /d/a/b/file");
    expect(answers[3]).toBe("absent ENOTDIR");
    expect(answers[4]).toBe("absent ENOTDIR");
    expect(answers[5]).toBe("absent ENOTDIR");
    expect(answers[6]).toBe("absent ENOENT");
    expect(answers[7]).toBe("found 0 directory /d/a/b");
  });

  test("prefix created in the top layer", () => {
    const answers = ask(
      [[{ path: "s/a/b/f", type: "file" }, { path: "s/a/b/g", type: "file" }], []],
      ["resolve /s/a/b/f", "whiteout /s/a/b/f", "resolve /s/a/b/f", "resolve /s/a/b/g", "resolve /s/a/b", "readdir /s/a/b"],
    );
    expect(answers[0]).toBe("found 0 file /s/a/b/f");
    expect(answers[1]).toBe("ok");
    expect(answers[2]).toBe("whiteout 1 /s/a/b/f");
    expect(answers[3]).toBe("found 0 file /s/a/b/g");
    expect(answers[4]).toBe("found 1 directory /s/a/b");
    expect(answers[5]).toBe("g file 0");
  });

  test("whiteout deeper in a parent layer", () => {
    const answers = ask(
      [[{ path: "w/a/b/c/d/f", type: "file" }], [{ path: "w/a/b/c", type: "whiteout" }], []],
      ["resolve /w/a/b/c/d/f", "resolve /w/a/b/c", "resolve /w/a/b"],
    );
    expect(answers[0]).toBe("absent ENOENT");
    expect(answers[1]).toBe("whiteout 1 /w/a/b/c");
    expect(answers[2]).toBe("found 1 directory /w/a/b");
  });

  test("whiteout deeper in the base", () => {
    const answers = ask(
      [[{ path: "v/a/b", type: "whiteout" }, { path: "v/a/c/d/f", type: "file" }], []],
      ["resolve /v/a/b/c/d", "lresolve /v/a/b", "resolve /v/a/c/d/f"],
    );
    expect(answers[0]).toBe("absent ENOENT");
    expect(answers[1]).toBe("whiteout 0 /v/a/b");
    expect(answers[2]).toBe("found 0 file /v/a/c/d/f");
  });

  test("whiteout deeper in the top layer", () => {
    const answers = ask(
      [[{ path: "u/a/b/c/f", type: "file" }, { path: "u/a/x/y", type: "file" }], []],
      ["resolve /u/a/b/c/f", "whiteout /u/a/b", "resolve /u/a/b/c/f", "resolve /u/a/x/y"],
    );
    expect(answers[0]).toBe("found 0 file /u/a/b/c/f");
    expect(answers[1]).toBe("ok");
    expect(answers[2]).toBe("absent ENOENT");
    expect(answers[3]).toBe("found 0 file /u/a/x/y");
  });
});

describe("base rest in a run", () => {
  // The base is the real root: the project directory exists only there,
  // so every path below it starts as a base-only prefix.
  function makeProject(): { project: string; upper: string; indexFile: string } {
    const work = makeTempDir("uwrx-base-rest-");
    const project = makeTempDir("uwrx-base-rest-project-");
    const upper = join(work, "upper");
    mkdirSync(upper);
    const indexFile = join(work, "layers.idx");
    writeIndex(new LayerStack({ layers: [upper], base: "/" }), indexFile);
    return { project, upper, indexFile };
  }

  test("symlink and new directories below a base prefix", async () => {
    const { project, upper, indexFile } = makeProject();
    mkdirSync(join(project, "deep/a/b"), { recursive: true });
    mkdirSync(join(project, "tgt/x/y"), { recursive: true });
    writeFileSync(join(project, "tgt/x/y/f"), "base\n");
    writeFileSync(join(project, "deep/a/b/file"), "file\n");
    symlinkSync("../../../tgt", join(project, "deep/a/b/link"));
    const script = [
      "cat deep/a/b/link/x/y/f",
      "echo run > tgt/x/y/f",
      "cat deep/a/b/link/x/y/f",
      "mkdir -p deep/a/b/new/c && echo new > deep/a/b/new/c/g",
      "cat deep/a/b/new/c/g deep/a/b/file",
      "rm -r tgt/x",
      "test -e deep/a/b/link/x/y/f || echo gone",
    ].join(" && ");
    const run = await runCore(["sh", "-c", script], {
      cwd: project,
      timeoutMs: 60000,
      coreArgs: ["--upper", upper, "--layer-index", indexFile],
    });
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("base\nrun\nnew\nfile\ngone\n");
    expect(readFileSync(join(project, "tgt/x/y/f"), "utf8")).toBe("base\n");
    expect(readFileSync(join(upper, project, "deep/a/b/new/c/g"), "utf8")).toBe("new\n");
  });
});
