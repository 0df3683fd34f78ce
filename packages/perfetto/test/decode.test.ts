import { create } from "@bufbuild/protobuf";
import { deflateSync, gzipSync, zlibSync } from "fflate";

import {
  PerfettoError,
  TracePacketSchema,
  TraceWriter,
  decodeTrace,
  encodeTrace,
  isPerfettoError,
  readFrames,
  readTrace,
  scanPacketHeader,
} from "../src/index.js";

function sampleTrace(sequenceId = 1): Uint8Array {
  const writer = new TraceWriter({ sequenceId });
  writer.instant({
    timestamp: 10n,
    trackUuid: 1n,
    name: "open",
    args: { path: "/a" },
  });
  writer.instant({
    timestamp: 20n,
    trackUuid: 1n,
    name: "stat",
    args: { path: "/b" },
  });
  return writer.encode();
}

function compressedPacket(payload: Uint8Array) {
  return create(TracePacketSchema, {
    data: { case: "compressedPackets", value: payload },
  });
}

function catchError(action: () => unknown): PerfettoError {
  try {
    action();
  } catch (error) {
    if (isPerfettoError(error)) return error;
    throw error;
  }
  throw new Error("expected a PerfettoError, but nothing was thrown");
}

describe("decodeTrace compression", () => {
  it("expands zlib-wrapped packets", () => {
    const trace = encodeTrace([compressedPacket(zlibSync(sampleTrace()))]);

    const names = readTrace(trace).events.map((event) => event.name);

    expect(names).toEqual(["open", "stat"]);
  });

  it("expands gzip-wrapped packets", () => {
    const trace = encodeTrace([compressedPacket(gzipSync(sampleTrace()))]);

    expect(decodeTrace(trace)).toHaveLength(2);
  });

  it("rejects raw deflate", () => {
    const trace = encodeTrace([compressedPacket(deflateSync(sampleTrace()))]);

    const error = catchError(() => decodeTrace(trace));

    expect(error.code).toBe("BAD_COMPRESSION");
    expect(error.message).toMatch(/raw deflate is not accepted/);
    expect(error.message).toMatch(/byte offset 0/);
  });

  it("rejects nested compression", () => {
    const inner = encodeTrace([compressedPacket(zlibSync(sampleTrace()))]);
    const trace = encodeTrace([compressedPacket(zlibSync(inner))]);

    const error = catchError(() => decodeTrace(trace));

    expect(error.code).toBe("NESTED_COMPRESSION");
  });

  it("rejects a truncated compressed payload", () => {
    const payload = zlibSync(sampleTrace());
    const trace = encodeTrace([
      compressedPacket(payload.subarray(0, payload.length - 8)),
    ]);

    const error = catchError(() => decodeTrace(trace));

    expect(error.code).toBe("BAD_COMPRESSION");
    expect(error.message).toMatch(/truncated or corrupt/);
    expect(error.cause).toBeDefined();
  });

  it("keeps plain packets around compressed ones in order", () => {
    const before = sampleTrace(1);
    const compressed = encodeTrace([
      compressedPacket(zlibSync(sampleTrace(2))),
    ]);
    const trace = Buffer.concat([before, compressed]);

    const sequences = decodeTrace(trace).map((p) => p.trustedPacketSequenceId);

    expect(sequences).toEqual([1, 1, 2, 2]);
  });
});

describe("decodeTrace errors", () => {
  it("reports a truncated file with its offset", () => {
    const trace = sampleTrace();
    const secondFrame = readFrames(trace).frames[1]!.offset;

    const error = catchError(() =>
      decodeTrace(trace.subarray(0, trace.length - 1)),
    );

    expect(error).toBeInstanceOf(PerfettoError);
    expect(error.code).toBe("TRUNCATED");
    expect(error.message).toContain("truncated");
    expect(error.message).toContain(`byte offset ${secondFrame}`);
  });

  it("reports a length cut inside its varint", () => {
    const trace = new Uint8Array([0x0a, 0x80]);

    const error = catchError(() => decodeTrace(trace));

    expect(error.code).toBe("TRUNCATED");
    expect(error.message).toContain("byte offset 0");
  });

  it("reports garbage as not a trace", () => {
    const garbage = new TextEncoder().encode("#!/bin/sh\necho hello\n");

    const error = catchError(() => decodeTrace(garbage));

    expect(error.code).toBe("NOT_A_TRACE");
    expect(error.message).toMatch(/Not a Perfetto trace/);
    expect(error.message).toMatch(
      /0x23 at byte offset 0|byte offset 0, found 0x23/,
    );
  });

  it("reports garbage after valid packets with its offset", () => {
    const trace = sampleTrace();
    const withGarbage = Buffer.concat([trace, Buffer.from([0xff, 0x01])]);

    const error = catchError(() => decodeTrace(withGarbage));

    expect(error.code).toBe("NOT_A_TRACE");
    expect(error.message).toContain(`byte offset ${trace.length}`);
  });

  it("reports a malformed packet body", () => {
    const body = [0x08, 0xff];
    const trace = new Uint8Array([0x0a, body.length, ...body]);

    const error = catchError(() => decodeTrace(trace));

    expect(error.code).toBe("MALFORMED_PACKET");
    expect(error.message).toContain("byte offset 0");
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("decodes an empty file as no packets", () => {
    expect(decodeTrace(new Uint8Array())).toEqual([]);
  });
});

describe("readFrames", () => {
  it("stops before an incomplete frame", () => {
    const trace = sampleTrace(4);
    const cut = trace.subarray(0, trace.length - 2);

    const { frames, end } = readFrames(cut);

    expect(frames).toHaveLength(1);
    expect(end).toBe(frames[0]!.frame.length);
    expect(frames[0]!.timestamp).toBe(10n);
    expect(frames[0]!.sequenceId).toBe(4);
  });

  it("starts at an offset", () => {
    const trace = sampleTrace(4);
    const first = readFrames(trace).frames[0]!;

    const { frames, end } = readFrames(trace, first.frame.length);

    expect(frames.map((frame) => frame.timestamp)).toEqual([20n]);
    expect(end).toBe(trace.length);
  });

  it("raises on a bad tag", () => {
    const error = catchError(() => readFrames(new Uint8Array([0x12, 0x00])));

    expect(error.code).toBe("NOT_A_TRACE");
  });
});

describe("scanPacketHeader", () => {
  const scan = (bytes: number[]) => scanPacketHeader(Uint8Array.from(bytes));

  it("finds both fields in any order, past other fields of every wire type", () => {
    // track_event (11, bytes), a fixed64 (2), a fixed32 (3), then
    // trusted_packet_sequence_id (10) = 2 and timestamp (8) = 300.
    const packet = [
      0x5a, 0x02, 0x08, 0x01,
      0x11, 1, 2, 3, 4, 5, 6, 7, 8,
      0x1d, 1, 2, 3, 4,
      0x50, 0x02,
      0x40, 0xac, 0x02,
    ];
    expect(scan(packet)).toEqual({ timestamp: 300n, sequenceId: 2 });
  });

  it("keeps timestamps above 2^53 exact", () => {
    // 2^63 - 1 as a varint: eight bytes of 0xff, then 0x7f.
    const packet = [0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    expect(scan(packet).timestamp).toBe(2n ** 63n - 1n);
  });

  it("returns zeros for a packet without them", () => {
    expect(scan([0x5a, 0x00])).toEqual({ timestamp: 0n, sequenceId: 0 });
  });

  it.each([
    ["a truncated varint", [0x40, 0x80]],
    ["a length past the end", [0x5a, 0x05, 0x01]],
    ["a group", [0x0b]],
    ["a varint of 11 bytes", [0x40, ...Array(10).fill(0x80), 0x01]],
  ])("raises MALFORMED_PACKET on %s", (_name, bytes) => {
    const error = catchError(() => scan(bytes as number[]));
    expect(error.code).toBe("MALFORMED_PACKET");
  });
});
