/** Verbosity of the CLI's own messages on stderr. */
export type Verbosity = "quiet" | "normal" | "verbose";

let verbosity: Verbosity = "normal";

/** Sets how much the CLI prints about itself. */
export function setVerbosity(level: Verbosity): void {
  verbosity = level;
}

/** Prints a progress or status line, unless quiet. */
export function info(message: string): void {
  if (verbosity !== "quiet") process.stderr.write(`uwrx: ${message}\n`);
}

/** Prints a detail line, only with --verbose. */
export function debug(message: string): void {
  if (verbosity === "verbose") process.stderr.write(`uwrx: ${message}\n`);
}

/** Prints a warning, unless quiet. */
export function warn(message: string): void {
  if (verbosity !== "quiet")
    process.stderr.write(`uwrx: warning: ${message}\n`);
}

/** Prints an error; errors are printed even when quiet. */
export function error(message: string): void {
  process.stderr.write(`uwrx: ${message}\n`);
}

/**
 * Applies --verbose and --quiet; giving both is a usage error, which the
 * caller raises with the returned message.
 */
export function verbosityFromFlags(
  verbose: boolean,
  quiet: boolean,
): string | undefined {
  if (verbose && quiet)
    return "options --verbose and --quiet exclude each other";
  if (verbose) setVerbosity("verbose");
  if (quiet) setVerbosity("quiet");
  return undefined;
}
