import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

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
 */
export function scanPacketHeader(
  packet: Uint8Array,
  offset = 0,
): { timestamp: bigint; sequenceId: number } {
  const reader = new BinaryReader(packet);
  let timestamp = 0n;
  let sequenceId = 0;

  try {
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === TIMESTAMP_FIELD && wireType === WireType.Varint) {
        timestamp = BigInt(reader.uint64());
      } else if (field === SEQUENCE_ID_FIELD && wireType === WireType.Varint) {
        sequenceId = reader.uint32();
      } else {
        reader.skip(wireType, field);
      }
    }
  } catch (cause) {
    throw new PerfettoError(
      "MALFORMED_PACKET",
      `Not a Perfetto trace: the TracePacket at byte offset ${offset} is malformed (${String(cause)})`,
      { cause },
    );
  }

  return { timestamp, sequenceId };
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
