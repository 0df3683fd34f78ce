import { beforeAll, describe, expect, test } from "@jest/globals";
import { chmodSync, lstatSync, readFileSync, readlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { askDriver, buildStack, compileLayersDriver, type BuiltStack } from "./layer-trees.js";

// Copy-up, whiteouts and the host-to-merged path mapping of
// native/overlay.c, on a base, two parent layers and an empty top layer.

let driver = "";
let built: BuiltStack;
let top = "";

function ask(request: string): string[] {
  return askDriver(driver, [built.indexFile, top], [request])[0]!;
}

beforeAll(() => {
  driver = compileLayersDriver();
  built = buildStack([
    [
      { path: "/src/base.c", type: "file", content: "base" },
      { path: "/src/deep/dir/leaf.h", type: "file", content: "leaf" },
    ],
    [
      { path: "/src/tool.sh", type: "file", content: "#!/bin/sh\n" },
      { path: "/src/link", type: "symlink", target: "tool.sh" },
    ],
    [{ path: "/src/parent2.c", type: "file", content: "p2" }],
    [],
  ]);
  top = built.dirs.at(-1)!;
  const tool = join(built.dirs[1]!, "src/tool.sh");
  chmodSync(tool, 0o751);
  utimesSync(tool, 1_000_000, 1_000_000);
});

describe("overlay copy-up", () => {
  test("file keeps content, mode and mtime", () => {
    expect(ask("copyup /src/tool.sh")).toEqual(["ok"]);
    const copy = join(top, "src/tool.sh");
    expect(readFileSync(copy, "utf8")).toBe("#!/bin/sh\n");
    expect(lstatSync(copy).mode & 0o7777).toBe(0o751);
    expect(lstatSync(copy).mtimeMs).toBe(1_000_000_000);
    expect(ask("resolve /src/tool.sh")).toEqual(["found 3 file /src/tool.sh"]);
  });

  test("symlink is copied as a symlink", () => {
    expect(ask("copyup /src/link")).toEqual(["ok"]);
    expect(readlinkSync(join(top, "src/link"))).toBe("tool.sh");
  });

  test("base file brings its directory chain", () => {
    expect(ask("copyup /src/deep/dir/leaf.h")).toEqual(["ok"]);
    expect(readFileSync(join(top, "src/deep/dir/leaf.h"), "utf8")).toBe("leaf");
    expect(ask("resolve /src/deep/dir")).toEqual(["found 3 directory /src/deep/dir"]);
  });

  test("merged listing after copy-up", () => {
    expect(ask("readdir /src")).toEqual([
      "base.c file 0",
      "deep directory 3",
      "link symlink 3",
      "parent2.c file 2",
      "tool.sh file 3",
    ]);
  });

  test("missing file", () => {
    expect(ask("copyup /src/none.c")).toEqual(["error ENOENT"]);
  });
});

describe("overlay whiteout", () => {
  test("hides a parent file", () => {
    expect(ask("whiteout /src/parent2.c")).toEqual(["ok"]);
    const st = lstatSync(join(top, "src/parent2.c"));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    expect(ask("resolve /src/parent2.c")).toEqual(["whiteout 3 /src/parent2.c"]);
    expect(ask("readdir /src")).not.toContain("parent2.c file 2");
  });

  test("existing name rejected", () => {
    expect(ask("whiteout /src/gone")).toEqual(["ok"]);
    expect(ask("whiteout /src/gone")).toEqual(["error EEXIST"]);
  });

  test("lower layers unchanged", () => {
    expect(readFileSync(join(built.dirs[2]!, "src/parent2.c"), "utf8")).toBe("p2");
    expect(readFileSync(join(built.dirs[0]!, "src/base.c"), "utf8")).toBe("base");
  });
});

describe("overlay virtual path", () => {
  test("top and parent layers map back", () => {
    expect(ask(`virtual ${top}/src/x.o`)).toEqual(["/src/x.o"]);
    expect(ask(`virtual ${top}`)).toEqual(["/"]);
    expect(ask(`virtual ${built.dirs[2]}/src/parent2.c`)).toEqual(["/src/parent2.c"]);
    expect(ask(`virtual ${built.dirs[0]}/src/base.c`)).toEqual(["/src/base.c"]);
  });

  test("path outside every layer", () => {
    expect(ask("virtual /elsewhere/file")).toEqual(["none"]);
    expect(ask(`virtual ${top}x/file`)).toEqual(["none"]);
  });
});
