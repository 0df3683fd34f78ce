// A protobuf wire-format reader that knows nothing of any schema, for
// checking written traces independently of @uwrx/perfetto and protobuf-es.
import { inflateSync } from "node:zlib";

export interface WireField {
  field: number;
  wireType: number;
  /** Varint and fixed values as bigint; length-delimited values as bytes. */
  value: bigint | Uint8Array;
}

function readVarint(bytes: Uint8Array, offset: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = offset; i < bytes.length; i++) {
    const byte = bytes[i]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, i + 1];
    shift += 7n;
  }
  throw new Error(`truncated varint at byte ${offset}`);
}

/** Splits one message into its fields. */
export function decodeFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const [key, next] = readVarint(bytes, offset);
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    offset = next;
    if (wireType === 0) {
      const [value, after] = readVarint(bytes, offset);
      fields.push({ field, wireType, value });
      offset = after;
    } else if (wireType === 2) {
      const [length, after] = readVarint(bytes, offset);
      const end = after + Number(length);
      if (end > bytes.length)
        throw new Error(`field ${field} overruns the message`);
      fields.push({ field, wireType, value: bytes.subarray(after, end) });
      offset = end;
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      const view = Buffer.from(bytes.subarray(offset, offset + size));
      const value =
        size === 8 ? view.readBigUInt64LE() : BigInt(view.readUInt32LE());
      fields.push({ field, wireType, value });
      offset += size;
    } else {
      throw new Error(`unsupported wire type ${wireType} at byte ${offset}`);
    }
  }
  return fields;
}

/** Returns the values of one field number. */
export function valuesOf(
  fields: WireField[],
  field: number,
): WireField["value"][] {
  return fields.filter((f) => f.field === field).map((f) => f.value);
}

/** Returns the first varint of a field, or undefined. */
export function varintOf(
  fields: WireField[],
  field: number,
): bigint | undefined {
  const value = valuesOf(fields, field)[0];
  return typeof value === "bigint" ? value : undefined;
}

/** Returns the first length-delimited value of a field, or undefined. */
export function bytesOf(
  fields: WireField[],
  field: number,
): Uint8Array | undefined {
  const value = valuesOf(fields, field)[0];
  return value instanceof Uint8Array ? value : undefined;
}

/** Number of compressed_packets wrappers seen by the last unpackTrace. */
export interface UnpackedTrace {
  packets: WireField[][];
  compressedChunks: number;
}

/**
 * Decodes a Perfetto trace file (Trace.packet = 1) into its packets,
 * inflating compressed_packets (TracePacket field 50) with node:zlib.
 */
export function unpackTrace(file: Uint8Array): UnpackedTrace {
  const packets: WireField[][] = [];
  let compressedChunks = 0;
  for (const outer of decodeFields(file)) {
    if (outer.field !== 1 || !(outer.value instanceof Uint8Array)) {
      throw new Error(`unexpected top-level field ${outer.field}`);
    }
    const packet = decodeFields(outer.value);
    const compressed = bytesOf(packet, 50);
    if (!compressed) {
      packets.push(packet);
      continue;
    }
    compressedChunks++;
    for (const inner of decodeFields(inflateSync(compressed))) {
      packets.push(decodeFields(inner.value as Uint8Array));
    }
  }
  return { packets, compressedChunks };
}
