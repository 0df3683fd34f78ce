/** A decoded varint and the offset of the byte after it. */
export interface VarintRead {
  value: number;
  end: number;
}

// Frame lengths are at most 2^32 - 1, which takes five varint bytes. A longer
// varint cannot be a valid length, and stopping there keeps the value exact in
// a JavaScript number.
const MAX_LENGTH_BYTES = 5;

/**
 * Reads an unsigned varint of at most 32 bits at `offset`. Returns undefined
 * when the buffer ends inside the varint, and null when it is longer than 32
 * bits.
 */
export function readLengthVarint(
  bytes: Uint8Array,
  offset: number,
): VarintRead | undefined | null {
  let value = 0;
  let scale = 1;

  for (let i = 0; i < MAX_LENGTH_BYTES; i++) {
    const position = offset + i;
    if (position >= bytes.length) return undefined;

    const byte = bytes[position]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      return value > 0xffffffff ? null : { value, end: position + 1 };
    }
    scale *= 128;
  }

  return null;
}
