import { fromBinary } from "@bufbuild/protobuf";

import { decompressPackets } from "./compression.js";
import { PerfettoError } from "./errors.js";
import { readFrameHeader } from "./frames.js";
import {
  TracePacketSchema,
  type TracePacket,
} from "./gen/perfetto/protos/trace_packet_pb.js";

/**
 * Decodes a trace file into its packets, in file order. Packets inside
 * `compressed_packets` replace the packet that carried them.
 *
 * @throws PerfettoError TRUNCATED when the data ends inside a packet,
 *   NOT_A_TRACE or MALFORMED_PACKET for bytes that are not a trace,
 *   BAD_COMPRESSION and NESTED_COMPRESSION for unusable compressed packets.
 */
export function decodeTrace(bytes: Uint8Array): TracePacket[] {
  const packets: TracePacket[] = [];

  for (const { packet, offset } of decodeFrames(bytes, "")) {
    if (packet.data.case !== "compressedPackets") {
      packets.push(packet);
      continue;
    }
    packets.push(...decodeCompressed(packet.data.value, offset));
  }

  return packets;
}

// Messages about compressed content name the offset of the outer packet,
// because offsets inside the inflated data do not exist in the file.
function decodeCompressed(payload: Uint8Array, offset: number): TracePacket[] {
  const inflated = decompressPackets(payload, offset);
  const where = ` inside compressed_packets of the packet at byte offset ${offset}`;
  const packets = [...decodeFrames(inflated, where)].map(
    (decoded) => decoded.packet,
  );

  for (const packet of packets) {
    if (packet.data.case === "compressedPackets") {
      throw new PerfettoError(
        "NESTED_COMPRESSION",
        `Not a valid Perfetto trace: compressed_packets${where} contain compressed_packets again; nesting is not allowed`,
      );
    }
  }
  return packets;
}

interface DecodedFrame {
  packet: TracePacket;
  offset: number;
}

function* decodeFrames(
  bytes: Uint8Array,
  where: string,
): Generator<DecodedFrame> {
  let position = 0;

  while (position < bytes.length) {
    const header = readHeader(bytes, position, where);
    const end = header.packetStart + header.packetLength;
    const packet = decodePacket(
      bytes.subarray(header.packetStart, end),
      position,
      where,
    );
    yield { packet, offset: position };
    position = end;
  }
}

function readHeader(bytes: Uint8Array, position: number, where: string) {
  try {
    const header = readFrameHeader(bytes, position);
    if (header !== undefined) return header;
  } catch (cause) {
    if (cause instanceof PerfettoError && where !== "") {
      throw new PerfettoError(cause.code, `${cause.message}${where}`, {
        cause,
      });
    }
    throw cause;
  }

  throw new PerfettoError(
    "TRUNCATED",
    `Perfetto trace is truncated: the packet at byte offset ${position}${where} runs past the end of the data (${bytes.length} bytes)`,
  );
}

function decodePacket(
  packetBytes: Uint8Array,
  position: number,
  where: string,
): TracePacket {
  try {
    return fromBinary(TracePacketSchema, packetBytes);
  } catch (cause) {
    throw new PerfettoError(
      "MALFORMED_PACKET",
      `Not a Perfetto trace: the TracePacket at byte offset ${position}${where} does not decode (${String(cause)})`,
      { cause },
    );
  }
}
