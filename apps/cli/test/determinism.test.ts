import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

import { inspectJson, makeTempDir, runUwrx } from "./support/uwrx.js";

const SEED_A = "a".repeat(64);
const SEED_B = "b".repeat(64);
const PROBE = "head -c 32 /dev/urandom | od -An -tx1; date +%s.%N";

describe("deterministic runs", () => {
  let traceDir: string;

  beforeEach(() => {
    traceDir = makeTempDir("determinism");
  });

  function probe(...options: string[]): string {
    const result = runUwrx([
      "run",
      "--quiet",
      "--trace-dir",
      traceDir,
      "--step",
      "probe",
      ...options,
      "--",
      "sh",
      "-c",
      PROBE,
    ]);
    expect(result.status).toBe(0);
    return result.stdout;
  }

  test("same seed gives the same output", () => {
    const first = probe("--seed", SEED_A);
    const second = probe("--seed", SEED_A);

    expect(second).toBe(first);
  });

  test("another seed changes the random bytes", () => {
    const first = probe("--seed", SEED_A).split("\n")[0];
    const second = probe("--seed", SEED_B).split("\n")[0];

    expect(second).not.toBe(first);
  });

  test("start time sets the clock", () => {
    const output = probe(
      "--seed",
      SEED_A,
      "--start-time",
      "1700000000",
      "--time",
      "frozen",
    );

    expect(output).toContain("1700000000.000000000");
  });

  test("attempt records seed and clock", () => {
    probe(
      "--seed",
      SEED_A.toUpperCase(),
      "--start-time",
      "2024-01-01T00:00:00Z",
    );

    const attempt = join(traceDir, "probe", "1");
    expect(readFileSync(join(attempt, "seed.txt"), "utf8")).toBe(SEED_A + "\n");
    const time = readFileSync(join(attempt, "time.txt"), "utf8");
    expect(time).toContain("mode=advancing\n");
    expect(time).toContain("start_ns=1704067200000000000\n");
  });

  test("replay repeats a random run", () => {
    const original = probe();
    const result = runUwrx(["replay", "--quiet", join(traceDir, "probe", "1")]);

    expect(result.status).toBe(0);
    expect(result.stdout).toBe(original);
    expect(readlinkSync(join(traceDir, "probe", "2", "replay"))).toBe("../1");
    expect(readFileSync(join(traceDir, "probe", "2", "seed.txt"), "utf8")).toBe(
      readFileSync(join(traceDir, "probe", "1", "seed.txt"), "utf8"),
    );
  });

  test("rejects a malformed seed", () => {
    const result = runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--seed",
      "xyz",
      "--",
      "true",
    ]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      "invalid seed 'xyz': expected 64 hex digits",
    );
  });

  test("rejects an unknown time mode", () => {
    const result = runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--time",
      "slow",
      "--",
      "true",
    ]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("invalid --time 'slow'");
  });

  test("replay rejects a non-attempt", () => {
    const result = runUwrx(["replay", traceDir]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("is not an attempt directory");
  });

  test("inspect chance shows reads", () => {
    probe("--seed", SEED_A);

    const reads = inspectJson<
      {
        argv: string[];
        urandomOpens: string[];
        atRandom: string[];
        timeReads: number;
      }[]
    >("chance", traceDir);
    const head = reads.find((r) => r.argv[0] === "head");
    const date = reads.find((r) => r.argv[0] === "date");
    expect(head?.urandomOpens).toEqual(["/dev/urandom"]);
    expect(head?.atRandom).toHaveLength(1);
    expect(head?.atRandom[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(date?.timeReads).toBeGreaterThan(0);
  });
});
