import { create } from "@bufbuild/protobuf";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";

import { CoreMessageDecoder, encodeHostMessage } from "./control-channel.js";
import { SeccompNativeError } from "./errors.js";
import {
  ReleaseSchema,
  TerminateSchema,
  type CoreMessage,
  type Exec,
  type Finished,
  type ProcessExited,
  type ProcessStarted,
  type Started,
} from "./gen/uwrx/core/v1/control_pb.js";
import { locateCore, locateShim } from "./locate-core.js";

/** Options of {@link startSupervised}. */
export interface SuperviseOptions {
  /** The command and its arguments; the first is looked up in PATH. */
  command: readonly string[];
  /** Directory for the per-process buffer files (see createBufferDir). */
  bufferDir: string;
  /** Working directory of the command. Default: the current one. */
  cwd?: string;
  /** Environment of the command. Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  /**
   * "inherit" (default) passes this process's stdin, stdout and stderr to
   * the command; "pipe" exposes them as streams on the run.
   */
  stdio?: "inherit" | "pipe";
  /** Path of the core binary. Default: found by locateCore(). */
  corePath?: string;
  /** Makes the core log what it does to stderr. Default: false. */
  verbose?: boolean;
  /**
   * Shows the command a layered filesystem: the real one read-only, the
   * parent layers of `index` above it and `upper` on top, where every
   * write goes. Default: unset, the command writes the real filesystem.
   */
  layers?: LayerOptions;
  /**
   * Preloads the shim (`lib/libuwrx-shim.so` of the platform package),
   * which performs realpath(), read-only open(), stat(), lstat(), fstat()
   * and access() inside dynamically linked programs where the layers
   * allow, so that those calls need no round trip through the core. They
   * are recorded all the same, with `in_process: true`. The command gets
   * the shim at the end of LD_PRELOAD. Default: true where the platform
   * package ships the shim (linux-x64); false runs every call through
   * seccomp.
   */
  fastPath?: boolean;
  /**
   * The command's arguments and environment as exact bytes, used in place
   * of `command` and `env` when given. Node turns bytes that are not
   * valid UTF-8 into U+FFFD in strings, so callers that received raw
   * bytes (from /proc/self/cmdline, say) pass them here. Default: unset.
   */
  rawCommand?: readonly Uint8Array[];
  rawEnv?: readonly Uint8Array[];
  /**
   * Serves randomness, time and AT_RANDOM from `seed` and turns address
   * space randomization off for the tree. Default: off.
   */
  determinism?: Determinism;
}

/** The layered filesystem of a run. */
export interface LayerOptions {
  /** Writable top layer: the attempt's `files/` directory. */
  upper: string;
  /** Index of the parent layers, as `@uwrx/overlay` writeIndex() writes it. */
  index?: string;
  /** Number of parent layers in the index (0 without one). */
  parentLayers: number;
}

/** Seed and clock settings of a deterministic run. */
export interface Determinism {
  /** Root seed of the run: 64 hex digits (32 bytes). */
  seed: string;
  /**
   * "frozen": every clock read returns the start time; "advancing": each
   * read returns the previous value plus `timeStepNs`; "real": the
   * kernel's clocks, untouched.
   */
  time: "frozen" | "advancing" | "real";
  /** Wall-clock time the run starts at, in ns since the Unix epoch. */
  startTimeNs: bigint;
  /** Advance per clock read in "advancing" mode, in ns. Default: 1000. */
  timeStepNs?: bigint;
  /**
   * Spacing of file times below the start, in ns: files the run did not
   * write report at most start - 2 * interval. Default: the core's, 1 s.
   */
  layerIntervalNs?: bigint;
}

/** Advance per clock read in "advancing" mode when none is given, in ns. */
export const DEFAULT_TIME_STEP_NS = 1000n;

const DEFAULTS = Object.freeze({ stdio: "inherit" as const, verbose: false });

/** Outcome of a supervised command. */
export interface RunResult {
  /** Exit status 0-255, when the command exited. */
  exitCode?: number;
  /** Terminating signal number, when a signal killed the command. */
  signal?: number;
  /** Shell-style status: exitCode, or 128 + signal. */
  status: number;
  /** errno of the failed execvp when the command could not start, else 0. */
  execErrno: number;
  /** False when the core itself ended without reporting the end. */
  complete: boolean;
  /** Exit of the core process itself, for diagnostics. */
  core: { exitCode: number | null; signal: NodeJS.Signals | null };
  processCount: number;
  notificationCount: number;
}

/** Events of a {@link SupervisedRun}. */
export interface SupervisedRunEvents {
  started: [Started];
  process: [ProcessStarted];
  exec: [Exec];
  exit: [ProcessExited];
  warning: [string];
}

/**
 * A command running under the syscall core. Process, exec and exit events
 * arrive as events; file and output events go to the buffer files, which
 * a BufferCollector from `@uwrx/perfetto/node` turns into a trace.
 */
export class SupervisedRun extends EventEmitter<SupervisedRunEvents> {
  /** Resolves when the core has exited; never rejects. */
  readonly result: Promise<RunResult>;
  readonly bufferDir: string;
  readonly stdin: ChildProcess["stdin"];
  readonly stdout: ChildProcess["stdout"];
  readonly stderr: ChildProcess["stderr"];
  /** Process id of the core. */
  readonly pid: number | undefined;

  private readonly child: ChildProcess;
  private readonly control: Duplex;
  private finished: Finished | undefined;
  private protocolError: Error | undefined;

  constructor(child: ChildProcess, bufferDir: string) {
    super();
    this.child = child;
    this.bufferDir = bufferDir;
    this.pid = child.pid;
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    this.control = child.stdio[3] as Duplex;
    this.result = this.watch();
  }

  /** Lets the core free the pages of `buffer` below `offset`. */
  release(buffer: string, offset: number): void {
    const value = create(ReleaseSchema, { buffer, offset: BigInt(offset) });
    this.send(encodeHostMessage({ case: "release", value }));
  }

  /** Asks the core to send `signal` to the command's first process. */
  terminate(signal: number = 15): void {
    const value = create(TerminateSchema, { signal });
    this.send(encodeHostMessage({ case: "terminate", value }));
  }

  private send(frame: Buffer): void {
    if (!this.control.destroyed && this.control.writable) {
      this.control.write(frame);
    }
  }

  private watch(): Promise<RunResult> {
    const decoder = new CoreMessageDecoder();
    this.control.on("data", (chunk: Buffer) => this.receive(decoder, chunk));
    // The core may close its end first; a reset here is not an error.
    this.control.on("error", () => undefined);

    return new Promise((resolve) => {
      this.child.on("close", (exitCode, signal) => {
        resolve(this.summarize(exitCode, signal));
      });
    });
  }

  private receive(decoder: CoreMessageDecoder, chunk: Buffer): void {
    let messages: CoreMessage[];
    try {
      messages = decoder.push(chunk);
    } catch (error) {
      this.protocolError = error as Error;
      this.control.destroy();
      return;
    }
    for (const message of messages) {
      this.dispatch(message);
    }
  }

  private dispatch(message: CoreMessage): void {
    const { case: kind, value } = message.message;
    if (kind === "started") this.emit("started", value);
    else if (kind === "processStarted") this.emit("process", value);
    else if (kind === "exec") this.emit("exec", value);
    else if (kind === "processExited") this.emit("exit", value);
    else if (kind === "warning") this.emit("warning", value.message);
    else if (kind === "finished") this.finished = value;
  }

  private summarize(
    coreExit: number | null,
    coreSignal: NodeJS.Signals | null,
  ): RunResult {
    const core = { exitCode: coreExit, signal: coreSignal };
    const finished = this.finished;
    if (this.protocolError) {
      this.emit("warning", this.protocolError.message);
    }
    if (!finished) {
      return {
        status: coreExit ?? 125,
        execErrno: 0,
        complete: false,
        core,
        processCount: 0,
        notificationCount: 0,
      };
    }

    const exitCode = finished.exitCode;
    const signal = finished.signal;
    return {
      exitCode,
      signal,
      status: shellStatus(finished),
      execErrno: finished.execErrno,
      complete: true,
      core,
      processCount: Number(finished.processCount),
      notificationCount: Number(finished.notificationCount),
    };
  }
}

/** Returns the status a shell would report: 127 not found, 126 not executable. */
function shellStatus(finished: Finished): number {
  if (finished.execErrno !== 0)
    return finished.execErrno === ENOENT ? 127 : 126;
  if (finished.signal !== undefined) return 128 + finished.signal;
  return finished.exitCode ?? 125;
}

const ENOENT = 2;

/**
 * Starts `command` under the syscall core and returns at once. The core
 * writes one buffer file per process into `bufferDir`.
 */
export function startSupervised(options: SuperviseOptions): SupervisedRun {
  const settings = { ...DEFAULTS, ...options };
  validate(settings);

  const corePath = settings.corePath ?? locateCore(settings.env);
  const args = ["--control-fd", "3", "--buffer-dir", settings.bufferDir];
  if (settings.verbose) args.push("--verbose");
  if (settings.determinism) args.push(...determinismArgs(settings.determinism));
  if (settings.layers) args.push(...layerArgs(settings.layers));
  const shim = settings.fastPath === false ? undefined : locateShim(corePath);
  // The dynamic loader splits LD_PRELOAD at spaces and colons, so such a
  // path would name files that do not exist, and every program would
  // print a loader error.
  const unusableShim = shim !== undefined && /[\s:]/.test(shim);
  if (shim && !unusableShim) args.push("--shim", shim);
  if (settings.rawCommand) {
    const file = join(settings.bufferDir, "argv.bin");
    writeFileSync(file, joinNulTerminated(settings.rawCommand), {
      mode: 0o600,
    });
    args.push("--argv-file", file);
  }
  if (settings.rawEnv) {
    const file = join(settings.bufferDir, "env.bin");
    writeFileSync(file, joinNulTerminated(settings.rawEnv), { mode: 0o600 });
    args.push("--env-file", file);
  }
  args.push("--", ...settings.command);

  const io = settings.stdio === "pipe" ? "pipe" : "inherit";
  const child = spawn(corePath, args, {
    cwd: settings.cwd,
    env: settings.env,
    stdio: [io, io, io, "pipe"],
  });
  child.on("error", () => undefined);
  const run = new SupervisedRun(child, settings.bufferDir);
  if (unusableShim) {
    setImmediate(() =>
      run.emit(
        "warning",
        `the in-process fast path is off: LD_PRELOAD cannot carry the path ${shim}, which contains a space or colon; install uwrx under a path without them`,
      ),
    );
  }
  return run;
}

function layerArgs(layers: LayerOptions): string[] {
  const args = [
    "--upper",
    layers.upper,
    "--parent-layers",
    String(layers.parentLayers),
  ];
  if (layers.index) args.push("--layer-index", layers.index);
  return args;
}

/** Concatenates strings of bytes, each followed by a NUL byte. */
function joinNulTerminated(items: readonly Uint8Array[]): Buffer {
  return Buffer.concat(items.flatMap((item) => [item, Buffer.of(0)]));
}

function determinismArgs(determinism: Determinism): string[] {
  const step = determinism.timeStepNs ?? DEFAULT_TIME_STEP_NS;
  return [
    "--seed",
    determinism.seed,
    "--time",
    determinism.time,
    "--start-time-ns",
    String(determinism.startTimeNs),
    "--time-step-ns",
    String(step),
    ...(determinism.layerIntervalNs !== undefined
      ? ["--layer-interval-ns", String(determinism.layerIntervalNs)]
      : []),
  ];
}

const SEED = /^[0-9a-f]{64}$/;
const TIME_MODES = new Set(["frozen", "advancing", "real"]);

function validateDeterminism(determinism: Determinism): void {
  if (!SEED.test(determinism.seed)) {
    throw new SeccompNativeError(
      "INVALID_OPTION",
      `invalid seed '${determinism.seed}': expected 64 lowercase hex digits`,
    );
  }
  if (!TIME_MODES.has(determinism.time)) {
    throw new SeccompNativeError(
      "INVALID_OPTION",
      `invalid time mode '${determinism.time}': expected frozen, advancing or real`,
    );
  }
  if (determinism.startTimeNs < 0n) {
    throw new SeccompNativeError(
      "INVALID_OPTION",
      `invalid start time ${determinism.startTimeNs}: expected nanoseconds since 1970`,
    );
  }
}

function validate(options: SuperviseOptions): void {
  if (options.determinism) validateDeterminism(options.determinism);
  if (!Array.isArray(options.command) || options.command.length === 0) {
    throw new SeccompNativeError(
      "INVALID_OPTION",
      "option command must be a non-empty array of strings, for example ['make', '-j2']",
    );
  }
  if (typeof options.bufferDir !== "string" || options.bufferDir === "") {
    throw new SeccompNativeError(
      "INVALID_OPTION",
      "option bufferDir must name a directory; create one with createBufferDir()",
    );
  }
}
