import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";

import { LayerStack, isOverlayError } from "../src/index.js";
import {
  buildLayers,
  makeTemp,
  removeTemp,
  type TreeEntry,
} from "./helpers.js";

let dir: string;
beforeEach(() => {
  dir = makeTemp();
});
afterEach(() => {
  removeTemp(dir);
});

function stackOf(...trees: TreeEntry[][]): LayerStack {
  return new LayerStack(buildLayers(dir, trees));
}

describe("resolve", () => {
  test("finds the topmost of three layers", () => {
    const stack = stackOf(
      [
        { path: "/src/a.c", type: "file", content: "base" },
        { path: "/src/only-base.c", type: "file" },
      ],
      [{ path: "/src/a.c", type: "file", content: "parent" }],
      [{ path: "/src/b.c", type: "file" }],
    );

    const a = stack.resolve("/src/a.c");
    expect(a).toEqual({
      kind: "found",
      layer: 1,
      hostPath: `${dir}/layer1/src/a.c`,
      type: "file",
      path: "/src/a.c",
    });
    expect(stack.resolve("/src/only-base.c")).toMatchObject({ layer: 0 });
    expect(stack.resolve("/src/b.c")).toMatchObject({ layer: 2 });
    expect(stack.resolve("/src")).toMatchObject({
      type: "directory",
      layer: 2,
    });
    expect(stack.resolve("/src/missing.c")).toEqual({
      kind: "absent",
      errno: "ENOENT",
    });
  });

  test("whiteout hides a lower file", () => {
    const stack = stackOf(
      [{ path: "/etc/conf", type: "file" }],
      [{ path: "/etc/conf", type: "whiteout" }],
      [{ path: "/etc", type: "directory" }],
    );

    expect(stack.resolve("/etc/conf")).toEqual({
      kind: "whiteout",
      layer: 1,
      path: "/etc/conf",
    });
  });

  test("whiteout hides a lower directory", () => {
    const stack = stackOf(
      [{ path: "/build/obj/x.o", type: "file" }],
      [{ path: "/build/obj", type: "whiteout" }],
      [],
    );

    expect(stack.resolve("/build/obj")).toMatchObject({
      kind: "whiteout",
      layer: 1,
    });
    expect(stack.resolve("/build/obj/x.o")).toEqual({
      kind: "absent",
      errno: "ENOENT",
    });
  });

  test("recreated directory stops the merge", () => {
    const stack = stackOf(
      [{ path: "/d/old", type: "file" }],
      [{ path: "/d", type: "whiteout" }],
      [{ path: "/d/new", type: "file" }],
    );

    expect(stack.resolve("/d/new")).toMatchObject({ kind: "found", layer: 2 });
    expect(stack.resolve("/d/old")).toEqual({
      kind: "absent",
      errno: "ENOENT",
    });
  });

  test("file in upper layer hides lower directory", () => {
    const stack = stackOf(
      [{ path: "/x/inner", type: "file" }],
      [{ path: "/x", type: "file" }],
      [],
    );

    expect(stack.resolve("/x")).toMatchObject({ type: "file", layer: 1 });
    expect(stack.resolve("/x/inner")).toEqual({
      kind: "absent",
      errno: "ENOTDIR",
    });
  });

  test("relative symlink resolves on merged parent", () => {
    const stack = stackOf(
      [{ path: "/lib/libz.so.1", type: "file" }],
      [{ path: "/lib/libz.so", type: "symlink", target: "libz.so.1" }],
      [],
    );

    expect(stack.resolve("/lib/libz.so")).toMatchObject({
      kind: "found",
      layer: 0,
      path: "/lib/libz.so.1",
    });
    expect(stack.resolve("/lib/libz.so", { noFollow: true })).toMatchObject({
      type: "symlink",
      layer: 1,
      path: "/lib/libz.so",
    });
  });

  test("absolute symlink starts at merged root", () => {
    const stack = stackOf(
      [{ path: "/opt/tool/bin", type: "directory" }],
      [
        {
          path: "/usr/bin/tool",
          type: "symlink",
          target: "/opt/tool/bin/tool",
        },
      ],
      [{ path: "/opt/tool/bin/tool", type: "file" }],
    );

    expect(stack.resolve("/usr/bin/tool")).toMatchObject({
      layer: 2,
      path: "/opt/tool/bin/tool",
      hostPath: `${dir}/layer2/opt/tool/bin/tool`,
    });
  });

  test("symlinked directory in middle of path", () => {
    const stack = stackOf(
      [{ path: "/real/file", type: "file" }],
      [],
      [{ path: "/alias", type: "symlink", target: "real" }],
    );

    expect(stack.resolve("/alias/file")).toMatchObject({
      layer: 0,
      path: "/real/file",
    });
    expect(stack.resolve("/alias/", { noFollow: true })).toMatchObject({
      type: "directory",
      path: "/real",
    });
  });

  test("symlink loop throws ELOOP", () => {
    const stack = stackOf(
      [{ path: "/a", type: "symlink", target: "b" }],
      [{ path: "/b", type: "symlink", target: "/a" }],
      [],
    );

    let caught: unknown;
    try {
      stack.resolve("/a");
    } catch (error) {
      caught = error;
    }
    expect(isOverlayError(caught)).toBe(true);
    expect((caught as { code: string }).code).toBe("ELOOP");
    expect(stack.resolve("/a", { noFollow: true })).toMatchObject({
      type: "symlink",
      layer: 0,
    });
  });

  test("forty symlinks resolve, forty-one fail", () => {
    const chain: TreeEntry[] = [{ path: "/end", type: "file" }];
    for (let i = 0; i < 41; i++) {
      chain.push({
        path: `/l${i}`,
        type: "symlink",
        target: i === 0 ? "end" : `l${i - 1}`,
      });
    }
    const stack = stackOf(chain, []);

    expect(stack.resolve("/l39")).toMatchObject({ path: "/end" });
    expect(() => stack.resolve("/l40")).toThrow(/ELOOP/);
  });

  test("dot-dot walks the merged view", () => {
    const stack = stackOf(
      [{ path: "/proj/include/h.h", type: "file" }],
      [{ path: "/proj/src/main.c", type: "file" }],
      [{ path: "/proj/link", type: "symlink", target: "/proj/src" }],
    );

    expect(stack.resolve("/proj/src/../include/h.h")).toMatchObject({
      layer: 0,
      path: "/proj/include/h.h",
    });
    expect(stack.resolve("/proj/link/../include/h.h")).toMatchObject({
      path: "/proj/include/h.h",
    });
    expect(stack.resolve("/../../proj/./src/main.c")).toMatchObject({
      layer: 1,
    });
    expect(stack.resolve("/proj/src/main.c/..")).toEqual({
      kind: "absent",
      errno: "ENOTDIR",
    });
  });

  test("relative path is rejected", () => {
    const stack = stackOf([], []);

    expect(() => stack.resolve("src/a.c")).toThrow(/absolute path/);
  });

  test("trailing slash on a file is ENOTDIR", () => {
    const stack = stackOf([{ path: "/f", type: "file" }], []);

    expect(stack.resolve("/f/")).toEqual({ kind: "absent", errno: "ENOTDIR" });
  });
});
