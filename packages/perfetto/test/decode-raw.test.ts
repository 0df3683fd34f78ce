// Checks written bytes with `protoc --decode_raw`, which decodes without a
// schema, so field numbers are compared with Perfetto's own rather than with
// the package's generated code.
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { unzlibSync } from "fflate";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  TraceWriter,
  processTrackUuid,
  threadTrackUuid,
} from "../src/index.js";
import { mergeBufferDir } from "../src/node.js";

interface RawField {
  field: number;
  value?: string;
  children?: RawField[];
}

function decodeRaw(bytes: Uint8Array): RawField[] {
  const result = spawnSync("protoc", ["--decode_raw"], { input: bytes });
  if (result.error !== undefined) {
    throw new Error(
      `protoc --decode_raw failed to start (${result.error.message}); install protobuf-compiler, for example with apt-get install protobuf-compiler`,
    );
  }
  if (result.status !== 0) {
    throw new Error(`protoc --decode_raw failed: ${result.stderr.toString()}`);
  }
  return parseRawText(result.stdout.toString());
}

// decode_raw prints `N: value` for scalars and `N { ... }` for nested
// messages, one per line.
function parseRawText(text: string): RawField[] {
  const root: RawField[] = [];
  const stack: RawField[][] = [root];

  for (const line of text.split("\n").map((l) => l.trim())) {
    if (line === "") continue;
    const current = stack[stack.length - 1]!;
    if (line === "}") {
      stack.pop();
      continue;
    }

    const open = /^(\d+) \{$/.exec(line);
    if (open !== null) {
      const children: RawField[] = [];
      current.push({ field: Number(open[1]), children });
      stack.push(children);
      continue;
    }

    const scalar = /^(\d+): (.*)$/.exec(line);
    if (scalar === null) throw new Error(`unexpected decode_raw line: ${line}`);
    current.push({ field: Number(scalar[1]), value: scalar[2] });
  }
  return root;
}

function get(fields: RawField[], field: number): RawField | undefined {
  return fields.find((entry) => entry.field === field);
}

function scalarOf(fields: RawField[], field: number): string | undefined {
  return get(fields, field)?.value;
}

// Extracts compressed_packets (field 50) of each Trace.packet with the
// generic wire reader, not with the package's schema.
function compressedPayloads(trace: Uint8Array): Uint8Array[] {
  const payloads: Uint8Array[] = [];
  const outer = new BinaryReader(trace);

  while (outer.pos < outer.len) {
    const [field, wireType] = outer.tag();
    expect([field, wireType]).toEqual([1, WireType.LengthDelimited]);
    const packet = new BinaryReader(outer.bytes());
    while (packet.pos < packet.len) {
      const [inner, innerType] = packet.tag();
      if (inner === 50) payloads.push(packet.bytes());
      else packet.skip(innerType, inner);
    }
  }
  return payloads;
}

function writeProcess(
  sequenceId: number,
  pid: number,
  start: number,
): Uint8Array {
  const index = sequenceId - 1;
  const writer = new TraceWriter({ sequenceId });
  const thread = threadTrackUuid(index, 1);

  writer.processTrack({ uuid: processTrackUuid(index), pid });
  writer.threadTrack({
    uuid: thread,
    parentUuid: processTrackUuid(index),
    pid,
    tid: pid,
  });
  writer.processTree({
    timestamp: start,
    processes: [{ pid, ppid: 1, cmdline: ["cc", "x.c"] }],
  });

  writer.beginSlice({
    timestamp: start,
    trackUuid: thread,
    name: "cc",
    category: "process",
    args: { argv: ["cc", "x.c"] },
  });
  writer.beginSlice({
    timestamp: start + 1,
    trackUuid: thread,
    name: "nested",
    category: "process",
  });
  writer.instant({
    timestamp: start + 2,
    trackUuid: thread,
    name: "openat",
    category: "file",
    args: { path: "x.c", result: 3 },
  });
  writer.endSlice({ timestamp: start + 3, trackUuid: thread });
  writer.instant({
    timestamp: start + 4,
    trackUuid: thread,
    name: "exit",
    category: "process",
    args: { status: 0 },
  });
  writer.endSlice({ timestamp: start + 5, trackUuid: thread });

  return writer.encode();
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "perfetto-decode-raw-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("protoc --decode_raw", () => {
  it("reads the writer's field numbers", () => {
    const packets = decodeRaw(writeProcess(2, 100, 1000));

    expect(packets.every((entry) => entry.field === 1)).toBe(true);
    const events = packets.filter((entry) => get(entry.children!, 11));
    expect(events).toHaveLength(6);
    const first = events[0]!.children!;
    expect(scalarOf(first, 8)).toBe("1000");
    expect(scalarOf(first, 10)).toBe("2");
    expect(get(first, 12)).toBeDefined();
    expect(scalarOf(get(first, 11)!.children!, 9)).toBe("1");
    expect(scalarOf(get(first, 11)!.children!, 11)).toBe(
      String(threadTrackUuid(1, 1)),
    );
    expect(get(packets[0]!.children!, 60)).toBeDefined();
    expect(get(packets[2]!.children!, 2)).toBeDefined();
  });

  it("reads merged, compressed output", async () => {
    const buffers = join(dir, "buffers");
    const output = join(dir, "perfetto");
    await mkdir(buffers);
    await writeFile(join(buffers, "p100-s2.pb"), writeProcess(2, 100, 1000));
    await writeFile(join(buffers, "p200-s3.pb"), writeProcess(3, 200, 1002));
    await mergeBufferDir(buffers, output);
    const trace = await readFile(output);

    const outer = decodeRaw(trace);
    const payloads = compressedPayloads(trace);
    const inner = payloads.flatMap((payload) => decodeRaw(unzlibSync(payload)));

    expect(outer.length).toBeGreaterThan(0);
    expect(outer.every((entry) => get(entry.children!, 50))).toBe(true);
    expect(payloads).toHaveLength(outer.length);
    expect(inner.every((entry) => entry.field === 1)).toBe(true);
    expect(inner.some((entry) => get(entry.children!, 50))).toBe(false);
    expect(inner).toHaveLength(18);
    checkSequenceFlags(inner);
    checkBalancedSlices(inner);
    checkTimestampOrder(inner);
  });
});

// The first packet of each sequence clears the incremental state (1) and
// every later packet needs it (2).
function checkSequenceFlags(packets: RawField[]): void {
  const seen = new Set<string>();

  for (const packet of packets) {
    const sequence = scalarOf(packet.children!, 10);
    const flags = scalarOf(packet.children!, 13);
    expect(sequence).toBeDefined();
    expect(flags).toBe(seen.has(sequence!) ? "2" : "1");
    seen.add(sequence!);
  }
  expect([...seen].sort()).toEqual(["2", "3"]);
}

function checkBalancedSlices(packets: RawField[]): void {
  const depth = new Map<string, number>();

  for (const packet of packets) {
    const event = get(packet.children!, 11)?.children;
    if (event === undefined) continue;

    const track = scalarOf(event, 11)!;
    const type = scalarOf(event, 9);
    const next = (depth.get(track) ?? 0) + depthChange(type);
    expect(next).toBeGreaterThanOrEqual(0);
    depth.set(track, next);
  }
  expect(depth.size).toBe(2);
  expect([...depth.values()]).toEqual([0, 0]);
}

function checkTimestampOrder(packets: RawField[]): void {
  const timestamps = packets
    .map((packet) => scalarOf(packet.children!, 8))
    .filter((value): value is string => value !== undefined)
    .map((value) => BigInt(value));
  const sorted = [...timestamps].sort(compareBigints);

  expect(timestamps).toEqual(sorted);
}

// TrackEvent.Type: 1 is TYPE_SLICE_BEGIN and 2 is TYPE_SLICE_END.
function depthChange(type: string | undefined): number {
  if (type === "1") return 1;
  if (type === "2") return -1;
  return 0;
}

function compareBigints(a: bigint, b: bigint): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
