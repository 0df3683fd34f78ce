import { createCipheriv } from "node:crypto";

/** Encodes bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Decodes lowercase or uppercase hex. */
export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/**
 * Computes ChaCha20 keystream bytes with OpenSSL, an implementation
 * independent of this package. OpenSSL's 16-byte IV is the 32-bit counter,
 * little-endian, followed by the 12-byte RFC 8439 nonce.
 */
export function opensslKeystream(options: {
  key: Uint8Array;
  nonce: Uint8Array;
  counter: number;
  length: number;
}): Uint8Array {
  const iv = Buffer.alloc(16);
  iv.writeUInt32LE(options.counter, 0);
  iv.set(options.nonce, 4);
  const cipher = createCipheriv("chacha20", options.key, iv);
  return new Uint8Array(cipher.update(Buffer.alloc(options.length)));
}

/** Builds a nonce from a 4-character tag and a 64-bit little-endian index. */
export function taggedNonce(tag: string, index: bigint): Uint8Array {
  const nonce = Buffer.alloc(12);
  nonce.write(tag, 0, "ascii");
  nonce.writeBigUInt64LE(index, 4);
  return new Uint8Array(nonce);
}
