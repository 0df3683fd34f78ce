import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { chmodSync } from "node:fs";

import { LayerStack } from "../src/index.js";
import { buildLayers, makeTemp, removeTemp } from "./helpers.js";

let dir: string;
beforeEach(() => {
  dir = makeTemp();
});
afterEach(() => {
  removeTemp(dir);
});

describe("readdir", () => {
  test("merges layers minus whiteouts", () => {
    const roots = buildLayers(dir, [
      [
        { path: "/src/a.c", type: "file" },
        { path: "/src/gone.c", type: "file" },
        { path: "/src/sub/x", type: "file" },
      ],
      [
        { path: "/src/gone.c", type: "whiteout" },
        { path: "/src/b.c", type: "file" },
        { path: "/src/sub", type: "symlink", target: "/elsewhere" },
      ],
      [
        { path: "/src/c.c", type: "file" },
        { path: "/src/a.c", type: "directory" },
      ],
    ]);
    const stack = new LayerStack(roots);

    expect(stack.readdir("/src")).toEqual([
      { name: "a.c", type: "directory", layer: 2 },
      { name: "b.c", type: "file", layer: 1 },
      { name: "c.c", type: "file", layer: 2 },
      { name: "sub", type: "symlink", layer: 1 },
    ]);
  });

  test("non-directory hides lower directory", () => {
    const roots = buildLayers(dir, [
      [{ path: "/d/base-only", type: "file" }],
      [{ path: "/d", type: "file" }],
      [{ path: "/d/top", type: "file" }],
    ]);
    const stack = new LayerStack(roots);

    expect(stack.readdir("/d")).toEqual([
      { name: "top", type: "file", layer: 2 },
    ]);
  });

  test("whiteout in the middle cuts lower layers", () => {
    const roots = buildLayers(dir, [
      [{ path: "/d/base-only", type: "file" }],
      [{ path: "/d", type: "whiteout" }],
      [{ path: "/d/top", type: "file" }],
    ]);
    const stack = new LayerStack(roots);

    expect(stack.readdir("/d").map((entry) => entry.name)).toEqual(["top"]);
  });

  test("file path throws ENOTDIR", () => {
    const stack = new LayerStack(
      buildLayers(dir, [[{ path: "/f", type: "file" }], []]),
    );

    expect(() => stack.readdir("/f")).toThrow(/ENOTDIR/);
    expect(() => stack.readdir("/missing")).toThrow(/ENOENT/);
  });
});

describe("stat", () => {
  test("timestamps follow the layer", () => {
    const roots = buildLayers(dir, [
      [{ path: "/a", type: "file" }],
      [{ path: "/b", type: "file" }],
      [{ path: "/c", type: "file", content: "12345" }],
    ]);
    const stack = new LayerStack({ ...roots, t0Ns: 1_000n, intervalNs: 10n });

    expect(stack.stat("/a").mtimeNs).toBe(1_000n);
    expect(stack.stat("/b").mtimeNs).toBe(1_010n);
    const top = stack.stat("/c");
    expect(top.mtimeNs).toBe(1_020n);
    expect(top.atimeNs).toBe(1_020n);
    expect(top.ctimeNs).toBe(1_020n);
    expect(top.size).toBe(5n);
  });

  test("defaults start at 2000 with 1 s", () => {
    const roots = buildLayers(dir, [[], [{ path: "/f", type: "file" }]]);
    const stack = new LayerStack(roots);

    expect(stack.stat("/f").mtimeNs).toBe(946_684_801_000_000_000n);
    expect(stack.stat("/").mtimeNs).toBe(946_684_801_000_000_000n);
  });

  test("mode comes from the host file", () => {
    const roots = buildLayers(dir, [[], [{ path: "/run.sh", type: "file" }]]);
    chmodSync(`${roots.layers[0]}/run.sh`, 0o751);
    const stack = new LayerStack(roots);

    const stats = stack.stat("/run.sh");
    expect(stats.mode & 0o7777).toBe(0o751);
    expect(stats.mode & 0o170000).toBe(0o100000);
  });

  test("noFollow reports the symlink", () => {
    const roots = buildLayers(dir, [
      [{ path: "/target", type: "file" }],
      [{ path: "/link", type: "symlink", target: "target" }],
    ]);
    const stack = new LayerStack(roots);

    expect(stack.stat("/link").layer).toBe(0);
    expect(stack.stat("/link", { noFollow: true })).toMatchObject({
      layer: 1,
      type: "symlink",
    });
  });

  test("whited-out path throws ENOENT", () => {
    const roots = buildLayers(dir, [
      [{ path: "/old", type: "file" }],
      [{ path: "/old", type: "whiteout" }],
    ]);
    const stack = new LayerStack(roots);

    expect(() => stack.stat("/old")).toThrow(/whiteout in layer 1/);
  });

  test("negative interval is rejected", () => {
    expect(() => new LayerStack({ layers: ["/tmp"], intervalNs: -1n })).toThrow(
      /intervalNs/,
    );
  });
});
