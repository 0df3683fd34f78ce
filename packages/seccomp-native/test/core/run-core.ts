// Runs the built uwrx-core directly and decodes what it produced: the
// control messages (with the generated schema) and the buffer files (at
// the protobuf wire level, independent of @uwrx/perfetto).
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import type { Readable } from "node:stream";
import {
  type CoreMessage,
  CoreMessageSchema,
} from "../../src/gen/uwrx/core/v1/control_pb.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "../..");
const arch = process.arch === "arm64" ? "arm64" : "x64";
export const coreBinary = join(packageDir, "npm", `linux-${arch}`, "bin/uwrx-core");

export interface TraceEvent {
  sequence: number;
  timestamp: bigint;
  type: number;
  name: string;
  category: string;
  trackUuid: bigint;
  annotations: Map<string, unknown>;
}

export interface CoreRun {
  status: number | null;
  stdout: string;
  stderr: string;
  messages: CoreMessage[];
  bufferDir: string;
  bufferFiles: string[];
  events: TraceEvent[];
  processTrees: { pid: number; ppid: number; cmdline: string[] }[];
}

export interface RunOptions {
  cwd?: string;
  // Prefix for the core's command line, such as setpriv to change user.
  wrapper?: string[];
  bufferDir?: string;
  timeoutMs?: number;
  // Options placed before "--", such as --seed.
  coreArgs?: string[];
  // Environment of the core and so of the command. Default: this one's.
  env?: NodeJS.ProcessEnv;
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o777);
  return dir;
}

function decodeControl(bytes: Buffer): CoreMessage[] {
  const messages: CoreMessage[] = [];
  let offset = 0;
  while (offset + 4 <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    const body = bytes.subarray(offset + 4, offset + 4 + length);
    messages.push(fromBinary(CoreMessageSchema, body));
    offset += 4 + length;
  }
  return messages;
}

function collect(stream: Readable | null): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream?.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    if (!stream) resolve(Buffer.alloc(0));
    else stream.on("close", () => resolve(Buffer.concat(chunks)));
  });
}

export async function runCore(command: string[], options: RunOptions = {}): Promise<CoreRun> {
  const bufferDir = options.bufferDir ?? makeTempDir("uwrx-core-buffers-");
  const coreArgs = [
    "--control-fd",
    "3",
    "--buffer-dir",
    bufferDir,
    ...(options.coreArgs ?? []),
    "--",
    ...command,
  ];
  const [program, ...args] = [...(options.wrapper ?? []), coreBinary, ...coreArgs];
  const child = spawn(program!, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20000);
  const [stdout, stderr, control] = await Promise.all([
    collect(child.stdout),
    collect(child.stderr),
    collect(child.stdio[3] as Readable),
  ]);
  const status = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on("exit", (code) => resolve(code));
  });
  clearTimeout(timer);

  const bufferFiles = readdirSync(bufferDir).sort();
  const decoded = bufferFiles.map((name) => decodeBuffer(readFileSync(join(bufferDir, name))));
  return {
    status,
    stdout: stdout.toString(),
    stderr: stderr.toString(),
    messages: decodeControl(control),
    bufferDir,
    bufferFiles,
    events: decoded.flatMap((d) => d.events),
    processTrees: decoded.flatMap((d) => d.trees),
  };
}

type Fields = Map<number, (bigint | Uint8Array)[]>;

function readFields(bytes: Uint8Array): Fields {
  const reader = new BinaryReader(bytes);
  const fields: Fields = new Map();
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    let value: bigint | Uint8Array;
    if (wireType === 0) value = BigInt(reader.uint64());
    else if (wireType === 2) value = reader.bytes();
    else {
      reader.skip(wireType);
      continue;
    }
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}

const text = new TextDecoder();
const first = (f: Fields, n: number) => f.get(n)?.[0];
const str = (v: unknown) => text.decode(v as Uint8Array);

function internTable(entries: (bigint | Uint8Array)[] | undefined, into: Map<bigint, string>) {
  for (const entry of entries ?? []) {
    const f = readFields(entry as Uint8Array);
    into.set(first(f, 1) as bigint, str(first(f, 2)));
  }
}

function annotationValue(f: Fields): unknown {
  if (f.has(6)) return str(first(f, 6));
  if (f.has(4)) return BigInt.asIntN(64, first(f, 4) as bigint);
  if (f.has(3)) return first(f, 3) as bigint;
  if (f.has(2)) return (first(f, 2) as bigint) !== 0n;
  if (f.has(12)) return (f.get(12) ?? []).map((item) => annotationValue(readFields(item as Uint8Array)));
  return undefined;
}

// Splits a buffer file into frames (0x0A, varint length, TracePacket) and
// resolves interned names per sequence.
export function decodeBuffer(bytes: Uint8Array) {
  const names = new Map<bigint, string>();
  const categories = new Map<bigint, string>();
  const annotationNames = new Map<bigint, string>();
  const events: TraceEvent[] = [];
  const trees: { pid: number; ppid: number; cmdline: string[] }[] = [];
  for (const packet of readFields(bytes).get(1) ?? []) {
    const p = readFields(packet as Uint8Array);
    const interned = first(p, 12);
    if (interned) {
      const i = readFields(interned as Uint8Array);
      internTable(i.get(1), categories);
      internTable(i.get(2), names);
      internTable(i.get(3), annotationNames);
    }
    const tree = first(p, 2);
    if (tree) {
      for (const proc of readFields(tree as Uint8Array).get(1) ?? []) {
        const f = readFields(proc as Uint8Array);
        trees.push({
          pid: Number(first(f, 1)),
          ppid: Number(first(f, 2)),
          cmdline: (f.get(3) ?? []).map(str),
        });
      }
    }
    const te = first(p, 11);
    if (!te) continue;
    const e = readFields(te as Uint8Array);
    const annotations = new Map<string, unknown>();
    for (const a of e.get(4) ?? []) {
      const f = readFields(a as Uint8Array);
      annotations.set(annotationNames.get(first(f, 1) as bigint) ?? "?", annotationValue(f));
    }
    events.push({
      sequence: Number(first(p, 10)),
      timestamp: first(p, 8) as bigint,
      type: Number(first(e, 9)),
      name: names.get((first(e, 10) as bigint) ?? -1n) ?? "",
      category: categories.get((first(e, 3) as bigint) ?? -1n) ?? "",
      trackUuid: first(e, 11) as bigint,
      annotations,
    });
  }
  return { events, trees };
}

export function eventsNamed(run: CoreRun, name: string): TraceEvent[] {
  return run.events.filter((e) => e.name === name);
}
