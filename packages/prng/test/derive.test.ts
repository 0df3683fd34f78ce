import {
  RandomStream,
  atRandom,
  deriveChild,
  deriveExec,
  deriveThread,
  parseSeed,
  seedForPath,
} from "../src/index.js";
import { opensslKeystream, taggedNonce, toHex } from "./helpers.js";

const ROOT = parseSeed("c0ffee00".repeat(8));
const OTHER_ROOT = parseSeed("c0ffee01".repeat(8));

describe("deriveChild", () => {
  test("is deterministic", () => {
    const first = deriveChild({ seed: ROOT, index: 1 });
    const again = deriveChild({ seed: ROOT.slice(), index: 1 });

    expect(toHex(again)).toBe(toHex(first));
  });

  test("follows the documented nonce layout", () => {
    for (const index of [1, 7, 2 ** 32 + 1]) {
      const expected = opensslKeystream({
        key: ROOT,
        nonce: taggedNonce("chld", BigInt(index)),
        counter: 0,
        length: 32,
      });

      expect(toHex(deriveChild({ seed: ROOT, index }))).toBe(toHex(expected));
    }
  });

  test("children differ from each other and the parent", () => {
    const seeds = [1, 2, 3, 4].map((index) =>
      toHex(deriveChild({ seed: ROOT, index })),
    );

    expect(new Set([...seeds, toHex(ROOT)]).size).toBe(5);
  });

  test("different parents give different children", () => {
    const child = deriveChild({ seed: ROOT, index: 1 });
    const other = deriveChild({ seed: OTHER_ROOT, index: 1 });

    expect(toHex(other)).not.toBe(toHex(child));
  });

  test("rejects index 0", () => {
    const call = () => deriveChild({ seed: ROOT, index: 0 });

    expect(call).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    expect(call).toThrow("invalid child index 0: expected an integer from 1");
  });

  test("rejects a fractional index", () => {
    expect(() => deriveChild({ seed: ROOT, index: 1.5 })).toThrow(
      "invalid child index 1.5",
    );
  });

  test("rejects a short seed", () => {
    const call = () => deriveChild({ seed: new Uint8Array(31), index: 1 });

    expect(call).toThrow(expect.objectContaining({ code: "INVALID_SEED" }));
    expect(call).toThrow("invalid seed of 31 bytes");
  });
});

describe("deriveThread and deriveExec", () => {
  test("use their own nonce tags", () => {
    const thread = opensslKeystream({
      key: ROOT,
      nonce: taggedNonce("thrd", 1n),
      counter: 0,
      length: 32,
    });
    const exec = opensslKeystream({
      key: ROOT,
      nonce: taggedNonce("exec", 1n),
      counter: 0,
      length: 32,
    });

    expect(toHex(deriveThread({ seed: ROOT, index: 1 }))).toBe(toHex(thread));
    expect(toHex(deriveExec({ seed: ROOT, execIndex: 1 }))).toBe(toHex(exec));
  });

  test("differ from the child with the same index", () => {
    const child = toHex(deriveChild({ seed: ROOT, index: 1 }));
    const thread = toHex(deriveThread({ seed: ROOT, index: 1 }));
    const exec = toHex(deriveExec({ seed: ROOT, execIndex: 1 }));

    expect(new Set([child, thread, exec]).size).toBe(3);
  });

  test("rejects exec index 0", () => {
    expect(() => deriveExec({ seed: ROOT, execIndex: 0 })).toThrow(
      "invalid exec index 0",
    );
  });
});

describe("seedForPath", () => {
  test("empty path gives the root", () => {
    const seed = seedForPath({ root: ROOT, path: [] });

    expect(toHex(seed)).toBe(toHex(ROOT));
    expect(seed).not.toBe(ROOT);
  });

  test("chains deriveChild", () => {
    const expected = deriveChild({
      seed: deriveChild({
        seed: deriveChild({ seed: ROOT, index: 1 }),
        index: 3,
      }),
      index: 2,
    });

    expect(toHex(seedForPath({ root: ROOT, path: [1, 3, 2] }))).toBe(
      toHex(expected),
    );
  });

  test("order of the path matters", () => {
    const a = seedForPath({ root: ROOT, path: [1, 2] });
    const b = seedForPath({ root: ROOT, path: [2, 1] });

    expect(toHex(a)).not.toBe(toHex(b));
  });

  test("names the bad path element", () => {
    expect(() => seedForPath({ root: ROOT, path: [1, -1] })).toThrow(
      "invalid child index at path[1] -1",
    );
  });

  test("rejects a bad root", () => {
    expect(() => seedForPath({ root: new Uint8Array(0), path: [1] })).toThrow(
      "invalid root seed of 0 bytes",
    );
  });
});

describe("atRandom", () => {
  test("follows the documented nonce layout", () => {
    const expected = opensslKeystream({
      key: ROOT,
      nonce: taggedNonce("atrn", 0n),
      counter: 0,
      length: 16,
    });

    expect(toHex(atRandom(ROOT))).toBe(toHex(expected));
  });

  test("does not overlap the random stream", () => {
    const stream = toHex(new RandomStream(ROOT).next(64));
    const bytes = toHex(atRandom(ROOT));

    expect(bytes).toHaveLength(32);
    expect(stream).not.toContain(bytes);
  });

  test("differs between execs", () => {
    const first = atRandom(deriveExec({ seed: ROOT, execIndex: 1 }));
    const second = atRandom(deriveExec({ seed: ROOT, execIndex: 2 }));

    expect(toHex(second)).not.toBe(toHex(first));
  });
});
