/**
 * Failure kinds of this package. `INVALID_SEED` means a seed is not 32 bytes
 * or not 64 hex digits. `INVALID_OPTION` means an index, length or other
 * argument is out of range. `STREAM_EXHAUSTED` means a read needs a block
 * past the 32-bit ChaCha20 block counter.
 */
export type PrngErrorCode =
  "INVALID_SEED" | "INVALID_OPTION" | "STREAM_EXHAUSTED";

/** Error thrown by every function of `@uwrx/prng`, with a `code`. */
export class PrngError extends Error {
  override readonly name = "PrngError";
  readonly code: PrngErrorCode;

  constructor(
    code: PrngErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
  }
}

/** Tells whether `value` is a PrngError, also across module copies. */
export function isPrngError(value: unknown): value is PrngError {
  return (
    value instanceof PrngError ||
    (value instanceof Error &&
      value.name === "PrngError" &&
      typeof (value as { code?: unknown }).code === "string")
  );
}
