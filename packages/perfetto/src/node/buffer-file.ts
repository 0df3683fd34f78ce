import { open, type FileHandle } from "node:fs/promises";

import { PerfettoError, isPerfettoError } from "../errors.js";
import { readFrames, type Frame } from "../frames.js";

/** One per-process buffer file and the offset up to which it has been read. */
export class BufferFile {
  readonly path: string;
  /** Offset after the last complete frame read so far. */
  offset = 0;
  /** File size seen at the last read, for the report of incomplete tails. */
  size = 0;

  private constructor(
    path: string,
    private readonly handle: FileHandle,
  ) {
    this.path = path;
  }

  static async open(path: string): Promise<BufferFile> {
    return new BufferFile(path, await open(path, "r"));
  }

  /**
   * Reads the complete frames appended since the last call. A frame that the
   * writer has not finished stays unread until a later call.
   */
  async readNewFrames(): Promise<Frame[]> {
    const { size } = await this.handle.stat();
    this.size = size;
    if (size <= this.offset) return [];

    const bytes = new Uint8Array(size - this.offset);
    const { bytesRead } = await this.handle.read(
      bytes,
      0,
      bytes.length,
      this.offset,
    );
    const { frames, end } = this.parse(bytes.subarray(0, bytesRead));
    this.offset += end;
    return frames;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private parse(bytes: Uint8Array) {
    try {
      return readFrames(bytes, 0);
    } catch (cause) {
      if (!isPerfettoError(cause)) throw cause;
      // Offsets in the message are relative to the read; name the file
      // offset where the read started so they can be located.
      throw new PerfettoError(
        cause.code,
        `${this.path}: ${cause.message} (the read started at file offset ${this.offset})`,
        { cause },
      );
    }
  }
}
