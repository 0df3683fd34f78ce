import { PrngError } from "./errors.js";

/** Length of every seed in bytes, the size of a ChaCha20 key. */
export const SEED_BYTES = 32;

/** Options of `rootSeed`. */
export interface RootSeedOptions {
  /**
   * The seed as 64 hex digits, for example the contents of an attempt's
   * `seed.txt`. When absent, the seed comes from `fillRandom`.
   */
  hex?: string;
  /** Random source that fills a buffer, by default `crypto.getRandomValues`. */
  fillRandom?: (buffer: Uint8Array) => void;
}

/** Defaults of `rootSeed`: a random seed from the Web Crypto API. */
export const DEFAULT_ROOT_SEED_OPTIONS: Readonly<
  Required<Pick<RootSeedOptions, "fillRandom">>
> = Object.freeze({
  fillRandom: (buffer: Uint8Array) => {
    globalThis.crypto.getRandomValues(buffer);
  },
});

/**
 * Returns the root seed of an attempt: parsed from `options.hex` when given,
 * otherwise 32 fresh random bytes.
 */
export function rootSeed(options: RootSeedOptions = {}): Uint8Array {
  if (options.hex !== undefined) {
    return parseSeed(options.hex);
  }

  const fillRandom = options.fillRandom ?? DEFAULT_ROOT_SEED_OPTIONS.fillRandom;
  const seed = new Uint8Array(SEED_BYTES);
  fillRandom(seed);
  return seed;
}

/**
 * Parses a seed written as 64 hex digits, in either case. Whitespace around
 * the digits, such as the newline at the end of `seed.txt`, is ignored.
 * Throws `INVALID_SEED` for anything else.
 */
export function parseSeed(hex: string): Uint8Array {
  const digits = typeof hex === "string" ? hex.trim() : "";
  if (!/^[0-9a-fA-F]{64}$/.test(digits)) {
    throw new PrngError(
      "INVALID_SEED",
      `invalid seed ${JSON.stringify(hex)}: expected 64 hex digits (32 bytes), such as the contents of an attempt's seed.txt`,
    );
  }

  const seed = new Uint8Array(SEED_BYTES);
  for (let i = 0; i < SEED_BYTES; i++) {
    seed[i] = Number.parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  }
  return seed;
}

/** Formats a seed as 64 lowercase hex digits, without a newline. */
export function formatSeed(seed: Uint8Array): string {
  checkSeed(seed);

  let hex = "";
  for (const byte of seed) {
    hex += byte.toString(16).padStart(2, "0");
  }
  return hex;
}

/** Throws `INVALID_SEED` unless `seed` is a Uint8Array of 32 bytes. */
export function checkSeed(seed: unknown, name = "seed"): void {
  if (seed instanceof Uint8Array && seed.length === SEED_BYTES) {
    return;
  }

  const actual =
    seed instanceof Uint8Array ? `of ${seed.length} bytes` : `(${typeof seed})`;
  throw new PrngError(
    "INVALID_SEED",
    `invalid ${name} ${actual}: expected a Uint8Array of 32 bytes, for example from parseSeed`,
  );
}
