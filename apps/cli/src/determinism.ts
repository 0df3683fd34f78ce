import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import type { Determinism } from "@uwrx/seccomp-native";

import { CliError } from "./errors.js";
import { writeFileAtomic } from "./fs-atomic.js";

export type TimeMode = Determinism["time"];

const SEED = /^[0-9a-f]{64}$/;
const TIME_MODES: readonly TimeMode[] = ["frozen", "advancing", "real"];

/** Checks a --seed value and returns it in lowercase. */
export function parseSeed(text: string): string {
  const seed = text.trim().toLowerCase();
  if (!SEED.test(seed)) {
    throw new CliError(
      `invalid seed '${text}': expected 64 hex digits (32 bytes), as written in an attempt's seed.txt`,
      2,
    );
  }
  return seed;
}

/** Returns a fresh random root seed. */
export function newSeed(): string {
  return randomBytes(32).toString("hex");
}

/** Checks a --time value. */
export function parseTimeMode(text: string): TimeMode {
  if (!(TIME_MODES as readonly string[]).includes(text)) {
    throw new CliError(
      `invalid --time '${text}': expected frozen, advancing or real`,
      2,
    );
  }
  return text as TimeMode;
}

/**
 * Parses --start-time: seconds since the epoch (as SOURCE_DATE_EPOCH) or
 * an ISO 8601 date, returned in ns since the epoch.
 */
export function parseStartTime(text: string): bigint {
  if (/^[0-9]+$/.test(text)) return BigInt(text) * 1_000_000_000n;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new CliError(
      `invalid --start-time '${text}': expected seconds since 1970 or an ISO 8601 date such as 2026-01-31T12:00:00Z`,
      2,
    );
  }
  return BigInt(ms) * 1_000_000n;
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
  ];
  await writeFileAtomic(join(dir, "time.txt"), lines.join("\n") + "\n");
}

/** Reads seed.txt and time.txt of an attempt, for a replay. */
export async function readDeterminism(dir: string): Promise<Determinism> {
  const seed = parseSeed(await readAttemptFile(dir, "seed.txt"));
  const fields = new Map(
    (await readAttemptFile(dir, "time.txt"))
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("=", 2) as [string, string]),
  );
  return {
    seed,
    time: parseTimeMode(fields.get("mode") ?? ""),
    startTimeNs: BigInt(fields.get("start_ns") ?? "0"),
    timeStepNs: BigInt(fields.get("step_ns") ?? "1000"),
  };
}

/** Reads the start time recorded in an attempt, or undefined. */
export async function recordedStartTime(
  dir: string,
): Promise<bigint | undefined> {
  try {
    return (await readDeterminism(dir)).startTimeNs;
  } catch {
    return undefined;
  }
}

async function readAttemptFile(dir: string, name: string): Promise<string> {
  try {
    return await readFile(join(dir, name), "utf8");
  } catch (cause) {
    throw new CliError(
      `cannot read ${join(dir, name)}: ${(cause as NodeJS.ErrnoException).code ?? cause}; pass an attempt directory recorded by 'uwrx run'`,
      125,
      { cause },
    );
  }
}
