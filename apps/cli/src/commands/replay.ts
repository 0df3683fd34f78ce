import { readlinkSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

import { hasFlag, parseArgs, type OptionSpec } from "../args.js";
import { readDeterminism } from "../determinism.js";
import { CliError, usageError } from "../errors.js";
import * as log from "../log.js";
import { rawEnvironment } from "../raw-args.js";
import { decodeCommandLine } from "../trace-dir.js";
import { recordRun } from "./run.js";

export const REPLAY_HELP = `Usage: uwrx replay [OPTIONS] ATTEMPT

Runs the command of a recorded attempt again, as the next attempt of the
same step, with the attempt's seed and clock start, in the directory it ran
in. The new attempt links the replayed one as 'replay'.

ATTEMPT is an attempt directory, <trace-dir>/<step>/<n>.

Options:
  --no-fast-path    run every call through the syscall core (the default
                    is the choice of the replayed attempt)
  -v, --verbose     log what uwrx and its syscall core do
  -q, --quiet       print nothing of uwrx's own but errors
  -h, --help        show this help

Exit status: the command's status, as for 'uwrx run'.`;

const REPLAY_OPTIONS: readonly OptionSpec[] = [
  { name: "no-fast-path" },
  { name: "verbose", short: "v" },
  { name: "quiet", short: "q" },
  { name: "help", short: "h" },
];

/** Runs `uwrx replay` and returns the exit status. */
export async function replayCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs("replay", argv, REPLAY_OPTIONS);
  if (hasFlag(parsed, "help")) {
    process.stdout.write(REPLAY_HELP + "\n");
    return 0;
  }
  const conflict = log.verbosityFromFlags(
    hasFlag(parsed, "verbose"),
    hasFlag(parsed, "quiet"),
  );
  if (conflict) throw usageError("replay", conflict);

  const [path, ...extra] = parsed.positionals;
  if (!path)
    throw usageError(
      "replay",
      "missing ATTEMPT: give an attempt directory such as .uwrx/make/1",
    );
  if (extra.length > 0)
    throw usageError("replay", `unexpected argument '${extra[0]}'`);

  const attemptDir = resolve(path);
  await checkAttempt(attemptDir);
  const stepDir = dirname(attemptDir);
  const rawCommand = decodeCommandLine(
    await readCommandFile(attemptDir, stepDir),
  );
  if (rawCommand.length === 0 || rawCommand[0]!.length === 0) {
    throw new CliError(
      `the cmd file of ${attemptDir} is empty: the attempt is damaged and cannot be replayed`,
    );
  }
  const cwd = await recordedDirectory(attemptDir, stepDir);

  return recordRun({
    traceDir: dirname(stepDir),
    step: basename(stepDir),
    command: rawCommand.map((arg) => arg.toString("utf8")),
    rawCommand,
    rawEnv: rawEnvironment(),
    cwd,
    verbose: hasFlag(parsed, "verbose"),
    determinism: await readDeterminism(attemptDir),
    replayOf: attemptDir,
    fastPath:
      !hasFlag(parsed, "no-fast-path") && (await recordedFastPath(attemptDir)),
    ...(await recordedLayers(attemptDir)),
  });
}

/**
 * Reads from the attempt's status.json whether it ran with the in-process
 * fast path. Returns true when the file or its field is missing, as for
 * an attempt that did not finish.
 */
async function recordedFastPath(dir: string): Promise<boolean> {
  try {
    const status = JSON.parse(await readFile(join(dir, "status.json"), "utf8"));
    return status?.fastPath !== false;
  } catch {
    return true;
  }
}

async function checkAttempt(dir: string): Promise<void> {
  const isAttempt = /^[1-9][0-9]*$/.test(basename(dir));
  const info = await stat(dir).catch(() => undefined);
  if (!isAttempt || !info?.isDirectory()) {
    throw new CliError(
      `${dir} is not an attempt directory: expected <trace-dir>/<step>/<n> as written by 'uwrx run'`,
      2,
    );
  }
}

async function readStepOptions(stepDir: string): Promise<{ cwd?: string }> {
  try {
    return JSON.parse(await readFile(join(stepDir, "options"), "utf8")) as {
      cwd?: string;
    };
  } catch (cause) {
    throw new CliError(
      `cannot read ${join(stepDir, "options")}: the step directory is damaged; record the step again with 'uwrx run'`,
      125,
      { cause },
    );
  }
}

/** Reads the attempt's own cmd file, or the step's for attempts without one. */
async function readCommandFile(
  attemptDir: string,
  stepDir: string,
): Promise<Buffer> {
  try {
    return await readFile(join(attemptDir, "cmd"));
  } catch {
    return readFile(join(stepDir, "cmd"));
  }
}

/**
 * Returns the directory the attempt ran in: its own `cwd` file, else the step's
 * options (attempts recorded before the file existed). It must still
 * exist, because the command's relative paths start there.
 */
async function recordedDirectory(
  attemptDir: string,
  stepDir: string,
): Promise<string> {
  let cwd: string | undefined;
  try {
    cwd = (await readFile(join(attemptDir, "cwd"), "utf8")).replace(/\n$/, "");
  } catch {
    cwd = (await readStepOptions(stepDir)).cwd;
  }
  if (!cwd) {
    throw new CliError(
      `${attemptDir} does not record the directory it ran in; it cannot be replayed`,
    );
  }
  const info = await stat(cwd).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new CliError(
      `directory ${cwd}, where ${attemptDir} ran, no longer exists; recreate it to replay the attempt`,
    );
  }
  return cwd;
}

/** Reads the layered filesystem settings of the attempt: its parents, if any. */
async function recordedLayers(
  attemptDir: string,
): Promise<{ overlay: boolean; parents: string[] }> {
  const files = await stat(join(attemptDir, "files")).catch(() => undefined);
  if (!files?.isDirectory()) return { overlay: false, parents: [] };
  const links = await readdir(join(attemptDir, "parent")).catch(() => []);
  const numbers = links.filter((l) => /^[1-9][0-9]*$/.test(l)).map(Number);
  const parents = numbers
    .sort((a, b) => a - b)
    .map((n) =>
      resolve(
        join(attemptDir, "parent"),
        readlinkSync(join(attemptDir, "parent", String(n))),
      ),
    );
  return { overlay: true, parents };
}
