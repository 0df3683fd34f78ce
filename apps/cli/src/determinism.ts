import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import type { Determinism } from "@uwrx/seccomp-native";

import { CliError, EXIT_USAGE, EXIT_UWRX_FAILURE } from "./errors.js";
import { writeFileAtomic } from "./fs-atomic.js";

export type TimeMode = Determinism["time"];

const SEED = /^[0-9a-f]{64}$/;
const TIME_MODES: readonly TimeMode[] = ["frozen", "advancing", "real"];
const NS_PER_SECOND = 1_000_000_000n;

/**
 * Spacing of the file-time layers below the clock start, in ns: files of
 * the base report at most start - 2 * interval, so only files changed in
 * the last 20 ms before a run read as equally old.
 */
export const LAYER_INTERVAL_NS = 10_000_000n;

/** Earliest start time the layer times leave room for: 1970 plus 1 s. */
const MIN_START_NS = NS_PER_SECOND;

/** An ISO 8601 date-time with seconds optional and a zone required. */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Checks a seed and returns it in lowercase. `source` names where the
 * value came from, for the message.
 */
export function parseSeed(text: string, source = "--seed"): string {
  const seed = text.trim().toLowerCase();
  if (!SEED.test(seed)) {
    throw new CliError(
      `invalid seed ${JSON.stringify(text)} in ${source}: expected 64 hex digits (32 bytes), as written in an attempt's seed.txt`,
      EXIT_USAGE,
    );
  }
  return seed;
}

/** Returns a fresh random root seed. */
export function newSeed(): string {
  return randomBytes(32).toString("hex");
}

/** Checks a --time value. */
export function parseTimeMode(text: string, source = "--time"): TimeMode {
  if (!(TIME_MODES as readonly string[]).includes(text)) {
    throw new CliError(
      `invalid ${source} ${JSON.stringify(text)}: expected frozen, advancing or real`,
      EXIT_USAGE,
    );
  }
  return text as TimeMode;
}

/**
 * Parses a start time: whole seconds since 1970 (as SOURCE_DATE_EPOCH) or
 * an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z.
 * Returns ns since the epoch. `source` names the option or variable.
 */
export function parseStartTime(text: string, source = "--start-time"): bigint {
  const ns = /^[0-9]+$/.test(text)
    ? BigInt(text) * NS_PER_SECOND
    : parseIsoDateTime(text);
  if (ns === undefined) {
    throw new CliError(
      `invalid ${source} '${text}': expected whole seconds since 1970 or an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z`,
      EXIT_USAGE,
    );
  }
  if (ns < MIN_START_NS) {
    throw new CliError(
      `invalid ${source} '${text}': the start time must be at least 1 s after 1970-01-01T00:00:00Z`,
      EXIT_USAGE,
    );
  }
  return ns;
}

/** Parses an ISO date-time strictly: no local time, no day 30 of February. */
function parseIsoDateTime(text: string): bigint | undefined {
  const match = ISO_DATE_TIME.exec(text);
  if (!match) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return undefined;

  const [, year, month, day] = match;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  const sameDay =
    date.getUTCFullYear() === Number(year) &&
    date.getUTCMonth() === Number(month) - 1 &&
    date.getUTCDate() === Number(day);
  return sameDay ? BigInt(ms) * 1_000_000n : undefined;
}

/** Writes seed.txt and time.txt into an attempt directory. */
export async function writeDeterminism(
  dir: string,
  determinism: Determinism,
): Promise<void> {
  await writeFileAtomic(join(dir, "seed.txt"), determinism.seed + "\n");
  const lines = [
    `mode=${determinism.time}`,
    `start_ns=${determinism.startTimeNs}`,
    `step_ns=${determinism.timeStepNs ?? 1000n}`,
    `layer_interval_ns=${determinism.layerIntervalNs ?? LAYER_INTERVAL_NS}`,
  ];
  await writeFileAtomic(join(dir, "time.txt"), lines.join("\n") + "\n");
}

/** Reads seed.txt and time.txt of an attempt, for a replay. */
export async function readDeterminism(dir: string): Promise<Determinism> {
  const seedFile = join(dir, "seed.txt");
  const timeFile = join(dir, "time.txt");
  const seed = parseSeed(await readAttemptFile(seedFile), seedFile);
  const fields = new Map(
    (await readAttemptFile(timeFile))
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("=", 2) as [string, string]),
  );
  const number = (key: string, fallback?: bigint): bigint => {
    const text = fields.get(key);
    if (text === undefined && fallback !== undefined) return fallback;
    if (text === undefined || !/^[0-9]+$/.test(text)) {
      throw new CliError(
        `invalid ${timeFile}: ${key} must be a whole number of nanoseconds, found ${JSON.stringify(text ?? "")}; record the attempt again with 'uwrx run'`,
        EXIT_UWRX_FAILURE,
      );
    }
    return BigInt(text);
  };
  return {
    seed,
    time: parseTimeMode(fields.get("mode") ?? "", `mode in ${timeFile}`),
    startTimeNs: number("start_ns"),
    timeStepNs: number("step_ns", 1000n),
    layerIntervalNs: number("layer_interval_ns", LAYER_INTERVAL_NS),
  };
}

async function readAttemptFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (cause) {
    throw new CliError(
      `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}; pass an attempt directory recorded by 'uwrx run'`,
      EXIT_UWRX_FAILURE,
      { cause },
    );
  }
}
