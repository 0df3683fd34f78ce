import { fromBinary } from "@bufbuild/protobuf";
import {
  appendFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  TraceSchema,
  TraceWriter,
  decodeTrace,
  readTrace,
} from "../src/index.js";
import { BufferCollector, mergeBufferDir } from "../src/node.js";

let dir: string;
let buffers: string;
let output: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "perfetto-collector-"));
  buffers = join(dir, "buffers");
  output = join(dir, "perfetto");
  await mkdir(buffers);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function instants(sequenceId: number, timestamps: number[]): Uint8Array {
  const writer = new TraceWriter({ sequenceId });
  for (const timestamp of timestamps) {
    writer.instant({
      timestamp,
      trackUuid: BigInt(sequenceId) << 32n,
      name: `event-${sequenceId}-${timestamp}`,
      args: { at: timestamp },
    });
  }
  return writer.encode();
}

describe("BufferCollector", () => {
  it("merges buffers ordered by timestamp", async () => {
    await writeFile(join(buffers, "core-s1.pb"), instants(1, [10, 40]));
    await writeFile(join(buffers, "p100-s2.pb"), instants(2, [20, 30, 50]));

    const summary = await mergeBufferDir(buffers, output);
    const model = readTrace(await readFile(output));

    expect(summary.packets).toBe(5);
    expect(summary.files).toBe(2);
    expect(summary.incompleteTails).toEqual([]);
    expect(model.events.map((event) => event.ts)).toEqual([
      10n,
      20n,
      30n,
      40n,
      50n,
    ]);
    expect(model.events.map((event) => event.name)).toEqual([
      "event-1-10",
      "event-2-20",
      "event-2-30",
      "event-1-40",
      "event-2-50",
    ]);
  });

  it("writes only compressed packets", async () => {
    await writeFile(join(buffers, "p100-s2.pb"), instants(2, [1, 2, 3]));

    await mergeBufferDir(buffers, output);
    const outer = await readFile(output);

    expect(outer[0]).toBe(0x0a);
    expect(decodeTrace(outer)).toHaveLength(3);
    const trace = fromBinary(TraceSchema, outer);
    expect(trace.packet.map((packet) => packet.data.case)).toEqual([
      "compressedPackets",
    ]);
  });

  it("reads files that grow and appear between polls", async () => {
    const first = join(buffers, "p100-s2.pb");
    const later = join(buffers, "p200-s3.pb");
    const released: [string, number][] = [];
    const collector = new BufferCollector({
      dir: buffers,
      output,
      onRelease: (file, offset) => {
        released.push([file, offset]);
      },
    });
    const writer = new TraceWriter({ sequenceId: 2 });
    writer.instant({ timestamp: 1, trackUuid: 1n, name: "a" });
    const part1 = writer.encode();
    writer.instant({ timestamp: 2, trackUuid: 1n, name: "a" });
    const part2 = writer.encode();
    await writeFile(first, part1);

    const poll1 = await collector.poll();
    await appendFile(first, part2);
    await writeFile(later, instants(3, [5]));
    const poll2 = await collector.poll();
    const summary = await collector.finish();

    expect(poll1.packets).toBe(1);
    expect(poll2.packets).toBe(2);
    expect(summary.packets).toBe(3);
    expect(released).toEqual([
      [first, part1.length],
      [first, part1.length + part2.length],
      [later, instants(3, [5]).length],
    ]);
    const model = readTrace(await readFile(output));
    expect(model.events.map((event) => event.name)).toEqual([
      "a",
      "a",
      "event-3-5",
    ]);
  });

  it("leaves a torn last frame for the next poll", async () => {
    const file = join(buffers, "p100-s2.pb");
    const bytes = instants(2, [1, 2]);
    const cut = bytes.length - 3;
    const collector = new BufferCollector({ dir: buffers, output });
    await writeFile(file, bytes.subarray(0, cut));

    const torn = await collector.poll();
    await appendFile(file, bytes.subarray(cut));
    const completed = await collector.poll();
    const summary = await collector.finish();

    expect(torn.packets).toBe(1);
    expect(completed.packets).toBe(1);
    expect(summary.incompleteTails).toEqual([]);
    expect(readTrace(await readFile(output)).events).toHaveLength(2);
  });

  it("reports a tail still torn at finish", async () => {
    const file = join(buffers, "p100-s2.pb");
    const bytes = instants(2, [1, 2]);
    await writeFile(file, bytes.subarray(0, bytes.length - 3));

    const summary = await mergeBufferDir(buffers, output);

    expect(summary.packets).toBe(1);
    expect(summary.incompleteTails).toHaveLength(1);
    expect(summary.incompleteTails[0]!.file).toBe(file);
    expect(summary.incompleteTails[0]!.bytes).toBeGreaterThan(0);
  });

  it("keeps sequence order for packets without timestamps", async () => {
    const writer = new TraceWriter({ sequenceId: 2 });
    writer.instant({ timestamp: 100, trackUuid: 7n, name: "first" });
    writer.threadTrack({ uuid: 7n, pid: 5, tid: 5 });
    await writeFile(join(buffers, "p5-s2.pb"), writer.encode());
    await writeFile(join(buffers, "core-s1.pb"), instants(1, [50]));

    await mergeBufferDir(buffers, output);
    const packets = decodeTrace(await readFile(output));

    expect(packets.map((packet) => packet.data.case)).toEqual([
      "trackEvent",
      "trackEvent",
      "trackDescriptor",
    ]);
    expect(packets[1]!.trustedPacketSequenceId).toBe(2);
  });

  it("splits output into chunks", async () => {
    const bytes = instants(
      2,
      Array.from({ length: 200 }, (_, i) => i),
    );
    await writeFile(join(buffers, "p1-s2.pb"), bytes);

    await mergeBufferDir(buffers, output, { chunkSize: 1024 });
    const trace = fromBinary(TraceSchema, await readFile(output));

    expect(trace.packet.length).toBeGreaterThanOrEqual(
      Math.floor(bytes.length / 1024),
    );
    expect(decodeTrace(await readFile(output))).toHaveLength(200);
  });

  it("leaves no output until finish", async () => {
    await writeFile(join(buffers, "p1-s2.pb"), instants(2, [1]));
    const collector = new BufferCollector({ dir: buffers, output });

    await collector.poll();
    const during = await readdir(dir);
    await collector.finish();
    const after = await readdir(dir);

    expect(during).not.toContain("perfetto");
    expect(after).toContain("perfetto");
    expect(after).not.toContain("perfetto.partial");
  });

  it("rejects use after finish", async () => {
    const collector = new BufferCollector({ dir: buffers, output });
    await collector.finish();

    await expect(collector.poll()).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("names the file of a corrupt buffer", async () => {
    const file = join(buffers, "p1-s2.pb");
    await writeFile(file, Buffer.from("garbage"));

    await expect(mergeBufferDir(buffers, output)).rejects.toThrow(file);
  });

  it("writes a valid empty trace without buffers", async () => {
    await mergeBufferDir(buffers, output);

    expect(decodeTrace(await readFile(output))).toEqual([]);
  });
});
