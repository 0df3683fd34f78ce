// Writes vectors/layer-vectors.json from the built library (run `tsup`
// first). The C core must return the same resolve and readdir results for
// every query, so regenerate the file only when the semantics change on
// purpose.
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { LayerStack } from "../dist/index.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(packageDir, "vectors", "layer-vectors.json");

// Each case lists its layers bottom to top (base first, writable last).
const CASES = [
  {
    name: "three layers with whiteouts",
    layers: [
      [
        { path: "/src/a.c", type: "file", content: "base a" },
        { path: "/src/gone.c", type: "file", content: "deleted later" },
        { path: "/build/obj/x.o", type: "file", content: "x" },
      ],
      [
        { path: "/src/a.c", type: "file", content: "parent a" },
        { path: "/src/gone.c", type: "whiteout" },
        { path: "/build/obj", type: "whiteout" },
      ],
      [
        { path: "/src/b.c", type: "file", content: "top b" },
        { path: "/build/obj/y.o", type: "file", content: "y" },
      ],
    ],
    resolve: [
      "/src/a.c",
      "/src/b.c",
      "/src/gone.c",
      "/build/obj/x.o",
      "/build/obj/y.o",
      "/src/missing",
    ],
    readdir: ["/src", "/build/obj"],
  },
  {
    name: "symlinks between layers",
    layers: [
      [
        { path: "/lib/libz.so.1", type: "file", content: "elf" },
        { path: "/opt/tool/bin", type: "directory" },
      ],
      [
        { path: "/lib/libz.so", type: "symlink", target: "libz.so.1" },
        {
          path: "/usr/bin/tool",
          type: "symlink",
          target: "/opt/tool/bin/tool",
        },
        { path: "/loop/a", type: "symlink", target: "b" },
      ],
      [
        { path: "/opt/tool/bin/tool", type: "file", content: "tool" },
        { path: "/loop/b", type: "symlink", target: "/loop/a" },
        { path: "/alias", type: "symlink", target: "lib" },
      ],
    ],
    resolve: [
      "/lib/libz.so",
      "/usr/bin/tool",
      "/alias/libz.so",
      "/loop/a",
      "/alias/../opt/tool/bin/tool",
    ],
    resolveNoFollow: ["/lib/libz.so", "/loop/a", "/alias/"],
    readdir: ["/lib", "/alias"],
  },
  {
    name: "directories replaced by files",
    layers: [
      [{ path: "/d/base-only", type: "file", content: "" }],
      [{ path: "/d", type: "file", content: "now a file" }],
      [
        { path: "/d/top", type: "file", content: "" },
        { path: "/e", type: "file", content: "" },
      ],
    ],
    resolve: ["/d/base-only", "/d/top", "/e/x", "/e/..", "/d/../e"],
    readdir: ["/d", "/"],
  },
];

function buildTree(root, entries) {
  mkdirSync(root, { recursive: true });
  for (const entry of entries) {
    const hostPath = join(root, entry.path);
    mkdirSync(dirname(hostPath), { recursive: true });
    if (entry.type === "file") writeFileSync(hostPath, entry.content);
    if (entry.type === "directory") mkdirSync(hostPath, { recursive: true });
    if (entry.type === "symlink") symlinkSync(entry.target, hostPath);
    if (entry.type === "whiteout")
      execFileSync("mknod", [hostPath, "c", "0", "0"]);
  }
}

// Host paths differ per machine, so results keep the layer and merged path.
function portable(result) {
  if (result.kind !== "found") return result;
  return {
    kind: "found",
    layer: result.layer,
    type: result.type,
    path: result.path,
  };
}

function run(stack, call) {
  try {
    return call();
  } catch (error) {
    return { error: error.code };
  }
}

function vectorsFor(testCase, dir) {
  const roots = testCase.layers.map((entries, i) => {
    const root = join(dir, `layer${i}`);
    buildTree(root, entries);
    return root;
  });
  const stack = new LayerStack({ base: roots[0], layers: roots.slice(1) });
  const queries = [];

  for (const path of testCase.resolve) {
    queries.push({
      op: "resolve",
      path,
      expected: run(stack, () => portable(stack.resolve(path))),
    });
  }
  for (const path of testCase.resolveNoFollow ?? []) {
    const expected = run(stack, () =>
      portable(stack.resolve(path, { noFollow: true })),
    );
    queries.push({ op: "resolve", path, noFollow: true, expected });
  }
  for (const path of testCase.readdir) {
    queries.push({
      op: "readdir",
      path,
      expected: run(stack, () => stack.readdir(path)),
    });
  }
  return { name: testCase.name, layers: testCase.layers, queries };
}

const dir = mkdtempSync(join(tmpdir(), "uwrx-layer-vectors-"));
try {
  const cases = CASES.map((testCase, i) =>
    vectorsFor(testCase, join(dir, `case${i}`)),
  );
  const document = {
    description:
      "Layer stacks (layer 0 is the base, the last layer is writable) with resolve and readdir queries and the results of @uwrx/overlay. Whiteouts are character devices 0/0. Found results carry the layer, the type and the merged path after symlinks; errors carry the errno name.",
    cases,
  };
  const temporary = `${output}.tmp`;
  writeFileSync(temporary, JSON.stringify(document, null, 2) + "\n");
  renameSync(temporary, output);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
