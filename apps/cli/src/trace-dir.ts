import { mkdir, readdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

import { CliError } from "./errors.js";
import { writeFileAtomic } from "./fs-atomic.js";

/** An attempt directory: `<trace-dir>/<step>/<n>`. */
export interface Attempt {
  traceDir: string;
  step: string;
  number: number;
  dir: string;
}

const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Returns the trace directory used when --trace-dir is not given. */
export function defaultTraceDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.UWRX_TRACE_DIR ?? ".uwrx");
}

/** Derives a step name from a command: the program's base name. */
export function stepNameFor(command: readonly string[]): string {
  const name = basename(command[0] ?? "step").replace(/[^A-Za-z0-9._-]/g, "_");
  return STEP_NAME.test(name) ? name : `step-${name}`.slice(0, 128);
}

/** Rejects step names that are not a plain directory name. */
export function checkStepName(step: string): void {
  if (!STEP_NAME.test(step)) {
    throw new CliError(
      `invalid step name '${step}': use letters, digits, '.', '_' and '-', starting with a letter or digit`,
      2,
    );
  }
}

/**
 * Encodes a command line for the `cmd` file: one argument per line, with
 * backslash and newline escaped as `\\` and `\n` so every argument fits
 * on one line. Arguments are bytes, so no encoding is imposed on them.
 */
export function encodeCommandLine(
  command: readonly (string | Uint8Array)[],
): Buffer {
  const lines = command.map((arg) => {
    const text = Buffer.from(arg).toString("latin1");
    return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n") + "\n";
  });
  return Buffer.from(lines.join(""), "latin1");
}

/** Decodes a `cmd` file written by encodeCommandLine into argument bytes. */
export function decodeCommandLine(file: Buffer): Buffer[] {
  const text = file.toString("latin1");
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : [];
  return lines.map((line) =>
    Buffer.from(
      line.replace(/\\(\\|n)/g, (_, c: string) => (c === "n" ? "\n" : "\\")),
      "latin1",
    ),
  );
}

/**
 * Creates the next attempt of a step, numbered 1, 2, ... mkdir is the
 * claim, so two runs started at once get different numbers.
 */
export async function createAttempt(
  traceDir: string,
  step: string,
  command: readonly (string | Uint8Array)[],
  options: Record<string, unknown>,
): Promise<Attempt> {
  const stepDir = join(traceDir, step);
  await mkdirOrExplain(stepDir);
  await writeFileAtomic(join(stepDir, "cmd"), encodeCommandLine(command));
  await writeFileAtomic(
    join(stepDir, "options"),
    JSON.stringify(options, null, 2) + "\n",
  );

  for (let number = (await lastAttempt(stepDir)) + 1; ; number++) {
    const dir = join(stepDir, String(number));
    try {
      await mkdir(dir);
      // A step's cmd is its latest command; each attempt keeps its own.
      await writeFileAtomic(join(dir, "cmd"), encodeCommandLine(command));
      return { traceDir, step, number, dir };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

async function mkdirOrExplain(dir: string): Promise<void> {
  try {
    await makeDirectories(dir);
    if (!(await stat(dir)).isDirectory()) {
      throw Object.assign(new Error(`${dir} is not a directory`), {
        code: "ENOTDIR",
      });
    }
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "error";
    if (code === "EEXIST" || code === "ENOTDIR") {
      throw new CliError(
        `cannot create trace directory ${dir}: a file is in the way; choose another --step or --trace-dir`,
        125,
        { cause },
      );
    }
    throw new CliError(
      `cannot create trace directory ${dir} (${code}); choose a writable place with --trace-dir`,
      125,
      { cause },
    );
  }
}

/**
 * Creates a directory and its missing parents. Node's recursive mkdir
 * loops forever on ENOENT from a pseudo filesystem such as /proc (seen with
 * Node 20.20), so each level is created here and ENOENT from an existing
 * parent is an error.
 */
async function makeDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = resolve(dir); ; current = dirname(current)) {
    if (await exists(current)) break;
    missing.unshift(current);
    if (current === dirname(current)) break;
  }
  for (const path of missing) {
    try {
      await mkdir(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/** Returns the highest attempt number in a step directory, or 0. */
export async function lastAttempt(stepDir: string): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(stepDir);
  } catch {
    return 0;
  }
  const numbers = entries.filter((e) => /^[1-9][0-9]*$/.test(e)).map(Number);
  return numbers.length === 0 ? 0 : Math.max(...numbers);
}

/**
 * Finds the perfetto file that a user means by `path`: the file itself,
 * an attempt directory, a step directory (its last attempt with a trace)
 * or a trace directory (that attempt of its most recently changed step).
 */
export async function resolveTracePath(path: string): Promise<string> {
  const info = await statOrExplain(path);
  if (info.isFile()) {
    if (info.size === 0) {
      throw new CliError(
        `trace ${path} is empty: it is not a uwrx trace, or its run was killed before anything was recorded`,
      );
    }
    return path;
  }
  if (!info.isDirectory()) {
    throw new CliError(
      `trace path ${path} is neither a file nor a directory; pass a trace directory, attempt directory or perfetto file`,
    );
  }

  const direct = join(path, "perfetto");
  if (await exists(direct)) return direct;
  if (await exists(join(path, "perfetto.partial"))) {
    throw new CliError(
      `attempt ${path} is incomplete: uwrx was killed during the run; inspect ${join(path, "perfetto.partial")} to see what was recorded`,
    );
  }

  const attempt = await lastTracedAttempt(path);
  if (attempt) return attempt;
  const step = await newestStep(path);
  if (step) return resolveTracePath(step);

  throw new CliError(
    `no trace found in ${path}: expected a perfetto file, an attempt directory (<trace-dir>/<step>/<n>), a step directory or a trace directory`,
  );
}

/** Returns the perfetto file of the highest-numbered attempt that has one. */
async function lastTracedAttempt(stepDir: string): Promise<string | undefined> {
  const numbers = (await listOrExplain(stepDir))
    .filter((e) => /^[1-9][0-9]*$/.test(e))
    .map(Number)
    .sort((a, b) => b - a);
  for (const number of numbers) {
    const file = join(stepDir, String(number), "perfetto");
    if (await exists(file)) return file;
  }
  return undefined;
}

async function listOrExplain(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new CliError(
      `trace directory ${dir} cannot be read (${code}); check its permissions or pass another path`,
      125,
      { cause },
    );
  }
}

async function statOrExplain(path: string) {
  try {
    return await stat(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "does not exist" : `cannot be read (${code})`;
    throw new CliError(
      `trace path ${path} ${reason}; pass a trace directory, attempt directory or perfetto file`,
      125,
      { cause },
    );
  }
}

async function newestStep(traceDir: string): Promise<string | undefined> {
  let best: { path: string; mtime: number } | undefined;
  for (const name of await listOrExplain(traceDir)) {
    const path = join(traceDir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) continue;
    if ((await lastTracedAttempt(path).catch(() => undefined)) === undefined)
      continue;
    if (!best || info.mtimeMs > best.mtime)
      best = { path, mtime: info.mtimeMs };
  }
  return best?.path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
