import { readdir } from "node:fs/promises";
import { join } from "node:path";

import { PerfettoError } from "../errors.js";
import { compressBatch, sortFrames, type SortableFrame } from "./batch.js";
import { BufferFile } from "./buffer-file.js";
import { OutputFile } from "./output-file.js";

export interface BufferCollectorOptions {
  /** Directory of the buffer files; every `*.pb` file in it is read. */
  dir: string;
  /** Path of the merged trace; it appears only when finish() succeeds. */
  output: string;
  /**
   * Uncompressed bytes of frames per `compressed_packets` packet. Default
   * 1 MiB: large enough for a good deflate ratio, small enough that a reader
   * inflates one chunk at a time.
   */
  chunkSize?: number;
  /**
   * Called after the frames below `offset` of `file` have been written to
   * the output, so the writer may free those pages (FALLOC_FL_PUNCH_HOLE).
   */
  onRelease?: (file: string, offset: number) => void | Promise<void>;
}

export const DEFAULT_BUFFER_COLLECTOR_OPTIONS = Object.freeze({
  chunkSize: 1024 * 1024,
});

/** Packets and input bytes read by one poll(). */
export interface PollResult {
  packets: number;
  bytes: number;
}

/** A buffer file whose end was not a complete frame when finish() ran. */
export interface IncompleteTail {
  file: string;
  offset: number;
  bytes: number;
}

export interface CollectorSummary {
  output: string;
  files: number;
  packets: number;
  bytes: number;
  incompleteTails: IncompleteTail[];
}

/**
 * Merges per-process buffer files into one compressed Perfetto trace while
 * they grow. Each poll() reads the new complete frames of every buffer,
 * orders them by timestamp and appends them as compressed packets.
 */
export class BufferCollector {
  private readonly options: Required<
    Omit<BufferCollectorOptions, "onRelease">
  > &
    Pick<BufferCollectorOptions, "onRelease">;
  private readonly files = new Map<string, BufferFile>();
  private readonly output: OutputFile;
  private readonly lastKeys = new Map<BufferFile, bigint>();
  private queue: Promise<unknown> = Promise.resolve();
  private finished = false;
  private packets = 0;
  private bytes = 0;

  constructor(options: BufferCollectorOptions) {
    this.options = { ...DEFAULT_BUFFER_COLLECTOR_OPTIONS, ...options };
    checkChunkSize(this.options.chunkSize);
    this.output = new OutputFile(this.options.output);
  }

  /** Reads and writes the new complete frames of every buffer file. */
  poll(): Promise<PollResult> {
    return this.serialize(() => this.pollOnce());
  }

  /**
   * Reads what is left, then syncs the output and renames it into place.
   * Closes the buffer files; the collector cannot be used afterwards.
   */
  finish(): Promise<CollectorSummary> {
    return this.serialize(() => this.finishOnce());
  }

  // poll() and finish() both append to the output and advance offsets, so
  // they run one at a time in call order.
  private serialize<T>(step: () => Promise<T>): Promise<T> {
    const result = this.queue.then(step);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async pollOnce(): Promise<PollResult> {
    this.checkOpen();
    await this.openNewFiles();

    const { frames, advanced } = await this.readAll();
    for (const chunk of compressBatch(
      sortFrames(frames),
      this.options.chunkSize,
    )) {
      await this.output.append(chunk);
    }
    await this.release(advanced);

    const bytes = frames.reduce(
      (sum, entry) => sum + entry.frame.frame.length,
      0,
    );
    this.packets += frames.length;
    this.bytes += bytes;
    return { packets: frames.length, bytes };
  }

  private async finishOnce(): Promise<CollectorSummary> {
    await this.pollOnce();
    this.finished = true;

    const incompleteTails = this.incompleteTails();
    for (const file of this.files.values()) await file.close();
    await this.output.commit();

    return {
      output: this.output.path,
      files: this.files.size,
      packets: this.packets,
      bytes: this.bytes,
      incompleteTails,
    };
  }

  private async openNewFiles(): Promise<void> {
    const names = await this.listBuffers();

    for (const name of names) {
      const path = join(this.options.dir, name);
      if (this.files.has(path)) continue;

      const file = await openIfPresent(path);
      if (file !== undefined) this.files.set(path, file);
    }
  }

  private async listBuffers(): Promise<string[]> {
    try {
      const names = await readdir(this.options.dir);
      return names.filter((name) => name.endsWith(".pb")).sort();
    } catch (cause) {
      throw new PerfettoError(
        "IO",
        `Cannot list buffer directory ${this.options.dir}: ${String(cause)}`,
        { cause },
      );
    }
  }

  private async readAll() {
    const frames: SortableFrame[] = [];
    const advanced: BufferFile[] = [];

    for (const file of this.files.values()) {
      const before = file.offset;
      for (const frame of await file.readNewFrames()) {
        frames.push({ frame, key: this.sortKey(file, frame.timestamp) });
      }
      if (file.offset > before) advanced.push(file);
    }
    return { frames, advanced };
  }

  private sortKey(file: BufferFile, timestamp: bigint): bigint {
    const previous = this.lastKeys.get(file) ?? 0n;
    const key = timestamp > previous ? timestamp : previous;
    this.lastKeys.set(file, key);
    return key;
  }

  private async release(files: BufferFile[]): Promise<void> {
    const { onRelease } = this.options;
    if (onRelease === undefined) return;

    for (const file of files) await onRelease(file.path, file.offset);
  }

  private incompleteTails(): IncompleteTail[] {
    return [...this.files.values()]
      .filter((file) => file.size > file.offset)
      .map((file) => ({
        file: file.path,
        offset: file.offset,
        bytes: file.size - file.offset,
      }));
  }

  private checkOpen(): void {
    if (!this.finished) return;

    throw new PerfettoError(
      "CLOSED",
      `BufferCollector for ${this.options.output} has already finished; create a new collector`,
    );
  }
}

/**
 * Merges every buffer file in `dir` into the compressed trace `output` in one
 * pass.
 */
export async function mergeBufferDir(
  dir: string,
  output: string,
  options: Omit<BufferCollectorOptions, "dir" | "output"> = {},
): Promise<CollectorSummary> {
  return new BufferCollector({ ...options, dir, output }).finish();
}

// A buffer listed by readdir can be removed before it is opened. Such a file
// has nothing left to merge, so it is skipped.
async function openIfPresent(path: string): Promise<BufferFile | undefined> {
  try {
    return await BufferFile.open(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new PerfettoError(
      "IO",
      `Cannot open buffer file ${path}: ${String(cause)}`,
      {
        cause,
      },
    );
  }
}

function checkChunkSize(chunkSize: number): void {
  if (Number.isSafeInteger(chunkSize) && chunkSize > 0) return;

  throw new PerfettoError(
    "INVALID_OPTION",
    `Invalid option chunkSize: expected a positive integer number of bytes, got ${String(chunkSize)}`,
  );
}
