import {
  TraceWriter,
  decodeTrace,
  encodeTrace,
  readTrace,
} from "../src/index.js";
import type { TracePacket } from "../src/index.js";

// Two writers give iid 1 to different strings; readers must resolve each
// iid against the interned data of its own sequence.
function twoSequences(): { first: TracePacket[]; second: TracePacket[] } {
  const first = new TraceWriter({ sequenceId: 2 });
  const second = new TraceWriter({ sequenceId: 3 });
  first.instant({
    timestamp: 1n,
    trackUuid: 1n << 32n,
    name: "openat",
    category: "file",
    args: { path: "/etc/hosts" },
  });
  second.instant({
    timestamp: 2n,
    trackUuid: 2n << 32n,
    name: "execve",
    category: "process",
    args: { argv: ["ls"] },
  });
  first.instant({
    timestamp: 3n,
    trackUuid: 1n << 32n,
    name: "openat",
    category: "file",
    args: { path: "/b" },
  });
  second.instant({
    timestamp: 4n,
    trackUuid: 2n << 32n,
    name: "execve",
    category: "process",
    args: { argv: ["cat"] },
  });
  return { first: first.takePackets(), second: second.takePackets() };
}

describe("interning across sequences", () => {
  it("uses the same iids for different strings", () => {
    const { first, second } = twoSequences();

    const firstIid = first[0]!.internedData!.eventNames[0]!.iid;
    const secondIid = second[0]!.internedData!.eventNames[0]!.iid;

    expect(firstIid).toBe(1n);
    expect(secondIid).toBe(1n);
  });

  it("resolves iids per sequence when interleaved", () => {
    const { first, second } = twoSequences();
    const interleaved = [first[0]!, second[0]!, first[1]!, second[1]!];

    const events = readTrace(encodeTrace(interleaved)).events;

    expect(
      events.map((event) => [event.sequenceId, event.name, event.category]),
    ).toEqual([
      [2, "openat", "file"],
      [3, "execve", "process"],
      [2, "openat", "file"],
      [3, "execve", "process"],
    ]);
    expect(events.map((event) => event.args)).toEqual([
      { path: "/etc/hosts" },
      { argv: ["ls"] },
      { path: "/b" },
      { argv: ["cat"] },
    ]);
  });

  it("drops iids when a sequence clears its state", () => {
    const writer = new TraceWriter({ sequenceId: 2 });
    writer.instant({ timestamp: 1n, trackUuid: 1n, name: "before" });
    writer.clearIncrementalState();
    writer.instant({ timestamp: 2n, trackUuid: 1n, name: "after" });
    const packets = writer.takePackets();
    // A copy of the first packet, sent after the clear, reuses iid 1, which
    // now means "after".
    const trace = encodeTrace([
      ...packets,
      withoutInternedData(packets[0]!, 3n),
    ]);

    const names = readTrace(trace).events.map((event) => event.name);

    expect(names).toEqual(["before", "after", "after"]);
  });

  it("leaves an undefined iid unresolved", () => {
    const writer = new TraceWriter({ sequenceId: 2 });
    writer.instant({ timestamp: 1n, trackUuid: 1n, name: "x", args: { a: 1 } });
    const [packet] = decodeTrace(writer.encode());
    packet!.internedData = undefined;

    const [event] = readTrace(encodeTrace([packet!])).events;

    expect(event!.name).toBeUndefined();
    expect(event!.args).toEqual({});
  });
});

function withoutInternedData(
  packet: TracePacket,
  timestamp: bigint,
): TracePacket {
  const [copy] = decodeTrace(encodeTrace([packet]));
  copy!.internedData = undefined;
  copy!.sequenceFlags = 2;
  copy!.firstPacketOnSequence = false;
  copy!.timestamp = timestamp;
  return copy!;
}
