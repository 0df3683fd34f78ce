import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { LayerStack, isOverlayError, type Resolution } from "../src/index.js";
import { buildTree, makeTemp, removeTemp, type TreeEntry } from "./helpers.js";

interface Query {
  op: "resolve" | "readdir";
  path: string;
  noFollow?: boolean;
  expected: unknown;
}

interface VectorCase {
  name: string;
  layers: TreeEntry[][];
  queries: Query[];
}

const vectors = JSON.parse(
  readFileSync(
    new URL("../vectors/layer-vectors.json", import.meta.url),
    "utf8",
  ),
) as { cases: VectorCase[] };

let dir: string;
beforeAll(() => {
  dir = makeTemp();
});
afterAll(() => {
  removeTemp(dir);
});

function portable(result: Resolution): unknown {
  if (result.kind !== "found") return result;
  return {
    kind: "found",
    layer: result.layer,
    type: result.type,
    path: result.path,
  };
}

function run(stack: LayerStack, query: Query): unknown {
  try {
    if (query.op === "readdir") return stack.readdir(query.path);
    return portable(
      stack.resolve(query.path, { noFollow: query.noFollow === true }),
    );
  } catch (error) {
    if (!isOverlayError(error)) throw error;
    return { error: error.code };
  }
}

describe("layer vectors", () => {
  test("file has cases", () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(3);
  });

  describe.each(vectors.cases.map((c, i) => [c.name, c, i] as const))(
    "%s",
    (_name, vectorCase, i) => {
      let stack: LayerStack;
      beforeAll(() => {
        const roots = vectorCase.layers.map((entries, layer) => {
          const root = join(dir, `case${i}`, `layer${layer}`);
          buildTree(root, entries);
          return root;
        });
        stack = new LayerStack({ base: roots[0]!, layers: roots.slice(1) });
      });

      test.each(
        vectorCase.queries.map(
          (q) =>
            [`${q.op} ${q.path}${q.noFollow ? " nofollow" : ""}`, q] as const,
        ),
      )("%s", (_label, query) => {
        expect(run(stack, query)).toEqual(query.expected);
      });
    },
  );
});
