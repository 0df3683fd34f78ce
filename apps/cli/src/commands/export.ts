import { mkdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";

import { hasFlag, parseArgs, type OptionSpec } from "../args.js";
import { CliError, usageError } from "../errors.js";
import { exportAttempt } from "../layers.js";
import { plural } from "../text.js";

export const EXPORT_HELP = `Usage: uwrx export [OPTIONS] ATTEMPT DIR

Writes the files of an attempt into DIR, at their absolute paths below it: the
changes of its parent attempts, then its own, with deletions applied. DIR
'/' writes them onto the real filesystem. DIR is created when missing.

Options:
  --top-only   export only the attempt's own changes, not its parents'
  --json       print the counts of what was written as JSON
  -h, --help   show this help`;

const EXPORT_OPTIONS: readonly OptionSpec[] = [
  { name: "top-only" },
  { name: "json" },
  { name: "help", short: "h" },
];

/** Runs `uwrx export` and returns the exit status. */
export async function exportCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs("export", argv, EXPORT_OPTIONS);
  if (hasFlag(parsed, "help")) {
    process.stdout.write(EXPORT_HELP + "\n");
    return 0;
  }
  const [attempt, dest, ...extra] = parsed.positionals;
  if (!attempt || !dest) {
    throw usageError(
      "export",
      "expected an attempt directory and a destination directory",
    );
  }
  if (extra.length > 0)
    throw usageError("export", `unexpected argument '${extra[0]}'`);

  const attemptDir = resolve(attempt);
  if (!(await stat(attemptDir).catch(() => undefined))) {
    throw new CliError(`attempt ${attempt} does not exist`, 2);
  }
  const files = await stat(join(attemptDir, "files")).catch(() => undefined);
  if (!files?.isDirectory()) {
    throw new CliError(
      `${attempt} has no files/ directory: it was recorded with --no-overlay, or it is not an attempt`,
      2,
    );
  }
  await mkdir(dest, { recursive: true });

  const summary = exportAttempt(
    attemptDir,
    resolve(dest),
    hasFlag(parsed, "top-only"),
  );
  if (hasFlag(parsed, "json")) {
    process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  } else {
    process.stdout.write(
      `exported ${plural(summary.files, "file", "files")}, ${plural(summary.symlinks, "symlink", "symlinks")}, ${plural(summary.directories, "directory", "directories")} and ${plural(summary.deletions, "deletion", "deletions")} into ${dest}\n`,
    );
  }
  return 0;
}
