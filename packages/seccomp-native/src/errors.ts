/** Machine-readable reasons for a {@link SeccompNativeError}. */
export type SeccompNativeErrorCode =
  | "CORE_NOT_FOUND"
  | "UNSUPPORTED_PLATFORM"
  | "INVALID_OPTION"
  | "CORE_FAILED"
  | "PROTOCOL";

/** The one error class of `@uwrx/seccomp-native`. */
export class SeccompNativeError extends Error {
  readonly code: SeccompNativeErrorCode;

  constructor(
    code: SeccompNativeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SeccompNativeError";
    this.code = code;
  }
}

/** Tells whether a value is a {@link SeccompNativeError}. */
export function isSeccompNativeError(
  value: unknown,
): value is SeccompNativeError {
  return value instanceof SeccompNativeError;
}
