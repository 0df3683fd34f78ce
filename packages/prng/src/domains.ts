import { CHACHA20_NONCE_BYTES } from "./chacha20.js";
import { PrngError } from "./errors.js";

/**
 * Four ASCII bytes at the start of every nonce that this package uses. Each
 * use of a seed has its own tag, so that no two uses share a keystream.
 */
export const DOMAIN_TAGS = Object.freeze({
  child: "chld",
  thread: "thrd",
  exec: "exec",
  stream: "strm",
  atRandom: "atrn",
} as const);

/** Name of one use of a seed, a key of `DOMAIN_TAGS`. */
export type Domain = keyof typeof DOMAIN_TAGS;

/**
 * Builds the 12-byte nonce of a domain: the tag's 4 ASCII bytes, then
 * `index` as a 64-bit little-endian unsigned integer.
 */
export function domainNonce(domain: Domain, index: number): Uint8Array {
  const nonce = new Uint8Array(CHACHA20_NONCE_BYTES);
  const tag = DOMAIN_TAGS[domain];
  for (let i = 0; i < 4; i++) {
    nonce[i] = tag.charCodeAt(i);
  }

  // Safe integers stay below 2^53, so the division gives the high word
  // exactly; the C core writes the same bytes from a uint64_t.
  const view = new DataView(nonce.buffer);
  view.setUint32(4, index >>> 0, true);
  view.setUint32(8, Math.floor(index / 2 ** 32), true);
  return nonce;
}

/**
 * Throws `INVALID_OPTION` unless `value` is an integer from `min` to
 * `Number.MAX_SAFE_INTEGER`.
 */
export function checkIndex(name: string, value: unknown, min: number): void {
  if (
    typeof value === "number" &&
    Number.isSafeInteger(value) &&
    value >= min
  ) {
    return;
  }

  throw new PrngError(
    "INVALID_OPTION",
    `invalid ${name} ${String(value)}: expected an integer from ${min} to ${Number.MAX_SAFE_INTEGER}`,
  );
}
