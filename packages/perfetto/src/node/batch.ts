import { create } from "@bufbuild/protobuf";

import { compressFrames } from "../compression.js";
import { encodePacket } from "../encode.js";
import { encodeFrame, type Frame } from "../frames.js";
import { TracePacketSchema } from "../gen/perfetto/protos/trace_packet_pb.js";

/** A frame and the key it is sorted by. */
export interface SortableFrame {
  frame: Frame;
  key: bigint;
}

/**
 * Orders frames by timestamp. The sort is stable and a frame's key never is
 * below the key of the frame before it in the same file, so the packets of
 * one buffer (one sequence) keep their order even when a packet has no
 * timestamp; reordering them would break interning.
 */
export function sortFrames(frames: SortableFrame[]): Frame[] {
  return frames
    .sort((a, b) => (a.key === b.key ? 0 : a.key < b.key ? -1 : 1))
    .map((entry) => entry.frame);
}

/**
 * Groups frames into chunks of about `chunkSize` input bytes and returns one
 * `compressed_packets` frame per chunk, ready to append to a trace file.
 */
export function compressBatch(
  frames: Frame[],
  chunkSize: number,
): Uint8Array[] {
  const output: Uint8Array[] = [];
  let chunk: Uint8Array[] = [];
  let chunkBytes = 0;

  for (const { frame } of frames) {
    chunk.push(frame);
    chunkBytes += frame.length;
    if (chunkBytes < chunkSize) continue;

    output.push(compressChunk(chunk, chunkBytes));
    chunk = [];
    chunkBytes = 0;
  }

  if (chunk.length > 0) output.push(compressChunk(chunk, chunkBytes));
  return output;
}

function compressChunk(frames: Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let position = 0;
  for (const frame of frames) {
    joined.set(frame, position);
    position += frame.length;
  }

  const packet = create(TracePacketSchema, {
    data: { case: "compressedPackets", value: compressFrames(joined) },
  });
  return encodeFrame(encodePacket(packet));
}
