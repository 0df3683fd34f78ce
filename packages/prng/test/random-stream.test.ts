import { PrngError, RandomStream, parseSeed } from "../src/index.js";
import { opensslKeystream, taggedNonce, toHex } from "./helpers.js";

const SEED = parseSeed("5eed".repeat(16));

describe("RandomStream", () => {
  test("is the documented keystream", () => {
    const expected = opensslKeystream({
      key: SEED,
      nonce: taggedNonce("strm", 0n),
      counter: 0,
      length: 300,
    });

    expect(toHex(new RandomStream(SEED).next(300))).toBe(toHex(expected));
  });

  test("is deterministic", () => {
    const first = new RandomStream(SEED).next(100);
    const again = new RandomStream(parseSeed("5EED".repeat(16))).next(100);

    expect(toHex(again)).toBe(toHex(first));
  });

  test("different seeds differ", () => {
    const other = parseSeed("5eee".repeat(16));

    expect(toHex(new RandomStream(other).next(32))).not.toBe(
      toHex(new RandomStream(SEED).next(32)),
    );
  });

  test("split reads concatenate to one read", () => {
    const whole = toHex(new RandomStream(SEED).next(400));
    const splits = [
      [1, 63, 64, 272],
      [64, 64, 64, 208],
      [3, 5, 7, 11, 13, 17, 31, 65, 127, 121],
      [0, 400, 0],
    ];

    for (const sizes of splits) {
      const stream = new RandomStream(SEED);
      const parts = sizes.map((size) => toHex(stream.next(size)));

      expect(parts.join("")).toBe(whole);
      expect(stream.position).toBe(400);
    }
  });

  test("byte by byte equals one read", () => {
    const whole = toHex(new RandomStream(SEED).next(130));
    const stream = new RandomStream(SEED);
    let parts = "";
    for (let i = 0; i < 130; i++) {
      parts += toHex(stream.next(1));
    }

    expect(parts).toBe(whole);
  });

  test("fill continues the stream", () => {
    const whole = toHex(new RandomStream(SEED).next(100));
    const stream = new RandomStream(SEED);
    const head = stream.next(10);
    const tail = new Uint8Array(90);
    stream.fill(tail);

    expect(toHex(head) + toHex(tail)).toBe(whole);
  });

  test("rejects a negative length", () => {
    const call = () => new RandomStream(SEED).next(-1);

    expect(call).toThrow(PrngError);
    expect(call).toThrow("invalid read length -1");
  });

  test("rejects a bad seed", () => {
    expect(() => new RandomStream(new Uint8Array(64))).toThrow(
      "invalid seed of 64 bytes",
    );
  });
});
