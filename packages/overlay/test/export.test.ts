import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

import { LayerStack, exportMerged, isOverlayError } from "../src/index.js";
import { buildLayers, makeTemp, removeTemp } from "./helpers.js";

let dir: string;
beforeEach(() => {
  dir = makeTemp();
});
afterEach(() => {
  removeTemp(dir);
});

describe("exportMerged", () => {
  test("keeps hard links of one layer as hard links", () => {
    const roots = buildLayers(dir, [
      [],
      [{ path: "/out/lib.a", type: "file", content: "archive" }],
    ]);
    mkdirSync(join(roots.layers[0]!, "out/copy"), { recursive: true });
    linkSync(join(roots.layers[0]!, "out/lib.a"), join(roots.layers[0]!, "out/copy/lib.a"));
    const dest = join(dir, "dest");
    mkdirSync(dest);

    const summary = exportMerged({ stack: new LayerStack(roots), dest });

    expect(summary.files).toBe(2);
    const first = lstatSync(join(dest, "out/lib.a"));
    const second = lstatSync(join(dest, "out/copy/lib.a"));
    expect(second.ino).toBe(first.ino);
    expect(first.nlink).toBe(2);
    expect(readFileSync(join(dest, "out/copy/lib.a"), "utf8")).toBe("archive");
  });

  test("applies files, symlinks and deletions", () => {
    const roots = buildLayers(dir, [
      [],
      [
        { path: "/src/a.c", type: "file", content: "parent a" },
        { path: "/src/old.o", type: "file", content: "old" },
        { path: "/bin/tool", type: "file", content: "#!/bin/sh\n" },
      ],
      [
        { path: "/src/a.c", type: "file", content: "top a" },
        { path: "/src/old.o", type: "whiteout" },
        { path: "/src/cc", type: "symlink", target: "../bin/tool" },
        { path: "/doc", type: "whiteout" },
      ],
    ]);
    chmodSync(join(roots.layers[0]!, "bin/tool"), 0o755);
    utimesSync(join(roots.layers[0]!, "bin/tool"), 1_000_000, 1_234_567);
    const dest = join(dir, "dest");
    mkdirSync(join(dest, "src"), { recursive: true });
    mkdirSync(join(dest, "doc/api"), { recursive: true });
    writeFileSync(join(dest, "src/old.o"), "stale");
    writeFileSync(join(dest, "src/kept.c"), "kept");

    const summary = exportMerged({ stack: new LayerStack(roots), dest });

    expect(summary).toEqual({
      files: 2,
      symlinks: 1,
      directories: 2,
      deletions: 2,
    });
    expect(readFileSync(join(dest, "src/a.c"), "utf8")).toBe("top a");
    expect(readFileSync(join(dest, "src/kept.c"), "utf8")).toBe("kept");
    expect(existsSync(join(dest, "src/old.o"))).toBe(false);
    expect(existsSync(join(dest, "doc"))).toBe(false);
    expect(readlinkSync(join(dest, "src/cc"))).toBe("../bin/tool");
    const tool = lstatSync(join(dest, "bin/tool"));
    expect(tool.mode & 0o7777).toBe(0o755);
    expect(tool.mtimeMs).toBe(1_234_567_000);
    expect(readdirSync(join(dest, "src")).sort()).toEqual([
      "a.c",
      "cc",
      "kept.c",
    ]);
  });

  test("recreated directory replaces dest contents", () => {
    const roots = buildLayers(dir, [
      [],
      [{ path: "/out", type: "whiteout" }],
      [{ path: "/out/new", type: "file", content: "new" }],
    ]);
    const dest = join(dir, "dest");
    mkdirSync(join(dest, "out"), { recursive: true });
    writeFileSync(join(dest, "out/stale"), "stale");

    exportMerged({ stack: new LayerStack(roots), dest });

    expect(readdirSync(join(dest, "out"))).toEqual(["new"]);
  });

  test("file replaces a dest directory", () => {
    const roots = buildLayers(dir, [
      [],
      [{ path: "/x", type: "file", content: "file" }],
    ]);
    const dest = join(dir, "dest");
    mkdirSync(join(dest, "x/inner"), { recursive: true });

    exportMerged({ stack: new LayerStack(roots), dest });

    expect(readFileSync(join(dest, "x"), "utf8")).toBe("file");
  });

  test("from skips lower layers", () => {
    const roots = buildLayers(dir, [
      [],
      [{ path: "/lower", type: "file" }],
      [{ path: "/upper", type: "file" }],
    ]);
    const dest = join(dir, "dest");
    mkdirSync(dest);

    exportMerged({ stack: new LayerStack(roots), dest, from: 2 });

    expect(readdirSync(dest)).toEqual(["upper"]);
  });

  test("directory mode and mtime are kept", () => {
    const roots = buildLayers(dir, [[], [{ path: "/ro/f", type: "file" }]]);
    const source = join(roots.layers[0]!, "ro");
    chmodSync(source, 0o555);
    utimesSync(source, 5, 7);
    const dest = join(dir, "dest");
    mkdirSync(dest);

    exportMerged({ stack: new LayerStack(roots), dest });

    const stats = lstatSync(join(dest, "ro"));
    expect(stats.mode & 0o7777).toBe(0o555);
    expect(stats.mtimeMs).toBe(7_000);
    expect(existsSync(join(dest, "ro/f"))).toBe(true);
  });

  test("missing dest is rejected", () => {
    const roots = buildLayers(dir, [[], []]);

    expect(() =>
      exportMerged({ stack: new LayerStack(roots), dest: join(dir, "nope") }),
    ).toThrow(/existing directory/);
  });
});

describe("exportMerged refusals", () => {
  test("FIFO stops the export before any write", () => {
    const roots = buildLayers(dir, [
      [],
      [{ path: "/src/a.c", type: "file", content: "a" }],
    ]);
    execFileSync("mkfifo", [join(roots.layers[0]!, "src/pipe")]);
    const dest = join(dir, "dest");
    mkdirSync(dest);

    expect(() => exportMerged({ stack: new LayerStack(roots), dest })).toThrow(
      "nothing was exported",
    );
    expect(readdirSync(dest)).toEqual([]);
  });

  test("name that is not UTF-8 is rejected", () => {
    const roots = buildLayers(dir, [
      [],
      [{ path: "/src/a.c", type: "file", content: "a" }],
    ]);
    const raw = Buffer.concat([
      Buffer.from(join(roots.layers[0]!, "src") + "/"),
      Buffer.from([0x62, 0xff]),
    ]);
    writeFileSync(raw, "bytes");
    const dest = join(dir, "dest");
    mkdirSync(dest);

    let caught: unknown;
    try {
      exportMerged({ stack: new LayerStack(roots), dest });
    } catch (error) {
      caught = error;
    }

    expect(isOverlayError(caught)).toBe(true);
    expect((caught as { code?: string }).code).toBe("UNSUPPORTED_NAME");
    expect(readdirSync(dest)).toEqual([]);
  });
});
