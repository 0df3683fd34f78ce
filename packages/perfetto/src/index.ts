export {
  decodeAnnotationValue,
  encodeAnnotationValue,
  type AnnotationValue,
  type Annotations,
} from "./annotations.js";
export { compressFrames, decompressPackets } from "./compression.js";
export { decodeTrace } from "./decode.js";
export { encodePacket, encodeTrace } from "./encode.js";
export {
  PerfettoError,
  isPerfettoError,
  type PerfettoErrorCode,
} from "./errors.js";
export {
  PACKET_TAG,
  encodeFrame,
  readFrames,
  scanPacketHeader,
  type Frame,
  type FrameRead,
} from "./frames.js";
export {
  buildModel,
  readTrace,
  type ClockSnapshotInfo,
  type EventType,
  type ProcessInfo,
  type ThreadInfo,
  type TraceEvent,
  type TraceModel,
  type TraceSlice,
  type TrackInfo,
} from "./model.js";
export { processTrackUuid, threadTrackUuid } from "./tracks.js";
export {
  DEFAULT_TRACE_WRITER_OPTIONS,
  TraceWriter,
  type ClockSnapshotOptions,
  type EventOptions,
  type ProcessTrackOptions,
  type ProcessTreeOptions,
  type SliceEndOptions,
  type ThreadTrackOptions,
  type Timestamp,
  type TraceWriterOptions,
  type TrackUuid,
} from "./writer.js";
export * from "./gen/perfetto/protos/builtin_clock_pb.js";
export * from "./gen/perfetto/protos/clock_snapshot_pb.js";
export * from "./gen/perfetto/protos/debug_annotation_pb.js";
export * from "./gen/perfetto/protos/interned_data_pb.js";
export * from "./gen/perfetto/protos/process_descriptor_pb.js";
export * from "./gen/perfetto/protos/process_tree_pb.js";
export * from "./gen/perfetto/protos/thread_descriptor_pb.js";
export * from "./gen/perfetto/protos/trace_packet_pb.js";
export * from "./gen/perfetto/protos/trace_pb.js";
export * from "./gen/perfetto/protos/track_descriptor_pb.js";
export * from "./gen/perfetto/protos/track_event_pb.js";
