import { accessSync, constants, statSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { rm, symlink } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";

import {
  createBufferDir,
  DEFAULT_TIME_STEP_NS,
  removeBufferDir,
  type Determinism,
  type LayerOptions,
  startSupervised,
  type RunResult,
  type SupervisedRun,
} from "@uwrx/seccomp-native";
import { BufferCollector } from "@uwrx/perfetto/node";

import {
  hasFlag,
  optionValue,
  parseArgs,
  type OptionSpec,
  type ParsedArgs,
} from "../args.js";
import {
  LAYER_INTERVAL_NS,
  newSeed,
  parseSeed,
  parseStartTime,
  parseTimeMode,
  writeDeterminism,
} from "../determinism.js";
import { CliError, EXIT_UWRX_FAILURE, usageError } from "../errors.js";
import { writeFileAtomic } from "../fs-atomic.js";
import { checkParents, exportAttempt, prepareLayers } from "../layers.js";
import * as log from "../log.js";
import { plural } from "../text.js";
import { rawArgumentTail, rawEnvironment } from "../raw-args.js";
import {
  checkStepName,
  createAttempt,
  defaultTraceDir,
  stepNameFor,
  type Attempt,
} from "../trace-dir.js";

export const RUN_HELP = `Usage: uwrx run [OPTIONS] [--] COMMAND [ARGS...]

Runs COMMAND under the uwrx syscall core and records the whole process tree
into a new attempt directory <trace-dir>/<step>/<n>/ holding a Perfetto trace
(open it in ui.perfetto.dev). stdin, stdout and stderr pass through, and uwrx
exits with the command's status (128+N when signal N killed it).

The command sees a layered filesystem: the real one read-only at the
bottom, the files/ of each --parent attempt above it, and its own writes on
top, captured in <attempt>/files/ (deletions as whiteouts); the real
filesystem is left unchanged. 'uwrx export' or --write-through apply the
changes to a directory or to the real filesystem.

Randomness (getrandom, /dev/urandom, AT_RANDOM) comes from a root seed
saved in the attempt's seed.txt, the wall clock starts at a time saved in
time.txt, file times are derived from it, and address space randomization
is off. 'uwrx replay' repeats all of these; runs with the same --seed and
--start-time (or $SOURCE_DATE_EPOCH) see the same values.

Options:
  --trace-dir DIR    where traces are kept (default: $UWRX_TRACE_DIR or ./.uwrx)
  --step NAME        step name (default: the command's base name)
  --parent ATTEMPT   a parent attempt whose files/ is a layer below this
                     one (repeatable, lowest first)
  --write-through    also copy this run's writes onto the real filesystem
                     when it ends
  --no-overlay       let the command write the real filesystem directly,
                     without layers (its changes are traced but not kept)
  --no-fast-path     run every call through the syscall core: do not preload
                     the shim that performs realpath(), stat() and read-only
                     open() inside programs
  --seed HEX         root seed, 64 hex digits (default: a random one)
  --time MODE        frozen: clocks stand still at the start time;
                     advancing: each clock read adds 1 us (default);
                     real: the kernel's clocks, not deterministic
  --start-time T     start time of the clocks: seconds since 1970 or an ISO
                     8601 date-time with a zone, such as 2026-01-31T12:00:00Z
                     (default: $SOURCE_DATE_EPOCH, else now)
  -v, --verbose     log what uwrx and its syscall core do
  -q, --quiet       print nothing of uwrx's own but errors
  -h, --help        show this help

The run ends when COMMAND's first process exits; processes it leaves
running are killed 2 s later, so a build cannot leave daemons behind.

Exit status: the command's status; 125 when uwrx itself failed; 126 when
the command cannot be executed; 127 when it does not exist.`;

const RUN_OPTIONS: readonly OptionSpec[] = [
  { name: "trace-dir", takesValue: true },
  { name: "step", takesValue: true },
  { name: "seed", takesValue: true },
  { name: "no-overlay" },
  { name: "no-fast-path" },
  { name: "parent", takesValue: true, repeatable: true },
  { name: "write-through" },
  { name: "time", takesValue: true },
  { name: "start-time", takesValue: true },
  { name: "verbose", short: "v" },
  { name: "quiet", short: "q" },
  { name: "help", short: "h" },
];

/**
 * How often the collector drains the buffer files during a run, in ms: often
 * enough to free the buffers' memory on long builds, rarely enough that its
 * CPU does not compete with the build.
 */
const COLLECT_INTERVAL_MS = 1000;

/** Runs `uwrx run` and returns the exit status. */
export async function runCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs("run", argv, RUN_OPTIONS, true);
  if (hasFlag(parsed, "help")) {
    process.stdout.write(RUN_HELP + "\n");
    return 0;
  }
  const conflict = log.verbosityFromFlags(
    hasFlag(parsed, "verbose"),
    hasFlag(parsed, "quiet"),
  );
  if (conflict) throw usageError("run", conflict);

  const command = parsed.positionals;
  if (command.length === 0) {
    throw usageError(
      "run",
      "missing command: give it after --, as in 'uwrx run -- make'",
    );
  }
  checkCommandExists(command[0]!);

  // Absolute, because the core takes the attempt's files/ as its upper
  // layer and runs the command from another directory.
  const traceDirOption = optionValue(parsed, "trace-dir");
  const traceDir =
    traceDirOption !== undefined ? resolve(traceDirOption) : defaultTraceDir();
  const step = optionValue(parsed, "step") ?? stepNameFor(command);
  checkStepName(step);
  const determinism = await chooseDeterminism(parsed);
  if (
    hasFlag(parsed, "no-overlay") &&
    (parsed.options.has("parent") || hasFlag(parsed, "write-through"))
  ) {
    throw usageError(
      "run",
      "--parent and --write-through need the layered filesystem; drop --no-overlay",
    );
  }

  return recordRun({
    traceDir,
    step,
    command,
    rawCommand: rawArgumentTail(command),
    rawEnv: rawEnvironment(),
    cwd: currentDirectory(),
    parents: parsed.options.get("parent") ?? [],
    overlay: !hasFlag(parsed, "no-overlay"),
    fastPath: !hasFlag(parsed, "no-fast-path"),
    writeThrough: hasFlag(parsed, "write-through"),
    verbose: hasFlag(parsed, "verbose"),
    determinism,
  });
}

async function chooseDeterminism(parsed: ParsedArgs): Promise<Determinism> {
  const seedText = optionValue(parsed, "seed");
  const startText = optionValue(parsed, "start-time");
  const epoch = process.env.SOURCE_DATE_EPOCH;
  // A new attempt starts its clock now unless an option sets it: a start in
  // the past would make every file changed since then look equally old,
  // and make would miss edits.
  const startTimeNs =
    startText !== undefined
      ? parseStartTime(startText)
      : epoch
        ? parseStartTime(epoch, "SOURCE_DATE_EPOCH")
        : BigInt(Date.now()) * 1_000_000n;
  return {
    seed: seedText !== undefined ? parseSeed(seedText) : newSeed(),
    time: parseTimeMode(optionValue(parsed, "time") ?? "advancing"),
    startTimeNs,
    timeStepNs: DEFAULT_TIME_STEP_NS,
    layerIntervalNs: LAYER_INTERVAL_NS,
  };
}

/** The command of one recordRun() call and where it is recorded. */
export interface RecordSpec {
  traceDir: string;
  step: string;
  command: readonly string[];
  /** The exact bytes of `command` and of the environment, when known. */
  rawCommand?: Buffer[];
  rawEnv?: Buffer[];
  cwd: string;
  /** Parent attempts, lowest first; they need `overlay`. */
  parents?: readonly string[];
  overlay?: boolean;
  writeThrough?: boolean;
  /** Preload the realpath() shim (default: true). */
  fastPath?: boolean;
  verbose: boolean;
  determinism: Determinism;
  /** The attempt directory being replayed, linked as `replay`. */
  replayOf?: string;
}

/** Creates the next attempt of a step and runs the command into it. */
export async function recordRun(spec: RecordSpec): Promise<number> {
  if (spec.overlay) await checkParents(spec.parents ?? []);
  const attempt = await createAttempt(
    spec.traceDir,
    spec.step,
    spec.rawCommand ?? spec.command,
    {
      step: spec.step,
      cwd: spec.cwd,
      time: spec.determinism.time,
    },
  );
  await writeDeterminism(attempt.dir, spec.determinism);
  await writeFileAtomic(join(attempt.dir, "cwd"), spec.cwd + "\n");
  const layers = spec.overlay
    ? await prepareLayers(
        attempt.dir,
        spec.parents ?? [],
        spec.determinism,
      ).catch(async (error: unknown) => {
        // An attempt without its layers must not be mistaken for one.
        await rm(attempt.dir, { recursive: true, force: true });
        throw error;
      })
    : undefined;
  if (spec.replayOf) {
    await symlink(
      relative(attempt.dir, spec.replayOf),
      join(attempt.dir, "replay"),
    );
  }
  log.debug(
    `recording attempt ${attempt.dir} with seed ${spec.determinism.seed}`,
  );
  return superviseAttempt(attempt, spec, layers);
}

/**
 * Fails early, before an attempt is created, when the program cannot be
 * found or executed; the core reports the same cases, but later.
 */
function checkCommandExists(program: string): void {
  if (program.includes("/")) {
    checkProgramPath(program);
    return;
  }
  const dirs = (process.env.PATH ?? "").split(":").filter(Boolean);
  for (const dir of dirs) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return;
    } catch {
      // Not in this directory; try the next.
    }
  }
  throw new CliError(
    `command not found: ${program} (searched PATH=${process.env.PATH ?? ""}); check the spelling or give its path`,
    127,
  );
}

function checkProgramPath(program: string): void {
  let info;
  try {
    info = statSync(program);
  } catch {
    throw new CliError(`command not found: ${program} does not exist`, 127);
  }
  if (info.isDirectory()) {
    throw new CliError(`cannot execute ${program}: it is a directory`, 126);
  }
  try {
    accessSync(program, constants.X_OK);
  } catch {
    throw new CliError(
      `cannot execute ${program}: permission denied; make it executable with chmod +x or run it through its interpreter`,
      126,
    );
  }
}

async function superviseAttempt(
  attempt: Attempt,
  spec: RecordSpec,
  layers: LayerOptions | undefined,
): Promise<number> {
  const { command, cwd, verbose, determinism, rawCommand, rawEnv } = spec;
  const bufferDir = await createBufferDir();
  const output = join(attempt.dir, "perfetto");
  const run = startSupervised({
    command,
    rawCommand,
    rawEnv,
    bufferDir,
    cwd,
    verbose,
    determinism,
    layers,
    fastPath: spec.fastPath,
  });
  const collector = new BufferCollector({
    dir: bufferDir,
    output,
    onRelease: (buffer: string, offset: number) =>
      run.release(basename(buffer), offset),
  });

  run.on("warning", (message) => log.warn(message));
  const stopSignals = forwardSignals(run);
  const timer = setInterval(
    () => void pollQuietly(collector),
    COLLECT_INTERVAL_MS,
  );
  const result = await run.result;
  clearInterval(timer);
  stopSignals();

  await finishTrace(collector, bufferDir, output, result.status);
  await writeStatus(attempt, result, spec.fastPath !== false);
  if (layers && spec.writeThrough && result.complete) {
    const summary = exportAttempt(attempt.dir, "/", true);
    log.info(
      `wrote through ${plural(summary.files, "file", "files")}, ${plural(summary.symlinks, "symlink", "symlinks")}, ${plural(summary.directories, "directory", "directories")} and ${plural(summary.deletions, "deletion", "deletions")} to the real filesystem`,
    );
  }
  await removeBufferDir(bufferDir);
  const cpu = process.cpuUsage();
  log.debug(
    `uwrx itself used ${Math.round(cpu.user / 1000)} ms user and ${Math.round(cpu.system / 1000)} ms system CPU`,
  );
  return report(attempt, command, result);
}

async function pollQuietly(collector: BufferCollector): Promise<void> {
  try {
    await collector.poll();
  } catch (error) {
    log.warn(
      `collecting trace buffers failed, retrying at the end: ${(error as Error).message}`,
    );
  }
}

/**
 * Writes the attempt's perfetto file. On failure the buffer directory is
 * kept, so no recorded event is lost, and the error message names its path.
 */
async function finishTrace(
  collector: BufferCollector,
  bufferDir: string,
  output: string,
  commandStatus: number,
): Promise<void> {
  try {
    await collector.finish();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const hint =
      code === "ENOSPC"
        ? "the disk is full; free space and run again"
        : (cause as Error).message;
    throw new CliError(
      `cannot write the trace ${output}: ${hint}. The command exited with status ${commandStatus}; its raw event buffers are kept in ${bufferDir}`,
      125,
      { cause },
    );
  }
}

async function writeStatus(
  attempt: Attempt,
  result: RunResult,
  fastPath: boolean,
): Promise<void> {
  const status = {
    status: result.status,
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    execErrno: result.execErrno,
    complete: result.complete,
    processes: result.processCount,
    notifications: result.notificationCount,
    // Read by 'uwrx replay', which repeats the choice.
    fastPath,
  };
  await writeFileAtomic(
    join(attempt.dir, "status.json"),
    JSON.stringify(status, null, 2) + "\n",
  );
}

function report(
  attempt: Attempt,
  command: readonly string[],
  result: RunResult,
): number {
  if (!result.complete && result.core.exitCode === EXIT_UWRX_FAILURE) {
    // The core has printed a one-line reason of its own (for example a
    // kernel without seccomp user notification).
    return EXIT_UWRX_FAILURE;
  }
  if (!result.complete) {
    const how = result.core.signal ?? `status ${result.core.exitCode}`;
    throw new CliError(
      `the uwrx syscall core failed unexpectedly (${how}); ${attempt.dir}/perfetto contains the events recorded until then`,
    );
  }
  if (result.execErrno !== 0) {
    const notFound = result.execErrno === 2;
    throw new CliError(
      notFound
        ? `command not found: ${command[0]}; check the spelling or give its path`
        : `cannot execute ${command[0]} (${errnoName(result.execErrno)}); check that it is an executable file`,
      notFound ? 127 : 126,
    );
  }
  log.info(
    `trace: ${join(attempt.dir, "perfetto")} (${plural(result.processCount, "process", "processes")}, exit status ${result.status})`,
  );
  return result.status;
}

/**
 * Ctrl-C reaches the command through the terminal's process group, so
 * uwrx ignores SIGINT and waits for the tree; SIGTERM and SIGHUP sent to
 * uwrx alone are passed on to the command.
 */
function forwardSignals(run: SupervisedRun): () => void {
  const ignore = () => undefined;
  const forward = (signal: NodeJS.Signals) =>
    run.terminate(signal === "SIGHUP" ? 1 : 15);
  process.on("SIGINT", ignore);
  process.on("SIGTERM", forward);
  process.on("SIGHUP", forward);
  return () => {
    process.off("SIGINT", ignore);
    process.off("SIGTERM", forward);
    process.off("SIGHUP", forward);
  };
}

/** Returns the symbolic name of an errno value, such as EACCES. */
function errnoName(errno: number): string {
  const entry = Object.entries(osConstants.errno).find(([, v]) => v === errno);
  return entry ? entry[0] : `errno ${errno}`;
}

/** Returns the working directory, or raises a clear error when it was deleted. */
function currentDirectory(): string {
  try {
    return process.cwd();
  } catch (cause) {
    throw new CliError(
      "the current directory no longer exists; cd to an existing directory and run again",
      EXIT_UWRX_FAILURE,
      { cause },
    );
  }
}
