import { create, toBinary } from "@bufbuild/protobuf";

import { TraceSchema } from "./gen/perfetto/protos/trace_pb.js";
import {
  TracePacketSchema,
  type TracePacket,
} from "./gen/perfetto/protos/trace_packet_pb.js";

/** Encodes packets as a `Trace` message, the bytes of a trace file. */
export function encodeTrace(packets: readonly TracePacket[]): Uint8Array {
  return toBinary(TraceSchema, create(TraceSchema, { packet: [...packets] }));
}

/** Encodes one TracePacket without the `Trace.packet` frame around it. */
export function encodePacket(packet: TracePacket): Uint8Array {
  return toBinary(TracePacketSchema, packet);
}
