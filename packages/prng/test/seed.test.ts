import {
  PrngError,
  formatSeed,
  isPrngError,
  parseSeed,
  rootSeed,
} from "../src/index.js";

const HEX = "00112233445566778899aabbccddeeff" + "0123456789abcdef".repeat(2);

describe("parseSeed", () => {
  test("round trips with formatSeed", () => {
    const seed = parseSeed(HEX);

    expect(seed).toHaveLength(32);
    expect(seed[1]).toBe(0x11);
    expect(formatSeed(seed)).toBe(HEX);
  });

  test("accepts uppercase and a trailing newline", () => {
    expect(formatSeed(parseSeed(`${HEX.toUpperCase()}\n`))).toBe(HEX);
  });

  test.each([
    ["too short", HEX.slice(2)],
    ["too long", `${HEX}00`],
    ["not hex", `${HEX.slice(1)}g`],
    ["0x prefix", `0x${HEX.slice(2)}`],
    ["empty", ""],
  ])("rejects %s", (_label, value) => {
    let error: unknown;
    try {
      parseSeed(value);
    } catch (caught) {
      error = caught;
    }

    expect(isPrngError(error)).toBe(true);
    expect((error as PrngError).code).toBe("INVALID_SEED");
    expect((error as PrngError).message).toContain(JSON.stringify(value));
    expect((error as PrngError).message).toContain("expected 64 hex digits");
  });

  test("rejects a value that is not a string", () => {
    expect(() => parseSeed(42 as unknown as string)).toThrow(
      "invalid seed 42: expected 64 hex digits",
    );
  });
});

describe("formatSeed", () => {
  test("rejects a short seed", () => {
    expect(() => formatSeed(new Uint8Array(4))).toThrow(
      "invalid seed of 4 bytes",
    );
  });
});

describe("rootSeed", () => {
  test("parses the hex option", () => {
    expect(formatSeed(rootSeed({ hex: HEX }))).toBe(HEX);
  });

  test("random seeds differ", () => {
    const first = formatSeed(rootSeed());
    const second = formatSeed(rootSeed());

    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(second).not.toBe(first);
  });

  test("uses the given random source", () => {
    const seed = rootSeed({ fillRandom: (buffer) => buffer.fill(7) });

    expect(formatSeed(seed)).toBe("07".repeat(32));
  });
});
