import { PrngError } from "./errors.js";

/** Key length of ChaCha20 in bytes. */
export const CHACHA20_KEY_BYTES = 32;
/** Nonce length of the RFC 8439 variant of ChaCha20 in bytes. */
export const CHACHA20_NONCE_BYTES = 12;
/** Output length of one ChaCha20 block in bytes. */
export const CHACHA20_BLOCK_BYTES = 64;
/** Largest block counter, because RFC 8439 keeps it in one 32-bit word. */
export const CHACHA20_MAX_COUNTER = 0xffffffff;

// "expand 32-byte k" read as four little-endian words (RFC 8439 2.3).
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;

/** Inputs of one ChaCha20 block: a 32-byte key, 12-byte nonce, counter. */
export interface ChaCha20BlockOptions {
  key: Uint8Array;
  nonce: Uint8Array;
  /** Block counter, 0 to 2^32 - 1. */
  counter: number;
}

/** Inputs of ChaCha20 encryption (RFC 8439 2.4). */
export interface ChaCha20EncryptOptions extends ChaCha20BlockOptions {
  /** Plaintext or ciphertext, XORed with the keystream. */
  data: Uint8Array;
}

/**
 * Key and nonce set up once, so that a stream computes block after block
 * without reading them again.
 */
export class ChaCha20Keystream {
  readonly #input = new Uint32Array(16);
  readonly #work = new Uint32Array(16);

  constructor(key: Uint8Array, nonce: Uint8Array) {
    checkLength("key", key, CHACHA20_KEY_BYTES);
    checkLength("nonce", nonce, CHACHA20_NONCE_BYTES);

    const keyView = new DataView(key.buffer, key.byteOffset, key.byteLength);
    const nonceView = new DataView(
      nonce.buffer,
      nonce.byteOffset,
      nonce.byteLength,
    );
    this.#input.set(SIGMA, 0);
    for (let i = 0; i < 8; i++) {
      this.#input[4 + i] = keyView.getUint32(i * 4, true);
    }
    for (let i = 0; i < 3; i++) {
      this.#input[13 + i] = nonceView.getUint32(i * 4, true);
    }
  }

  /** Writes block `counter` of the keystream into `out` (64 bytes). */
  block(counter: number, out: Uint8Array): void {
    checkCounter(counter);
    if (out.length < CHACHA20_BLOCK_BYTES) {
      throw new PrngError(
        "INVALID_OPTION",
        `invalid ChaCha20 output buffer of ${out.length} bytes: expected at least 64`,
      );
    }

    this.#input[12] = counter;
    const x = this.#work;
    x.set(this.#input);
    for (let round = 0; round < 10; round++) {
      quarterRound(x, 0, 4, 8, 12);
      quarterRound(x, 1, 5, 9, 13);
      quarterRound(x, 2, 6, 10, 14);
      quarterRound(x, 3, 7, 11, 15);
      quarterRound(x, 0, 5, 10, 15);
      quarterRound(x, 1, 6, 11, 12);
      quarterRound(x, 2, 7, 8, 13);
      quarterRound(x, 3, 4, 9, 14);
    }

    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < 16; i++) {
      view.setUint32(i * 4, (x[i]! + this.#input[i]!) >>> 0, true);
    }
  }
}

/** Computes one 64-byte ChaCha20 block (RFC 8439 2.3). */
export function chacha20Block(options: ChaCha20BlockOptions): Uint8Array {
  const out = new Uint8Array(CHACHA20_BLOCK_BYTES);
  new ChaCha20Keystream(options.key, options.nonce).block(options.counter, out);
  return out;
}

/**
 * Encrypts or decrypts `data` with ChaCha20 (RFC 8439 2.4), starting at
 * block `counter`. Throws `STREAM_EXHAUSTED` when the data needs a block
 * past counter 2^32 - 1.
 */
export function chacha20Encrypt(options: ChaCha20EncryptOptions): Uint8Array {
  const { data } = options;
  const keystream = new ChaCha20Keystream(options.key, options.nonce);
  const block = new Uint8Array(CHACHA20_BLOCK_BYTES);
  const out = new Uint8Array(data.length);
  checkCounter(options.counter);

  for (let offset = 0; offset < data.length; offset += 64) {
    const counter = options.counter + offset / 64;
    if (counter > CHACHA20_MAX_COUNTER) {
      throw new PrngError(
        "STREAM_EXHAUSTED",
        `ChaCha20 block counter overflow at data offset ${offset}: the counter is 32 bits, so encrypt at most 2^32 blocks per key and nonce`,
      );
    }
    keystream.block(counter, block);
    const end = Math.min(offset + 64, data.length);
    for (let i = offset; i < end; i++) {
      out[i] = data[i]! ^ block[i - offset]!;
    }
  }
  return out;
}

function quarterRound(
  x: Uint32Array,
  a: number,
  b: number,
  c: number,
  d: number,
): void {
  let va = x[a]!;
  let vb = x[b]!;
  let vc = x[c]!;
  let vd = x[d]!;

  va = (va + vb) | 0;
  vd = rotateLeft(vd ^ va, 16);
  vc = (vc + vd) | 0;
  vb = rotateLeft(vb ^ vc, 12);
  va = (va + vb) | 0;
  vd = rotateLeft(vd ^ va, 8);
  vc = (vc + vd) | 0;
  vb = rotateLeft(vb ^ vc, 7);

  x[a] = va;
  x[b] = vb;
  x[c] = vc;
  x[d] = vd;
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function checkLength(name: string, bytes: Uint8Array, expected: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
    const actual =
      bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw new PrngError(
      "INVALID_OPTION",
      `invalid ChaCha20 ${name} of ${actual}: expected a Uint8Array of ${expected} bytes`,
    );
  }
}

function checkCounter(counter: number): void {
  if (
    !Number.isInteger(counter) ||
    counter < 0 ||
    counter > CHACHA20_MAX_COUNTER
  ) {
    throw new PrngError(
      "INVALID_OPTION",
      `invalid ChaCha20 block counter ${counter}: expected an integer from 0 to 4294967295`,
    );
  }
}
