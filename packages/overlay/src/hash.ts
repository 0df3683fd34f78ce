const FNV64_OFFSET_BASIS = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffff_ffff_ffff_ffffn;

/**
 * Computes FNV-1a 64 of `bytes`: start from the offset basis, and for each
 * byte XOR it in, then multiply by the FNV prime modulo 2^64.
 */
export function fnv1a64(bytes: Uint8Array): bigint {
  let hash = FNV64_OFFSET_BASIS;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * FNV64_PRIME) & MASK64;
  }
  return hash;
}

/**
 * Computes the index hash of an absolute path: FNV-1a 64 of its UTF-8 bytes.
 *
 * NOTE: Node decodes file names as UTF-8, so a name that is not valid UTF-8
 * gets U+FFFD here and its hash differs from the core's hash of the raw bytes.
 */
export function hashPath(path: string): bigint {
  return fnv1a64(Buffer.from(path, "utf8"));
}
