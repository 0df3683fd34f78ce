import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

import { PerfettoError } from "./errors.js";
import { readLengthVarint } from "./varint.js";

/** The tag byte of `Trace.packet`: field 1, length-delimited. */
export const PACKET_TAG = 0x0a;

/** One complete `Trace.packet` frame found in a buffer. */
export interface Frame {
  /** The whole frame: tag, length and packet. */
  frame: Uint8Array;
  /** The TracePacket bytes inside the frame. */
  packet: Uint8Array;
  /** Offset of the frame's first byte in the buffer that was read. */
  offset: number;
  /** TracePacket.timestamp in nanoseconds, 0n when the packet has none. */
  timestamp: bigint;
  /** TracePacket.trusted_packet_sequence_id, 0 when the packet has none. */
  sequenceId: number;
}

/** Complete frames of a buffer and the offset where reading stopped. */
export interface FrameRead {
  frames: Frame[];
  /** Offset after the last complete frame; the next read starts here. */
  end: number;
}

/** A frame header: where the packet starts and how long it is. */
export interface FrameHeader {
  packetStart: number;
  packetLength: number;
}

const TIMESTAMP_FIELD = 8;
const SEQUENCE_ID_FIELD = 10;

/**
 * Parses the frame header at `offset`. Returns undefined when the buffer ends
 * inside the header or the packet, because a writer may still be appending.
 * Throws NOT_A_TRACE when the bytes cannot start a `Trace.packet` frame.
 */
export function readFrameHeader(
  bytes: Uint8Array,
  offset: number,
): FrameHeader | undefined {
  const tag = bytes[offset];
  if (tag !== PACKET_TAG) {
    const found = tag === undefined ? "end of data" : `0x${hex(tag)}`;
    throw new PerfettoError(
      "NOT_A_TRACE",
      `Not a Perfetto trace: expected a Trace.packet tag (0x0a) at byte offset ${offset}, found ${found}`,
    );
  }

  const length = readLengthVarint(bytes, offset + 1);
  if (length === undefined) return undefined;
  if (length === null) {
    throw new PerfettoError(
      "NOT_A_TRACE",
      `Not a Perfetto trace: the packet length at byte offset ${offset + 1} is not a varint of at most 32 bits`,
    );
  }

  if (length.end + length.value > bytes.length) return undefined;
  return { packetStart: length.end, packetLength: length.value };
}

/**
 * Parses the complete frames of `bytes` from `offset` on. An incomplete frame
 * at the end is left for a later read and is not an error.
 */
export function readFrames(bytes: Uint8Array, offset = 0): FrameRead {
  const frames: Frame[] = [];
  let position = offset;

  while (position < bytes.length) {
    const header = readFrameHeader(bytes, position);
    if (header === undefined) break;

    const end = header.packetStart + header.packetLength;
    const packet = bytes.subarray(header.packetStart, end);
    frames.push({
      frame: bytes.subarray(position, end),
      packet,
      offset: position,
      ...scanPacketHeader(packet, header.packetStart),
    });
    position = end;
  }

  return { frames, end: position };
}

/**
 * Reads timestamp and trusted_packet_sequence_id from TracePacket bytes
 * without decoding the rest. `offset` only serves the error message.
 *
 * The collector calls this for every packet of a run, so it walks the
 * top-level fields by hand and stops once it has both: a protobuf reader
 * object per packet made this the largest cost of merging after deflate.
 */
export function scanPacketHeader(
  packet: Uint8Array,
  offset = 0,
): { timestamp: bigint; sequenceId: number } {
  const malformed = (reason: string) =>
    new PerfettoError(
      "MALFORMED_PACKET",
      `Not a Perfetto trace: the TracePacket at byte offset ${offset} is malformed (${reason})`,
    );
  const length = packet.length;
  let position = 0;
  let timestamp = 0n;
  let sequenceId = 0;
  let found = 0;

  const varint = (): number => {
    // Exact up to 2^53, which covers tags, lengths and boot-time
    // nanoseconds; longer varints are decoded again as BigInt.
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (position >= length) throw malformed("a varint runs past the end");
      const byte = packet[position++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw malformed("a varint is longer than 10 bytes");
  };

  while (position < length && found !== 3) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const start = position;
    switch (tag & 7) {
      case WireType.Varint: {
        const value = varint();
        if (field === TIMESTAMP_FIELD) {
          timestamp = value <= Number.MAX_SAFE_INTEGER ? BigInt(value) : bigVarint(packet, start);
          found |= 1;
        } else if (field === SEQUENCE_ID_FIELD) {
          sequenceId = value >>> 0;
          found |= 2;
        }
        break;
      }
      case WireType.Bit64:
        position += 8;
        break;
      case WireType.Bit32:
        position += 4;
        break;
      case WireType.LengthDelimited: {
        // Not `position += varint()`: that adds to the position before
        // the length was read.
        const size = varint();
        position += size;
        break;
      }
      default:
        throw malformed(`wire type ${tag & 7} of field ${field}`);
    }
    if (position > length) throw malformed(`field ${field} runs past the end`);
  }

  return { timestamp, sequenceId };
}

/** Decodes the varint at `start` exactly, as a BigInt. */
function bigVarint(bytes: Uint8Array, start: number): bigint {
  let value = 0n;
  let shift = 0n;
  for (let position = start; ; position++) {
    const byte = bytes[position]!;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return value & 0xffffffffffffffffn;
    shift += 7n;
  }
}

/** Wraps TracePacket bytes in a `Trace.packet` frame. */
export function encodeFrame(packet: Uint8Array): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .bytes(packet)
    .finish();
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
