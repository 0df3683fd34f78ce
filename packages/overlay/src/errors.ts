/**
 * Failure kinds of this package.
 *
 * - `INVALID_OPTION`: an option or argument is missing or out of range.
 * - `INVALID_PATH`: a path is not absolute.
 * - `NOT_AN_ATTEMPT`: a directory given as an attempt has no `files/`
 *   directory, or its `parent/` directory contains a name that is not a number.
 * - `PARENT_CYCLE`: following `parent/<n>` links returns to an attempt
 *   already on the chain.
 * - `ENOENT`, `ENOTDIR`, `ELOOP`: the errno that the kernel would return for
 *   the same lookup on the merged view.
 * - `INVALID_INDEX`: an index file is truncated or has a wrong magic,
 *   version or offset.
 * - `UNSUPPORTED_NAME`: a layer contains a file name that is not valid UTF-8,
 *   which this library cannot carry yet.
 * - `UNSUPPORTED_TYPE`: export met a FIFO, socket or device file, which
 *   Node cannot create.
 */
export type OverlayErrorCode =
  | "INVALID_OPTION"
  | "INVALID_PATH"
  | "NOT_AN_ATTEMPT"
  | "PARENT_CYCLE"
  | "ENOENT"
  | "ENOTDIR"
  | "ELOOP"
  | "INVALID_INDEX"
  | "UNSUPPORTED_TYPE"
  | "UNSUPPORTED_NAME";

/** Error thrown by every function of `@uwrx/overlay`, with a `code`. */
export class OverlayError extends Error {
  override readonly name = "OverlayError";
  readonly code: OverlayErrorCode;

  constructor(
    code: OverlayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
  }
}

/** Tells whether `value` is an OverlayError, also across module copies. */
export function isOverlayError(value: unknown): value is OverlayError {
  return (
    value instanceof OverlayError ||
    (value instanceof Error &&
      value.name === "OverlayError" &&
      typeof (value as { code?: unknown }).code === "string")
  );
}
