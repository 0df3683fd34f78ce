import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import {
  INDEX_SLOT_BYTES,
  LayerStack,
  fnv1a64,
  hashPath,
  readIndex,
  writeIndex,
} from "../src/index.js";
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

describe("fnv1a64", () => {
  test("matches published values", () => {
    // Widely published FNV-1a 64 values of "", "a" and "foobar".
    expect(fnv1a64(new Uint8Array())).toBe(0xcbf29ce484222325n);
    expect(fnv1a64(Buffer.from("a"))).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64(Buffer.from("foobar"))).toBe(0x85944171f73967e8n);
  });
});

describe("index", () => {
  test("round trip keeps layers and entries", () => {
    const roots = buildLayers(dir, [
      [{ path: "/usr/lib/old.so", type: "file" }],
      [
        { path: "/usr/lib/old.so", type: "file" },
        { path: "/src/main.c", type: "file" },
        { path: "/src/gone.c", type: "whiteout" },
      ],
      [
        { path: "/src/main.c", type: "file" },
        { path: "/src/cc", type: "symlink", target: "../bin/gcc" },
        { path: "/usr", type: "whiteout" },
      ],
      [{ path: "/top-only", type: "file" }],
    ]);
    const stack = new LayerStack({ ...roots, t0Ns: 100n, intervalNs: 5n });
    const file = join(dir, "layers.idx");

    const written = writeIndex(stack, file);
    const index = readIndex(file);

    expect(written.entries).toBe(index.entryCount);
    expect(index.layers).toEqual(
      stack.roots.map((path, layer) => ({
        path,
        timeNs: 100n + BigInt(layer) * 5n,
      })),
    );
    const byPath = Object.fromEntries(
      index
        .entries()
        .map((entry) => [
          entry.path,
          { layer: entry.layer, type: entry.type, target: entry.target },
        ]),
    );
    expect(byPath).toEqual({
      "/src": { layer: 2, type: "directory", target: undefined },
      "/src/cc": { layer: 2, type: "symlink", target: "../bin/gcc" },
      "/src/gone.c": { layer: 1, type: "whiteout", target: undefined },
      "/src/main.c": { layer: 2, type: "file", target: undefined },
      "/usr": { layer: 2, type: "whiteout", target: undefined },
    });
    expect(index.lookup("/src/cc")?.target).toBe("../bin/gcc");
    expect(index.lookup("/top-only")).toBeUndefined();
    expect(index.lookup("/usr/lib/old.so")).toBeUndefined();
  });

  test("recreated directory is marked opaque", () => {
    const roots = buildLayers(dir, [
      [],
      [{ path: "/d", type: "file" }],
      [
        { path: "/d/x", type: "file" },
        { path: "/e/y", type: "file" },
      ],
      [],
    ]);
    const file = join(dir, "layers.idx");
    writeIndex(new LayerStack(roots), file);
    const index = readIndex(file);

    expect(index.lookup("/d")).toMatchObject({
      type: "directory",
      layer: 2,
      opaque: true,
    });
    expect(index.lookup("/e")).toMatchObject({
      type: "directory",
      opaque: false,
    });
  });

  test("colliding slots are probed", () => {
    const tree: TreeEntry[] = [];
    for (let i = 0; i < 60; i++) tree.push({ path: `/f${i}`, type: "file" });
    const roots = buildLayers(dir, [[], tree, []]);
    const file = join(dir, "layers.idx");

    writeIndex(new LayerStack(roots), file);
    const index = readIndex(file);
    const mask = BigInt(index.slotCount - 1);
    const displaced = index
      .entries()
      .filter((entry) => BigInt(entry.slot) !== (entry.hash & mask));

    expect(index.slotCount).toBe(128);
    expect(displaced.length).toBeGreaterThan(0);
    for (const entry of tree) {
      expect(index.lookup(entry.path)?.path).toBe(entry.path);
      expect(index.lookup(entry.path)?.hash).toBe(hashPath(entry.path));
    }
    expect(index.lookup("/f60")).toBeUndefined();
  });

  test("probe skips an equal hash with another path", () => {
    const roots = buildLayers(dir, [
      [],
      [
        { path: "/a", type: "file" },
        { path: "/b", type: "file" },
      ],
      [],
    ]);
    const file = join(dir, "layers.idx");
    writeIndex(new LayerStack(roots), file);
    const bytes = readFileSync(file);
    const slotOffset = Number(bytes.readBigUInt64LE(40));
    const original = readIndex(file);
    const slotA = original.lookup("/a")!.slot;
    const slotB = original.lookup("/b")!.slot;

    // Turn "/a" into a full 64-bit collision of "/b" placed first in the
    // probe sequence, so finding "/b" must compare the path and go on.
    const mask = original.slotCount - 1;
    const next = (slotB + 1) & mask;
    const slotBytes = (slot: number) => slotOffset + slot * INDEX_SLOT_BYTES;
    const rawA = Buffer.from(
      bytes.subarray(slotBytes(slotA), slotBytes(slotA) + INDEX_SLOT_BYTES),
    );
    const rawB = Buffer.from(
      bytes.subarray(slotBytes(slotB), slotBytes(slotB) + INDEX_SLOT_BYTES),
    );
    bytes.fill(0, slotBytes(slotA), slotBytes(slotA) + INDEX_SLOT_BYTES);
    expect(bytes.readUInt8(slotBytes(next) + 26)).toBe(0);
    rawA.writeBigUInt64LE(hashPath("/b"), 0);
    rawA.copy(bytes, slotBytes(slotB));
    rawB.copy(bytes, slotBytes(next));
    writeFileSync(file, bytes);
    const index = readIndex(file);

    expect(index.lookup("/b")?.slot).toBe(next);
    expect(index.lookup("/b")?.path).toBe("/b");
    expect(index.lookup("/a")).toBeUndefined();
  });

  test("no temporary file is left", () => {
    const roots = buildLayers(dir, [[], [{ path: "/a", type: "file" }], []]);
    writeIndex(new LayerStack(roots), join(dir, "layers.idx"));

    expect(
      readdirSync(dir).filter((name) => name.startsWith("layers.idx")),
    ).toEqual(["layers.idx"]);
  });

  test("bad magic is rejected", () => {
    const file = join(dir, "bad.idx");
    writeFileSync(file, Buffer.alloc(64));

    expect(() => readIndex(file)).toThrow(/magic/);
  });

  test("truncated file is rejected", () => {
    const roots = buildLayers(dir, [[], [{ path: "/a", type: "file" }], []]);
    const file = join(dir, "layers.idx");
    writeIndex(new LayerStack(roots), file);
    writeFileSync(file, readFileSync(file).subarray(0, 100));

    expect(() => readIndex(file)).toThrow(/runs past the end/);
  });
});
