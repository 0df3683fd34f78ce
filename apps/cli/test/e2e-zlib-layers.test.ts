// Builds Debian's zlib in two layered steps: configure, then make with the
// configure attempt as its parent. The real source tree must stay
// untouched, and exporting the make attempt must give a bare build's
// libz.a.
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

import { fetchDebianSource } from "./support/corpus.js";
import { cliPath, makeTempDir } from "./support/uwrx.js";

const BUILD_TIMEOUT_MS = 600_000;

/** Lists every path below dir with its size and mtime, for before/after checks. */
function snapshot(dir: string): string[] {
  const lines: string[] = [];
  const walk = (path: string) => {
    for (const name of readdirSync(path).sort()) {
      const child = join(path, name);
      const info = statSync(child, { bigint: true });
      lines.push(`${child} ${info.size} ${info.mtimeNs}`);
      if (info.isDirectory()) walk(child);
    }
  };
  walk(dir);
  return lines;
}

function run(cwd: string, args: string[]) {
  const result = spawnSync(args[0]!, args.slice(1), { cwd, encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(
      `${args.join(" ")} failed with ${result.status}: ${result.stderr.slice(-2000)}`,
    );
  }
  return result;
}

describe("zlib in two layered steps", () => {
  let bare: string;
  let tree: string;
  let traceDir: string;
  let before: string[];

  beforeAll(() => {
    const source = fetchDebianSource("zlib");
    bare = makeTempDir("zlib-bare");
    tree = makeTempDir("zlib-tree");
    traceDir = makeTempDir("zlib-trace");
    cpSync(source, bare, { recursive: true });
    cpSync(source, tree, { recursive: true });
    run(bare, ["sh", "-c", "./configure && make -j2 libz.a"]);

    before = snapshot(tree);
    const uwrx = (...args: string[]) =>
      run(tree, [process.execPath, cliPath, ...args]);
    uwrx(
      "run",
      "-q",
      "--trace-dir",
      traceDir,
      "--step",
      "configure",
      "--",
      "./configure",
    );
    uwrx(
      "run",
      "-q",
      "--parent",
      join(traceDir, "configure", "1"),
      "--trace-dir",
      traceDir,
      "--step",
      "make",
      "--",
      "make",
      "-j2",
      "libz.a",
    );
  }, BUILD_TIMEOUT_MS);

  test("real tree is unchanged", () => {
    expect(snapshot(tree)).toEqual(before);
  });

  test("configure output is in its layer", () => {
    const layer = join(traceDir, "configure", "1", "files", tree);

    expect(readdirSync(layer)).toContain("Makefile");
    expect(readdirSync(layer)).toContain("zconf.h");
  });

  test("exported libz.a equals a bare build's", () => {
    const dest = makeTempDir("zlib-export");
    run(tree, [
      process.execPath,
      cliPath,
      "export",
      join(traceDir, "make", "1"),
      dest,
    ]);

    const exported = readFileSync(join(dest, tree, "libz.a"));
    expect(exported.equals(readFileSync(join(bare, "libz.a")))).toBe(true);
  });
});
