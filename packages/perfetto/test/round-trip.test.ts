import {
  BuiltinClock,
  PerfettoError,
  TraceWriter,
  TracePacket_SequenceFlags,
  decodeTrace,
  encodeTrace,
  processTrackUuid,
  readTrace,
  threadTrackUuid,
} from "../src/index.js";

const PROCESS_TRACK = processTrackUuid(1);
const THREAD_TRACK = threadTrackUuid(1, 1);

function writeProcessTrace(writer: TraceWriter): void {
  writer.processTrack({ uuid: PROCESS_TRACK, pid: 100 });
  writer.threadTrack({
    uuid: THREAD_TRACK,
    parentUuid: PROCESS_TRACK,
    pid: 100,
    tid: 100,
  });
  writer.processTree({
    timestamp: 1000n,
    processes: [{ pid: 100, ppid: 1, cmdline: ["gcc", "-c", "a.c"] }],
  });
  writer.beginSlice({
    timestamp: 1000n,
    trackUuid: THREAD_TRACK,
    name: "gcc",
    category: "process",
    args: { argv: ["gcc", "-c", "a.c"], cwd: "/src" },
  });
  writer.instant({
    timestamp: 1500,
    trackUuid: THREAD_TRACK,
    name: "openat",
    category: "file",
    args: { path: "a.c", result: 3, flags: 0, ok: true, ratio: 0.5 },
  });
  writer.instant({
    timestamp: 1600n,
    trackUuid: THREAD_TRACK,
    name: "openat",
    category: "file",
    args: { path: "missing.h", result: -2, big: 2n ** 63n + 5n },
  });
  writer.endSlice({ timestamp: 2000n, trackUuid: THREAD_TRACK });
}

describe("TraceWriter and readTrace", () => {
  it("round-trips tracks, processes and events", () => {
    const writer = new TraceWriter({ sequenceId: 2 });
    writeProcessTrace(writer);

    const model = readTrace(writer.encode());

    expect(model.processes.get(100)).toEqual({
      pid: 100,
      ppid: 1,
      cmdline: ["gcc", "-c", "a.c"],
      name: undefined,
    });
    expect(model.threads.get(100)).toEqual({
      tid: 100,
      pid: 100,
      name: undefined,
    });
    expect(model.tracks.get(THREAD_TRACK)).toMatchObject({
      uuid: THREAD_TRACK,
      parentUuid: PROCESS_TRACK,
      pid: 100,
      tid: 100,
      sequenceId: 2,
    });
    expect(model.tracks.get(PROCESS_TRACK)).toMatchObject({
      pid: 100,
      tid: undefined,
    });
    expect(model.events.map((event) => [event.type, event.name])).toEqual([
      ["slice_begin", "gcc"],
      ["instant", "openat"],
      ["instant", "openat"],
      ["slice_end", "gcc"],
    ]);
  });

  it("resolves annotations to JavaScript values", () => {
    const writer = new TraceWriter({ sequenceId: 2 });
    writeProcessTrace(writer);

    const [begin, open, missing] = readTrace(writer.encode()).events;

    expect(begin).toMatchObject({
      ts: 1000n,
      sequenceId: 2,
      trackUuid: THREAD_TRACK,
      pid: 100,
      tid: 100,
      category: "process",
      categories: ["process"],
    });
    expect(begin!.args).toEqual({ argv: ["gcc", "-c", "a.c"], cwd: "/src" });
    expect(open!.args).toEqual({
      path: "a.c",
      result: 3,
      flags: 0,
      ok: true,
      ratio: 0.5,
    });
    expect(open!.ts).toBe(1500n);
    expect(missing!.args).toEqual({
      path: "missing.h",
      result: -2,
      big: 2n ** 63n + 5n,
    });
  });

  it("round-trips nested arrays and objects", () => {
    const writer = new TraceWriter();
    const value = { list: [1, "two", [false]], inner: { depth: 2 } };
    writer.instant({
      timestamp: 1n,
      trackUuid: 1n,
      name: "x",
      args: { value },
    });

    const [event] = readTrace(writer.encode()).events;

    expect(event!.args.value).toEqual(value);
  });

  it("pairs slices per track and computes durations", () => {
    const writer = new TraceWriter({ sequenceId: 2 });
    writeProcessTrace(writer);
    writer.beginSlice({ timestamp: 3000n, trackUuid: THREAD_TRACK, name: "a" });
    writer.beginSlice({ timestamp: 3100n, trackUuid: THREAD_TRACK, name: "b" });
    writer.endSlice({ timestamp: 3200n, trackUuid: THREAD_TRACK });

    const { slices } = readTrace(writer.encode());

    expect(slices.map((slice) => slice.begin.name)).toEqual(["gcc", "a", "b"]);
    expect(slices.map((slice) => slice.dur)).toEqual([1000n, undefined, 100n]);
    expect(slices.map((slice) => slice.depth)).toEqual([0, 0, 1]);
  });

  it("keeps clock snapshots", () => {
    const writer = new TraceWriter();
    writer.clockSnapshot({
      timestamp: 50n,
      clocks: [
        { clockId: BuiltinClock.BOOTTIME, timestamp: 50n },
        {
          clockId: BuiltinClock.REALTIME,
          timestamp: 1_700_000_000_000_000_000n,
        },
      ],
      primaryTraceClock: BuiltinClock.BOOTTIME,
    });

    const model = readTrace(writer.encode());

    expect(model.clockSnapshots).toEqual([
      {
        ts: 50n,
        sequenceId: 1,
        clocks: [
          { clockId: 6, timestamp: 50n },
          { clockId: 1, timestamp: 1_700_000_000_000_000_000n },
        ],
      },
    ]);
  });

  it("sets incremental state flags", () => {
    const writer = new TraceWriter({ sequenceId: 3 });
    writeProcessTrace(writer);
    writer.clearIncrementalState();
    writer.instant({ timestamp: 5000n, trackUuid: THREAD_TRACK, name: "exit" });

    const packets = decodeTrace(writer.encode());
    const flags = packets.map((packet) => packet.sequenceFlags);

    const cleared = TracePacket_SequenceFlags.SEQ_INCREMENTAL_STATE_CLEARED;
    const needs = TracePacket_SequenceFlags.SEQ_NEEDS_INCREMENTAL_STATE;
    expect(flags).toEqual([
      cleared,
      needs,
      needs,
      needs,
      needs,
      needs,
      needs,
      cleared,
    ]);
    expect(packets[0]!.firstPacketOnSequence).toBe(true);
    expect(packets[7]!.firstPacketOnSequence).toBe(false);
    expect(
      packets.every((packet) => packet.trustedPacketSequenceId === 3),
    ).toBe(true);
  });

  it("interns each string once per incremental state", () => {
    const writer = new TraceWriter();
    writeProcessTrace(writer);
    writer.clearIncrementalState();
    writer.instant({
      timestamp: 5000n,
      trackUuid: 1n,
      name: "openat",
      args: { path: "b" },
    });

    const packets = decodeTrace(writer.encode());
    const names = packets.flatMap(
      (packet) =>
        packet.internedData?.eventNames.map((entry) => entry.name) ?? [],
    );
    const annotationNames = packets.flatMap(
      (packet) =>
        packet.internedData?.debugAnnotationNames.map((entry) => entry.name) ??
        [],
    );

    expect(names).toEqual(["gcc", "openat", "openat"]);
    expect(annotationNames.filter((name) => name === "path")).toHaveLength(2);
    expect(readTrace(encodeTrace(packets)).events.at(-1)!.args).toEqual({
      path: "b",
    });
  });

  it("rejects an invalid sequence id", () => {
    expect(() => new TraceWriter({ sequenceId: 0 })).toThrow(PerfettoError);
    expect(() => new TraceWriter({ sequenceId: 2 ** 32 })).toThrow(
      /Invalid option sequenceId/,
    );
  });

  it("rejects a negative timestamp", () => {
    const writer = new TraceWriter();

    expect(() =>
      writer.instant({ timestamp: -1, trackUuid: 1n, name: "x" }),
    ).toThrow(/Invalid timestamp/);
  });
});
