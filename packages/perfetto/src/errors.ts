/**
 * Failure kinds of this package. `TRUNCATED` means more bytes were expected,
 * `NOT_A_TRACE` that the bytes do not have the Trace framing,
 * `INVALID_OPTION` that a caller passed an unusable option value, `IO` that
 * a file operation failed, and `CLOSED` that a finished collector was used.
 */
export type PerfettoErrorCode =
  | "TRUNCATED"
  | "NOT_A_TRACE"
  | "MALFORMED_PACKET"
  | "BAD_COMPRESSION"
  | "NESTED_COMPRESSION"
  | "INVALID_OPTION"
  | "IO"
  | "CLOSED";

/** The one error class of `@uwrx/perfetto`; `cause` keeps the lower error. */
export class PerfettoError extends Error {
  override readonly name = "PerfettoError";
  readonly code: PerfettoErrorCode;

  constructor(
    code: PerfettoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
  }
}

/** Tells whether `value` is a PerfettoError, also across module copies. */
export function isPerfettoError(value: unknown): value is PerfettoError {
  return (
    value instanceof PerfettoError ||
    (value instanceof Error &&
      value.name === "PerfettoError" &&
      typeof (value as { code?: unknown }).code === "string")
  );
}
