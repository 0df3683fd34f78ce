import { beforeAll, describe, expect, test } from "@jest/globals";
import { askDriver, buildStack, compileLayersDriver, loadVectorCases } from "./layer-trees.js";

// Resolves and lists the shared vector trees with native/overlay.c, so the
// core and @uwrx/overlay agree on symlinks, whiteouts and merges.

type Expected =
  | { kind: "found"; layer: number; type: string; path: string }
  | { kind: "whiteout"; layer: number; path: string }
  | { kind: "absent"; errno: string }
  | { error: string };

function expectedLine(e: Expected): string {
  if ("error" in e) return `absent ${e.error}`;
  if (e.kind === "found") return `found ${e.layer} ${e.type} ${e.path}`;
  if (e.kind === "whiteout") return `whiteout ${e.layer} ${e.path}`;
  return `absent ${e.errno}`;
}

let driver = "";

beforeAll(() => {
  driver = compileLayersDriver();
});

describe.each(loadVectorCases().map((c) => [c.name, c] as const))("overlay %s", (_name, c) => {
  const built = buildStack(c.layers);
  const args = [built.indexFile, built.dirs.at(-1)!];

  test.each(c.queries.filter((q) => q.op === "resolve").map((q) => [q.path, q.noFollow ?? false, q] as const))(
    "resolve %s (noFollow %s)",
    (path, noFollow, q) => {
      const [answer] = askDriver(driver, args, [`${noFollow ? "lresolve" : "resolve"} ${path}`]);
      expect(answer).toEqual([expectedLine(q.expected as Expected)]);
    },
  );

  test.each(c.queries.filter((q) => q.op === "readdir").map((q) => [q.path, q] as const))(
    "readdir %s",
    (path, q) => {
      const [answer] = askDriver(driver, args, [`readdir ${path}`]);
      const entries = q.expected as { name: string; type: string; layer: number }[];
      expect(answer).toEqual(entries.map((e) => `${e.name} ${e.type} ${e.layer}`));
    },
  );
});
