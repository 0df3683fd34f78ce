import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { randomBytes } from "node:crypto";

import { OverlayError } from "./errors.js";
import { hashPath } from "./hash.js";
import type { LayerStack } from "./layer-stack.js";
import { walkLayers } from "./walk.js";

/** First 8 bytes of every index file. */
export const INDEX_MAGIC = "UWRXLIDX";
export const INDEX_VERSION = 1;
export const INDEX_HEADER_BYTES = 64;
export const INDEX_LAYER_BYTES = 16;
export const INDEX_SLOT_BYTES = 32;

/** Type byte of a slot; 0 marks an empty slot. */
export const INDEX_TYPE_CODES = Object.freeze({
  file: 1,
  directory: 2,
  symlink: 3,
  whiteout: 4,
  other: 5,
});

/** Flag bit of a directory slot whose merge must not continue into the base. */
export const INDEX_FLAG_OPAQUE = 1;

export type IndexEntryType = keyof typeof INDEX_TYPE_CODES;

/** One path of the index: its topmost layer among the parent layers. */
export interface IndexEntry {
  path: string;
  layer: number;
  type: IndexEntryType;
  /** Symlink target, for type "symlink". */
  target?: string;
  /**
   * For a directory: a parent layer below `layer` contains a whiteout or a
   * non-directory at this path, so the base's directory is not merged.
   */
  opaque: boolean;
}

/** A layer as the index records it. */
export interface IndexLayer {
  path: string;
  /** Timestamp that stat() reports for files of this layer, in ns. */
  timeNs: bigint;
}

const TYPE_BY_CODE = new Map<number, IndexEntryType>(
  Object.entries(INDEX_TYPE_CODES).map(([name, code]) => [
    code,
    name as IndexEntryType,
  ]),
);

/**
 * Collects the index entries of `stack`: every path present in the merged
 * view of the parent layers 1..n, with its topmost layer, sorted by path
 * bytes. The writable layer is left out because the core tracks it itself.
 */
export function collectIndexEntries(stack: LayerStack): IndexEntry[] {
  const entries: IndexEntry[] = [];
  const highest = stack.topLayer - 1;
  if (highest < 1) return entries;

  for (const walked of walkLayers(stack.roots, 1, highest)) {
    if (walked.kind === "whiteout") {
      entries.push({
        path: walked.path,
        layer: walked.layer,
        type: "whiteout",
        opaque: false,
      });
      continue;
    }
    const entry: IndexEntry = {
      path: walked.path,
      layer: walked.layer,
      type: walked.type,
      opaque: walked.opaque === true,
    };
    if (walked.target !== undefined) entry.target = walked.target;
    entries.push(entry);
  }
  return entries;
}

/**
 * Writes the binary layer index of `stack` to `file`, through a temporary
 * file in the same directory and a rename, so a reader sees the old file
 * or the complete new one. The layout is described in the README.
 *
 * @returns the number of entries and hash slots written.
 */
export function writeIndex(
  stack: LayerStack,
  file: string,
): { entries: number; slotCount: number } {
  const entries = collectIndexEntries(stack);
  const layers = stack.roots.map((path, layer) => ({
    path,
    timeNs: stack.layerTimeNs(layer),
  }));
  const bytes = encodeIndex(layers, entries);

  const temporary = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    writeDurably(temporary, bytes);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return { entries: entries.length, slotCount: slotCountFor(entries.length) };
}

/** Reads and checks an index file that `writeIndex` wrote. */
export function readIndex(file: string): OverlayIndex {
  return new OverlayIndex(readFileSync(file));
}

/**
 * Encodes layers and entries in the index layout. Entries are inserted in
 * the order given, so the same input always gives the same bytes.
 */
export function encodeIndex(
  layers: readonly IndexLayer[],
  entries: readonly IndexEntry[],
): Buffer {
  const slotCount = slotCountFor(entries.length);
  const strings = new StringTable();
  const layerRefs = layers.map((layer) => strings.add(layer.path));
  const slots = placeEntries(entries, slotCount, strings);

  const layerOffset = INDEX_HEADER_BYTES;
  const slotOffset = align8(layerOffset + layers.length * INDEX_LAYER_BYTES);
  const stringOffset = slotOffset + slotCount * INDEX_SLOT_BYTES;
  const stringBytes = strings.toBuffer();
  const out = Buffer.alloc(stringOffset + stringBytes.length);

  out.write(INDEX_MAGIC, 0, "latin1");
  out.writeUInt32LE(INDEX_VERSION, 8);
  out.writeUInt32LE(INDEX_HEADER_BYTES, 12);
  out.writeUInt32LE(layers.length, 16);
  out.writeUInt32LE(slotCount, 20);
  out.writeUInt32LE(entries.length, 24);
  out.writeBigUInt64LE(BigInt(layerOffset), 32);
  out.writeBigUInt64LE(BigInt(slotOffset), 40);
  out.writeBigUInt64LE(BigInt(stringOffset), 48);
  out.writeBigUInt64LE(BigInt(stringBytes.length), 56);

  layers.forEach((layer, i) => {
    const at = layerOffset + i * INDEX_LAYER_BYTES;
    const ref = layerRefs[i]!;
    out.writeUInt32LE(ref.offset, at);
    out.writeUInt32LE(ref.length, at + 4);
    out.writeBigUInt64LE(layer.timeNs, at + 8);
  });

  slots.forEach((slot, i) => {
    if (slot !== undefined)
      writeSlot(out, slotOffset + i * INDEX_SLOT_BYTES, slot);
  });
  stringBytes.copy(out, stringOffset);
  return out;
}

/**
 * Returns the number of hash slots for `entries` entries: the smallest power
 * of two that is at least 8 and at least twice the entry count. The load
 * factor then stays at or below 1/2, so every probe reaches an empty slot.
 */
export function slotCountFor(entries: number): number {
  let count = 8;
  while (count < entries * 2) count *= 2;
  return count;
}

/** A parsed index file, with the same hash lookup a C reader performs. */
export class OverlayIndex {
  readonly version: number;
  readonly layers: IndexLayer[];
  readonly slotCount: number;
  readonly entryCount: number;
  private readonly bytes: Buffer;
  private readonly slotOffset: number;
  private readonly stringOffset: number;
  private readonly stringSize: number;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
    requireBytes(bytes, 0, INDEX_HEADER_BYTES, "header");
    if (bytes.toString("latin1", 0, 8) !== INDEX_MAGIC) {
      throw invalidIndex(`the magic is not ${INDEX_MAGIC}`);
    }
    this.version = bytes.readUInt32LE(8);
    if (this.version !== INDEX_VERSION) {
      throw invalidIndex(
        `version ${this.version} is not the supported version ${INDEX_VERSION}`,
      );
    }

    const layerCount = bytes.readUInt32LE(16);
    this.slotCount = bytes.readUInt32LE(20);
    this.entryCount = bytes.readUInt32LE(24);
    if (this.slotCount === 0 || (this.slotCount & (this.slotCount - 1)) !== 0) {
      throw invalidIndex(`slot count ${this.slotCount} is not a power of two`);
    }

    const layerOffset = Number(bytes.readBigUInt64LE(32));
    this.slotOffset = Number(bytes.readBigUInt64LE(40));
    this.stringOffset = Number(bytes.readBigUInt64LE(48));
    this.stringSize = Number(bytes.readBigUInt64LE(56));
    requireBytes(
      bytes,
      layerOffset,
      layerCount * INDEX_LAYER_BYTES,
      "layer table",
    );
    requireBytes(
      bytes,
      this.slotOffset,
      this.slotCount * INDEX_SLOT_BYTES,
      "slot table",
    );
    requireBytes(bytes, this.stringOffset, this.stringSize, "string table");

    this.layers = [];
    for (let i = 0; i < layerCount; i++) {
      const at = layerOffset + i * INDEX_LAYER_BYTES;
      const path = this.string(
        bytes.readUInt32LE(at),
        bytes.readUInt32LE(at + 4),
      );
      this.layers.push({ path, timeNs: bytes.readBigUInt64LE(at + 8) });
    }
  }

  /** Decodes every occupied slot, in slot order, with its slot number. */
  entries(): (IndexEntry & { slot: number; hash: bigint })[] {
    const result: (IndexEntry & { slot: number; hash: bigint })[] = [];
    for (let slot = 0; slot < this.slotCount; slot++) {
      const entry = this.decodeSlot(slot);
      if (entry !== undefined) result.push({ ...entry, slot });
    }
    return result;
  }

  /**
   * Finds the entry of an absolute path by linear probing from slot
   * `hash & (slotCount - 1)`, stopping at the first empty slot.
   */
  lookup(
    path: string,
  ): (IndexEntry & { slot: number; hash: bigint }) | undefined {
    const hash = hashPath(path);
    const mask = this.slotCount - 1;
    let slot = Number(hash & BigInt(mask));

    for (let probes = 0; probes < this.slotCount; probes++) {
      const entry = this.decodeSlot(slot);
      if (entry === undefined) return undefined;
      if (entry.hash === hash && entry.path === path) return { ...entry, slot };
      slot = (slot + 1) & mask;
    }
    return undefined;
  }

  private decodeSlot(
    slot: number,
  ): (IndexEntry & { hash: bigint }) | undefined {
    const at = this.slotOffset + slot * INDEX_SLOT_BYTES;
    const typeCode = this.bytes.readUInt8(at + 26);
    if (typeCode === 0) return undefined;

    const type = TYPE_BY_CODE.get(typeCode);
    if (type === undefined)
      throw invalidIndex(`slot ${slot} has unknown type ${typeCode}`);
    const flags = this.bytes.readUInt8(at + 27);
    const entry: IndexEntry & { hash: bigint } = {
      hash: this.bytes.readBigUInt64LE(at),
      path: this.string(
        this.bytes.readUInt32LE(at + 8),
        this.bytes.readUInt32LE(at + 12),
      ),
      layer: this.bytes.readUInt16LE(at + 24),
      type,
      opaque: (flags & INDEX_FLAG_OPAQUE) !== 0,
    };
    if (type === "symlink") {
      entry.target = this.string(
        this.bytes.readUInt32LE(at + 16),
        this.bytes.readUInt32LE(at + 20),
      );
    }
    return entry;
  }

  private string(offset: number, length: number): string {
    if (offset + length + 1 > this.stringSize) {
      throw invalidIndex(
        `a string at offset ${offset} runs past the string table`,
      );
    }
    const start = this.stringOffset + offset;
    return this.bytes.toString("utf8", start, start + length);
  }
}

interface StringRef {
  offset: number;
  length: number;
}

/** Concatenated UTF-8 strings, each followed by a NUL byte for C readers. */
class StringTable {
  private readonly parts: Buffer[] = [];
  private size = 0;

  add(text: string): StringRef {
    const bytes = Buffer.from(text, "utf8");
    const ref = { offset: this.size, length: bytes.length };
    this.parts.push(bytes, Buffer.alloc(1));
    this.size += bytes.length + 1;
    return ref;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

interface Slot {
  hash: bigint;
  path: StringRef;
  target: StringRef;
  layer: number;
  typeCode: number;
  flags: number;
}

function placeEntries(
  entries: readonly IndexEntry[],
  slotCount: number,
  strings: StringTable,
): (Slot | undefined)[] {
  const slots: (Slot | undefined)[] = new Array(slotCount).fill(undefined);
  const mask = slotCount - 1;

  for (const entry of entries) {
    if (entry.layer > 0xffff) {
      throw new OverlayError(
        "INVALID_OPTION",
        `Layer ${entry.layer} of ${entry.path} does not fit the 16-bit layer field of the index.`,
      );
    }
    const hash = hashPath(entry.path);
    let at = Number(hash & BigInt(mask));
    while (slots[at] !== undefined) at = (at + 1) & mask;

    slots[at] = {
      hash,
      path: strings.add(entry.path),
      target:
        entry.target === undefined
          ? { offset: 0, length: 0 }
          : strings.add(entry.target),
      layer: entry.layer,
      typeCode: INDEX_TYPE_CODES[entry.type],
      flags: entry.opaque ? INDEX_FLAG_OPAQUE : 0,
    };
  }
  return slots;
}

function writeSlot(out: Buffer, at: number, slot: Slot): void {
  out.writeBigUInt64LE(slot.hash, at);
  out.writeUInt32LE(slot.path.offset, at + 8);
  out.writeUInt32LE(slot.path.length, at + 12);
  out.writeUInt32LE(slot.target.offset, at + 16);
  out.writeUInt32LE(slot.target.length, at + 20);
  out.writeUInt16LE(slot.layer, at + 24);
  out.writeUInt8(slot.typeCode, at + 26);
  out.writeUInt8(slot.flags, at + 27);
}

function writeDurably(file: string, bytes: Buffer): void {
  const fd = openSync(file, "wx", 0o644);
  try {
    let written = 0;
    while (written < bytes.length) {
      written += writeSync(fd, bytes, written, bytes.length - written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function align8(offset: number): number {
  return (offset + 7) & ~7;
}

function requireBytes(
  bytes: Buffer,
  offset: number,
  length: number,
  label: string,
): void {
  if (offset < 0 || offset + length > bytes.length) {
    throw invalidIndex(
      `the ${label} (${length} bytes at offset ${offset}) runs past the end of the ${bytes.length}-byte file`,
    );
  }
}

function invalidIndex(reason: string): OverlayError {
  return new OverlayError(
    "INVALID_INDEX",
    `Invalid layer index: ${reason}. Rewrite it with writeIndex().`,
  );
}
