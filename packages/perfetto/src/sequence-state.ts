import type { InternedData } from "./gen/perfetto/protos/interned_data_pb.js";
import {
  TracePacket_SequenceFlags,
  type TracePacket,
} from "./gen/perfetto/protos/trace_packet_pb.js";

/** Interned strings of one packet sequence, as a reader sees them. */
export class SequenceState {
  readonly eventNames = new Map<bigint, string>();
  readonly categories = new Map<bigint, string>();
  readonly annotationNames = new Map<bigint, string>();
  readonly stringValues = new Map<bigint, string>();

  private readonly utf8 = new TextDecoder();

  /**
   * Applies a packet of this sequence: a packet that clears the incremental
   * state drops every earlier iid, then its interned_data adds new ones.
   */
  apply(packet: TracePacket): void {
    if (clearsIncrementalState(packet)) this.clear();
    if (packet.internedData !== undefined) this.add(packet.internedData);
  }

  private clear(): void {
    this.eventNames.clear();
    this.categories.clear();
    this.annotationNames.clear();
    this.stringValues.clear();
  }

  private add(interned: InternedData): void {
    for (const entry of interned.eventNames) {
      this.eventNames.set(entry.iid, entry.name);
    }
    for (const entry of interned.eventCategories) {
      this.categories.set(entry.iid, entry.name);
    }
    for (const entry of interned.debugAnnotationNames) {
      this.annotationNames.set(entry.iid, entry.name);
    }
    for (const entry of interned.debugAnnotationStringValues) {
      this.stringValues.set(entry.iid, this.utf8.decode(entry.str));
    }
  }
}

function clearsIncrementalState(packet: TracePacket): boolean {
  const flag = TracePacket_SequenceFlags.SEQ_INCREMENTAL_STATE_CLEARED;
  return (packet.sequenceFlags & flag) !== 0 || packet.incrementalStateCleared;
}
