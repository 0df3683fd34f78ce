import { create, type MessageInitShape } from "@bufbuild/protobuf";

import { createAnnotation, type Annotations } from "./annotations.js";
import { encodeTrace } from "./encode.js";
import { PerfettoError } from "./errors.js";
import type { BuiltinClock } from "./gen/perfetto/protos/builtin_clock_pb.js";
import {
  InternedDataSchema,
  type InternedData,
} from "./gen/perfetto/protos/interned_data_pb.js";
import {
  TracePacketSchema,
  TracePacket_SequenceFlags,
  type TracePacket,
} from "./gen/perfetto/protos/trace_packet_pb.js";
import { TrackEvent_Type } from "./gen/perfetto/protos/track_event_pb.js";
import { InternTable } from "./interning.js";

/** Nanoseconds, as a bigint or a safe integer number. */
export type Timestamp = bigint | number;

/** A track uuid, as a bigint or a safe integer number. */
export type TrackUuid = bigint | number;

export interface TraceWriterOptions {
  /**
   * trusted_packet_sequence_id of every packet: non-zero, at most 2^32 - 1,
   * and different for every writer of one trace. Default 1.
   */
  sequenceId?: number;
}

export const DEFAULT_TRACE_WRITER_OPTIONS: Readonly<
  Required<TraceWriterOptions>
> = Object.freeze({ sequenceId: 1 });

export interface ProcessTrackOptions {
  uuid: TrackUuid;
  pid: number;
  /** Track name shown by the UI; it defaults to the process name. */
  name?: string;
  /** argv; trace_processor ignores it here, so also write a ProcessTree. */
  cmdline?: readonly string[];
  timestamp?: Timestamp;
}

export interface ThreadTrackOptions {
  uuid: TrackUuid;
  /** The process track this thread belongs to. */
  parentUuid?: TrackUuid;
  pid: number;
  tid: number;
  name?: string;
  timestamp?: Timestamp;
}

export interface EventOptions {
  timestamp: Timestamp;
  trackUuid: TrackUuid;
  name: string;
  category?: string;
  /** Debug annotations; their names are interned. */
  args?: Annotations;
  flowIds?: readonly bigint[];
}

export interface SliceEndOptions {
  timestamp: Timestamp;
  trackUuid: TrackUuid;
}

export interface ProcessTreeOptions {
  timestamp?: Timestamp;
  processes: readonly {
    pid: number;
    ppid?: number;
    cmdline?: readonly string[];
  }[];
  threads?: readonly { tid: number; tgid?: number; name?: string }[];
}

export interface ClockSnapshotOptions {
  timestamp?: Timestamp;
  /** Clock ids are BuiltinClock values or ids of 64 and above. */
  clocks: readonly { clockId: number; timestamp: Timestamp }[];
  primaryTraceClock?: BuiltinClock;
}

type PacketInit = MessageInitShape<typeof TracePacketSchema>;

/**
 * Writes the packets of one Perfetto packet sequence. Event names,
 * categories and annotation names are interned per sequence: each string is
 * sent once, in the interned_data of the first packet that uses it. The first
 * packet, and the first after clearIncrementalState(), carries
 * SEQ_INCREMENTAL_STATE_CLEARED; every other packet carries
 * SEQ_NEEDS_INCREMENTAL_STATE.
 */
export class TraceWriter {
  readonly sequenceId: number;

  private readonly eventNames = new InternTable();
  private readonly categories = new InternTable();
  private readonly annotationNames = new InternTable();
  private packets: TracePacket[] = [];
  private stateCleared = false;
  private firstPacketWritten = false;

  constructor(options: TraceWriterOptions = {}) {
    const merged = { ...DEFAULT_TRACE_WRITER_OPTIONS, ...options };
    checkSequenceId(merged.sequenceId);
    this.sequenceId = merged.sequenceId;
  }

  /** Adds a TrackDescriptor for a process track. */
  processTrack(options: ProcessTrackOptions): TracePacket {
    return this.push({
      timestamp: optionalTimestamp(options.timestamp),
      data: {
        case: "trackDescriptor",
        value: {
          uuid: toUuid(options.uuid),
          name: options.name,
          process: { pid: options.pid, cmdline: [...(options.cmdline ?? [])] },
        },
      },
    });
  }

  /** Adds a TrackDescriptor for a thread track. */
  threadTrack(options: ThreadTrackOptions): TracePacket {
    const parentUuid =
      options.parentUuid === undefined ? undefined : toUuid(options.parentUuid);

    return this.push({
      timestamp: optionalTimestamp(options.timestamp),
      data: {
        case: "trackDescriptor",
        value: {
          uuid: toUuid(options.uuid),
          parentUuid,
          name: options.name,
          thread: { pid: options.pid, tid: BigInt(options.tid) },
        },
      },
    });
  }

  /** Opens a slice on a track; endSlice() on the same track closes it. */
  beginSlice(options: EventOptions): TracePacket {
    return this.pushEvent(TrackEvent_Type.SLICE_BEGIN, options);
  }

  /** Closes the innermost open slice of a track. */
  endSlice(options: SliceEndOptions): TracePacket {
    return this.push({
      timestamp: toTimestamp(options.timestamp),
      data: {
        case: "trackEvent",
        value: {
          type: TrackEvent_Type.SLICE_END,
          trackUuid: toUuid(options.trackUuid),
        },
      },
    });
  }

  /** Adds an instant event (a slice without duration). */
  instant(options: EventOptions): TracePacket {
    return this.pushEvent(TrackEvent_Type.INSTANT, options);
  }

  /** Adds a ProcessTree packet, where trace_processor reads ppid and argv. */
  processTree(options: ProcessTreeOptions): TracePacket {
    const processes = options.processes.map((process) => ({
      pid: process.pid,
      ppid: process.ppid,
      cmdline: [...(process.cmdline ?? [])],
    }));

    return this.push({
      timestamp: optionalTimestamp(options.timestamp),
      data: {
        case: "processTree",
        value: { processes, threads: [...(options.threads ?? [])] },
      },
    });
  }

  /** Adds a ClockSnapshot relating the clocks at one instant. */
  clockSnapshot(options: ClockSnapshotOptions): TracePacket {
    const clocks = options.clocks.map((clock) => ({
      clockId: clock.clockId,
      timestamp: toTimestamp(clock.timestamp),
    }));

    return this.push({
      timestamp: optionalTimestamp(options.timestamp),
      data: {
        case: "clockSnapshot",
        value: { clocks, primaryTraceClock: options.primaryTraceClock },
      },
    });
  }

  /**
   * Forgets every interned string, so the next packet starts the sequence's
   * incremental state again with SEQ_INCREMENTAL_STATE_CLEARED.
   */
  clearIncrementalState(): void {
    this.eventNames.clear();
    this.categories.clear();
    this.annotationNames.clear();
    this.stateCleared = false;
  }

  /** Returns the packets written since the last call and clears that list. */
  takePackets(): TracePacket[] {
    const packets = this.packets;
    this.packets = [];
    return packets;
  }

  /** Encodes the packets written since the last takePackets() as a Trace. */
  encode(): Uint8Array {
    return encodeTrace(this.takePackets());
  }

  private pushEvent(type: TrackEvent_Type, options: EventOptions): TracePacket {
    const args = Object.entries(options.args ?? {}).map(([name, value]) =>
      createAnnotation(this.annotationNames.intern(name), value),
    );
    const categoryIids =
      options.category === undefined
        ? []
        : [this.categories.intern(options.category)];
    const nameIid = this.eventNames.intern(options.name);

    return this.push({
      timestamp: toTimestamp(options.timestamp),
      data: {
        case: "trackEvent",
        value: {
          type,
          trackUuid: toUuid(options.trackUuid),
          nameField: { case: "nameIid", value: nameIid },
          categoryIids,
          debugAnnotations: args,
          flowIds: [...(options.flowIds ?? [])],
        },
      },
    });
  }

  private push(init: PacketInit): TracePacket {
    const packet = create(TracePacketSchema, init);
    packet.trustedPacketSequenceId = this.sequenceId;
    this.setSequenceFlags(packet);

    const interned = this.takeInterned();
    if (interned !== undefined) packet.internedData = interned;

    this.packets.push(packet);
    return packet;
  }

  private setSequenceFlags(packet: TracePacket): void {
    if (this.stateCleared) {
      packet.sequenceFlags =
        TracePacket_SequenceFlags.SEQ_NEEDS_INCREMENTAL_STATE;
      return;
    }

    packet.sequenceFlags =
      TracePacket_SequenceFlags.SEQ_INCREMENTAL_STATE_CLEARED;
    if (!this.firstPacketWritten) packet.firstPacketOnSequence = true;
    this.stateCleared = true;
    this.firstPacketWritten = true;
  }

  private takeInterned(): InternedData | undefined {
    const eventNames = this.eventNames.takePending();
    const eventCategories = this.categories.takePending();
    const debugAnnotationNames = this.annotationNames.takePending();
    const count =
      eventNames.length + eventCategories.length + debugAnnotationNames.length;
    if (count === 0) return undefined;

    return create(InternedDataSchema, {
      eventNames,
      eventCategories,
      debugAnnotationNames,
    });
  }
}

function checkSequenceId(sequenceId: number): void {
  if (
    Number.isInteger(sequenceId) &&
    sequenceId > 0 &&
    sequenceId <= 0xffffffff
  ) {
    return;
  }

  throw new PerfettoError(
    "INVALID_OPTION",
    `Invalid option sequenceId: expected an integer from 1 to 4294967295, got ${String(sequenceId)}`,
  );
}

function optionalTimestamp(value: Timestamp | undefined): bigint | undefined {
  return value === undefined ? undefined : toTimestamp(value);
}

function toTimestamp(value: Timestamp): bigint {
  return toUint64(value, "timestamp");
}

function toUuid(value: TrackUuid): bigint {
  return toUint64(value, "track uuid");
}

function toUint64(value: bigint | number, what: string): bigint {
  const valid =
    typeof value === "bigint"
      ? value >= 0n && value < 2n ** 64n
      : Number.isSafeInteger(value) && value >= 0;
  if (valid) return BigInt(value);

  throw new PerfettoError(
    "INVALID_OPTION",
    `Invalid ${what}: expected a non-negative integer below 2^64 (a bigint, or a safe integer number), got ${String(value)}`,
  );
}
