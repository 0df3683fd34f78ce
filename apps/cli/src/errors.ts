/** Exit status of uwrx's own failures, as `env` and `timeout` use it. */
export const EXIT_UWRX_FAILURE = 125;

/** Exit status for a command line that uwrx cannot parse. */
export const EXIT_USAGE = 2;

/**
 * An error that ends the command with a one-line message. `status` is the
 * process exit status.
 */
export class CliError extends Error {
  readonly status: number;

  constructor(
    message: string,
    status: number = EXIT_UWRX_FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CliError";
    this.status = status;
  }
}

/** Raises a usage error that points at the command's help. */
export function usageError(command: string, message: string): CliError {
  return new CliError(
    `${message}\nRun 'uwrx ${command} --help' for usage.`,
    EXIT_USAGE,
  );
}
