import {
  CHACHA20_BLOCK_BYTES,
  CHACHA20_MAX_COUNTER,
  ChaCha20Keystream,
} from "./chacha20.js";
import { checkIndex, domainNonce } from "./domains.js";
import { PrngError } from "./errors.js";
import { checkSeed } from "./seed.js";

/** Number of bytes in one stream: 2^32 blocks of 64 bytes (256 GiB). */
export const STREAM_MAX_BYTES =
  (CHACHA20_MAX_COUNTER + 1) * CHACHA20_BLOCK_BYTES;

/**
 * The random bytes of one seed: the ChaCha20 keystream with key `seed`,
 * nonce `"strm"` followed by eight zero bytes, and counter 0, 1, 2, ...
 * Reads continue where the last one stopped, so any split of reads returns
 * the same bytes.
 */
export class RandomStream {
  readonly #keystream: ChaCha20Keystream;
  readonly #block = new Uint8Array(CHACHA20_BLOCK_BYTES);
  #position = 0;

  constructor(seed: Uint8Array) {
    checkSeed(seed);
    this.#keystream = new ChaCha20Keystream(seed, domainNonce("stream", 0));
  }

  /** Number of bytes read so far. */
  get position(): number {
    return this.#position;
  }

  /** Returns the next `length` bytes of the stream. */
  next(length: number): Uint8Array {
    checkIndex("read length", length, 0);

    const out = new Uint8Array(length);
    this.fill(out);
    return out;
  }

  /**
   * Fills `buffer` with the next bytes of the stream. Throws
   * `STREAM_EXHAUSTED`, reading nothing, when fewer bytes remain.
   */
  fill(buffer: Uint8Array): void {
    if (buffer.length > STREAM_MAX_BYTES - this.#position) {
      throw new PrngError(
        "STREAM_EXHAUSTED",
        `random stream exhausted at byte ${this.#position}: a read of ${buffer.length} bytes passes the end of the 32-bit ChaCha20 block counter (256 GiB)`,
      );
    }

    let written = 0;
    while (written < buffer.length) {
      const offset = this.#position % CHACHA20_BLOCK_BYTES;
      if (offset === 0) {
        this.#keystream.block(
          this.#position / CHACHA20_BLOCK_BYTES,
          this.#block,
        );
      }
      const count = Math.min(
        CHACHA20_BLOCK_BYTES - offset,
        buffer.length - written,
      );
      buffer.set(this.#block.subarray(offset, offset + count), written);
      written += count;
      this.#position += count;
    }
  }
}
