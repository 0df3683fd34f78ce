import { decodeAnnotationValue, type AnnotationValue } from "./annotations.js";
import { decodeTrace } from "./decode.js";
import type { ClockSnapshot } from "./gen/perfetto/protos/clock_snapshot_pb.js";
import type { ProcessTree } from "./gen/perfetto/protos/process_tree_pb.js";
import type { TracePacket } from "./gen/perfetto/protos/trace_packet_pb.js";
import type { TrackDescriptor } from "./gen/perfetto/protos/track_descriptor_pb.js";
import {
  TrackEvent_Type,
  type TrackEvent,
} from "./gen/perfetto/protos/track_event_pb.js";
import { SequenceState } from "./sequence-state.js";

export type EventType =
  "slice_begin" | "slice_end" | "instant" | "counter" | "unspecified";

/**
 * One TrackEvent with its interned strings resolved. `ts` is in nanoseconds
 * of the packet's clock (BOOTTIME in uwrx traces), as a bigint because boot
 * times in nanoseconds pass 2^53 after about 104 days.
 */
export interface TraceEvent {
  ts: bigint;
  sequenceId: number;
  trackUuid: bigint;
  /** From the track's descriptor; undefined when the track has none. */
  pid: number | undefined;
  tid: number | undefined;
  type: EventType;
  /**
   * The event name; a slice end takes the name of the slice it closes.
   * Undefined when the name's iid is not defined on the sequence.
   */
  name: string | undefined;
  /** The first category, undefined when there is none. */
  category: string | undefined;
  categories: string[];
  /** Debug annotations by name; 64-bit integers are numbers when safe. */
  args: Record<string, AnnotationValue>;
  flowIds: bigint[];
}

/** A slice: a begin event and, when the trace has it, its end. */
export interface TraceSlice {
  begin: TraceEvent;
  end: TraceEvent | undefined;
  /** Nanoseconds from begin to end; undefined for a slice never closed. */
  dur: bigint | undefined;
  /** 0 for a slice with no open parent slice on its track. */
  depth: number;
}

export interface ProcessInfo {
  pid: number;
  ppid: number | undefined;
  /** argv from the latest ProcessTree entry, else from the descriptor. */
  cmdline: string[];
  name: string | undefined;
}

export interface ThreadInfo {
  tid: number;
  pid: number | undefined;
  name: string | undefined;
}

export interface TrackInfo {
  uuid: bigint;
  parentUuid: bigint | undefined;
  name: string | undefined;
  /** The process of the track, also for a thread track. */
  pid: number | undefined;
  /** Undefined for a process track. */
  tid: number | undefined;
  sequenceId: number;
}

export interface ClockSnapshotInfo {
  ts: bigint | undefined;
  sequenceId: number;
  clocks: { clockId: number; timestamp: bigint }[];
}

/** Processes, threads, tracks, events and slices of a decoded trace. */
export interface TraceModel {
  /** Decoded packets in file order, compressed packets expanded. */
  packets: TracePacket[];
  processes: Map<number, ProcessInfo>;
  threads: Map<number, ThreadInfo>;
  tracks: Map<bigint, TrackInfo>;
  /** Track events ordered by `ts`; events with equal `ts` keep file order. */
  events: TraceEvent[];
  /** Slices ordered by begin `ts`. */
  slices: TraceSlice[];
  clockSnapshots: ClockSnapshotInfo[];
}

/**
 * Decodes a trace file and builds its model.
 *
 * @throws PerfettoError as decodeTrace() does.
 */
export function readTrace(bytes: Uint8Array): TraceModel {
  return buildModel(decodeTrace(bytes));
}

/**
 * Builds the model of decoded packets. Interned iids are resolved per
 * trusted_packet_sequence_id, in packet order, so the packets of each
 * sequence must keep their relative order.
 */
export function buildModel(packets: TracePacket[]): TraceModel {
  const model: TraceModel = {
    packets,
    processes: new Map(),
    threads: new Map(),
    tracks: new Map(),
    events: [],
    slices: [],
    clockSnapshots: [],
  };
  const sequences = new Map<number, SequenceState>();

  for (const packet of packets) {
    const state = sequenceState(sequences, packet.trustedPacketSequenceId);
    state.apply(packet);
    addPacket(model, packet, state);
  }

  resolveTracks(model);
  model.slices = matchSlices(model.events);
  model.events.sort(byTimestamp);
  model.slices.sort((a, b) => byTimestamp(a.begin, b.begin));
  return model;
}

function sequenceState(
  sequences: Map<number, SequenceState>,
  sequenceId: number,
): SequenceState {
  let state = sequences.get(sequenceId);
  if (state === undefined) {
    state = new SequenceState();
    sequences.set(sequenceId, state);
  }
  return state;
}

function addPacket(
  model: TraceModel,
  packet: TracePacket,
  state: SequenceState,
): void {
  const { data } = packet;
  switch (data.case) {
    case "trackEvent":
      model.events.push(toEvent(packet, data.value, state));
      break;
    case "trackDescriptor":
      addTrack(model, data.value, packet.trustedPacketSequenceId);
      break;
    case "processTree":
      addProcessTree(model, data.value);
      break;
    case "clockSnapshot":
      model.clockSnapshots.push(toClockSnapshot(packet, data.value));
      break;
  }
}

const EVENT_TYPES: Record<number, EventType> = {
  [TrackEvent_Type.SLICE_BEGIN]: "slice_begin",
  [TrackEvent_Type.SLICE_END]: "slice_end",
  [TrackEvent_Type.INSTANT]: "instant",
  [TrackEvent_Type.COUNTER]: "counter",
};

function toEvent(
  packet: TracePacket,
  event: TrackEvent,
  state: SequenceState,
): TraceEvent {
  const categories = [
    ...event.categoryIids.map((iid) => state.categories.get(iid)),
    ...event.categories,
  ].filter((category): category is string => category !== undefined);

  return {
    ts: packet.timestamp,
    sequenceId: packet.trustedPacketSequenceId,
    trackUuid: event.trackUuid,
    pid: undefined,
    tid: undefined,
    type: EVENT_TYPES[event.type] ?? "unspecified",
    name: eventName(event, state),
    category: categories[0],
    categories,
    args: eventArgs(event, state),
    flowIds: [...event.flowIds],
  };
}

function eventName(
  event: TrackEvent,
  state: SequenceState,
): string | undefined {
  const field = event.nameField;
  if (field.case === "name") return field.value;
  if (field.case === "nameIid") return state.eventNames.get(field.value);
  return undefined;
}

function eventArgs(
  event: TrackEvent,
  state: SequenceState,
): Record<string, AnnotationValue> {
  const args: Record<string, AnnotationValue> = {};
  const lookupString = (iid: bigint) => state.stringValues.get(iid);

  for (const annotation of event.debugAnnotations) {
    const field = annotation.nameField;
    const name =
      field.case === "nameIid"
        ? state.annotationNames.get(field.value)
        : field.value;
    const value = decodeAnnotationValue(annotation, lookupString);
    if (name !== undefined && value !== undefined) args[name] = value;
  }
  return args;
}

function addTrack(
  model: TraceModel,
  descriptor: TrackDescriptor,
  sequenceId: number,
): void {
  const process = descriptor.process;
  const thread = descriptor.thread;
  model.tracks.set(descriptor.uuid, {
    uuid: descriptor.uuid,
    parentUuid: descriptor.parentUuid || undefined,
    name: descriptor.name || undefined,
    pid: thread?.pid ?? process?.pid,
    tid: thread === undefined ? undefined : Number(thread.tid),
    sequenceId,
  });

  if (process !== undefined) {
    const info = processInfo(model, process.pid);
    if (info.cmdline.length === 0) info.cmdline = [...process.cmdline];
    info.name = process.processName || info.name;
  }
  if (thread !== undefined) {
    const info = threadInfo(model, Number(thread.tid));
    info.pid = thread.pid;
    info.name = thread.threadName || info.name;
  }
}

function addProcessTree(model: TraceModel, tree: ProcessTree): void {
  for (const process of tree.processes) {
    const info = processInfo(model, process.pid);
    info.ppid = process.ppid;
    if (process.cmdline.length > 0) info.cmdline = [...process.cmdline];
  }
  for (const thread of tree.threads) {
    const info = threadInfo(model, thread.tid);
    info.pid = thread.tgid || info.pid;
    info.name = thread.name || info.name;
  }
}

function processInfo(model: TraceModel, pid: number): ProcessInfo {
  let info = model.processes.get(pid);
  if (info === undefined) {
    info = { pid, ppid: undefined, cmdline: [], name: undefined };
    model.processes.set(pid, info);
  }
  return info;
}

function threadInfo(model: TraceModel, tid: number): ThreadInfo {
  let info = model.threads.get(tid);
  if (info === undefined) {
    info = { tid, pid: undefined, name: undefined };
    model.threads.set(tid, info);
  }
  return info;
}

function toClockSnapshot(
  packet: TracePacket,
  snapshot: ClockSnapshot,
): ClockSnapshotInfo {
  return {
    ts: packet.timestamp || undefined,
    sequenceId: packet.trustedPacketSequenceId,
    clocks: snapshot.clocks.map((clock) => ({
      clockId: clock.clockId,
      timestamp: clock.timestamp,
    })),
  };
}

// Descriptors may follow the events that use their track, so pids are filled
// in once every packet has been seen. A thread track without a pid takes the
// pid of its parent track.
function resolveTracks(model: TraceModel): void {
  for (const track of model.tracks.values()) {
    if (track.pid !== undefined || track.parentUuid === undefined) continue;
    track.pid = model.tracks.get(track.parentUuid)?.pid;
  }

  for (const event of model.events) {
    const track = model.tracks.get(event.trackUuid);
    event.pid = track?.pid;
    event.tid = track?.tid;
  }
}

// Perfetto closes the innermost open slice of the end event's track, so each
// track keeps a stack of open slices. Events are still in file order here.
function matchSlices(events: TraceEvent[]): TraceSlice[] {
  const slices: TraceSlice[] = [];
  const open = new Map<bigint, TraceSlice[]>();

  for (const event of events) {
    const stack = open.get(event.trackUuid) ?? [];
    open.set(event.trackUuid, stack);

    if (event.type === "slice_begin") {
      const slice = {
        begin: event,
        end: undefined,
        dur: undefined,
        depth: stack.length,
      };
      stack.push(slice);
      slices.push(slice);
    } else if (event.type === "slice_end") {
      closeSlice(stack.pop(), event);
    }
  }
  return slices;
}

function closeSlice(slice: TraceSlice | undefined, end: TraceEvent): void {
  if (slice === undefined) return;

  slice.end = end;
  slice.dur = end.ts - slice.begin.ts;
  end.name ??= slice.begin.name;
  end.category ??= slice.begin.category;
}

function byTimestamp(a: TraceEvent, b: TraceEvent): number {
  if (a.ts === b.ts) return 0;
  return a.ts < b.ts ? -1 : 1;
}
