import { beforeAll, describe, expect, test } from "@jest/globals";
import { readIndex } from "../../../overlay/src/index.js";
import { askDriver, buildStack, compileLayersDriver, loadVectorCases } from "./layer-trees.js";

// Checks native/layer-index.c against @uwrx/overlay's own reader: every
// entry of an index written for the shared vector trees must be found by
// the C lookup with the same type, layer, flags and target.

const typeCodes = { file: 1, directory: 2, symlink: 3, whiteout: 4, other: 5 };
let driver = "";

beforeAll(() => {
  driver = compileLayersDriver();
});

describe.each(loadVectorCases().map((c) => [c.name, c] as const))("index of %s", (_name, c) => {
  const built = buildStack(c.layers);
  const index = readIndex(built.indexFile);

  test("layer table", () => {
    const [lines] = askDriver(driver, [built.indexFile, built.dirs.at(-1)!], ["layers"]);
    const expected = index.layers.map((l, i) => `${i} ${l.timeNs} ${l.path}`);
    expect(lines).toEqual(expected);
  });

  test("every entry found", () => {
    const entries = index.entries();
    const answers = askDriver(
      driver,
      [built.indexFile, built.dirs.at(-1)!],
      entries.map((e) => `lookup ${e.path}`),
    );
    expect(entries.length).toBeGreaterThan(0);
    entries.forEach((e, i) => {
      const flags = e.opaque ? 1 : 0;
      expect(answers[i]).toEqual([`${typeCodes[e.type]} ${e.layer} ${flags} ${e.target ?? ""}`]);
    });
  });

  test("missing paths absent", () => {
    const paths = ["/", "/no/such/path", ...c.layers.at(-1)!.map((e) => e.path)];
    const missing = paths.filter((p) => index.lookup(p) === undefined);
    const answers = askDriver(driver, [built.indexFile, built.dirs.at(-1)!], missing.map((p) => `lookup ${p}`));
    expect(answers).toEqual(missing.map(() => ["absent"]));
  });
});
