import { readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { inspectJson, makeTempDir, runUwrx } from "./support/uwrx.js";

const SEED_A = "a".repeat(64);
const SEED_B = "b".repeat(64);
const START = "1700000000";
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

  test("same seed and start give the same output", () => {
    const first = probe("--seed", SEED_A, "--start-time", START);
    const second = probe("--seed", SEED_A, "--start-time", START);

    expect(second).toBe(first);
  });

  test("a new attempt's clock starts now", () => {
    const before = Date.now() / 1000;
    const lines = probe("--seed", SEED_A).trim().split("\n");
    const seconds = Number(lines.at(-1));

    expect(seconds).toBeGreaterThanOrEqual(Math.floor(before));
    expect(seconds).toBeLessThan(before + 60);
  });

  test("SOURCE_DATE_EPOCH sets the start", () => {
    const result = runUwrx(
      [
        "run",
        "-q",
        "--trace-dir",
        traceDir,
        "--time",
        "frozen",
        "--",
        "date",
        "+%s",
      ],
      { env: { SOURCE_DATE_EPOCH: "1600000000" } },
    );

    expect(result.stdout).toBe("1600000000\n");
  });

  test.each([
    ["-5", "invalid --start-time '-5'"],
    ["2026-02-30T00:00:00Z", "invalid --start-time '2026-02-30T00:00:00Z'"],
    ["2026-06-01T00:00:00", "with a zone"],
    ["March 7", "invalid --start-time 'March 7'"],
    ["0", "at least 1 s after 1970"],
  ])("rejects start time %s", (value, message) => {
    const result = runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--start-time",
      value,
      "--",
      "true",
    ]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });

  test("names SOURCE_DATE_EPOCH when it is invalid", () => {
    const result = runUwrx(["run", "--trace-dir", traceDir, "--", "true"], {
      env: { SOURCE_DATE_EPOCH: "abc" },
    });

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("invalid SOURCE_DATE_EPOCH 'abc'");
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
      'invalid seed "xyz" in --seed: expected 64 hex digits',
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
    expect(result.stderr).toContain('invalid --time "slow"');
  });

  test("replay runs in the attempt's directory", () => {
    const first = makeTempDir("cwd-one");
    const second = makeTempDir("cwd-two");
    runUwrx(
      ["run", "-q", "--trace-dir", traceDir, "--step", "pwd", "--", "pwd"],
      { cwd: first },
    );
    runUwrx(
      ["run", "-q", "--trace-dir", traceDir, "--step", "pwd", "--", "pwd"],
      { cwd: second },
    );

    const result = runUwrx(["replay", "-q", join(traceDir, "pwd", "1")]);

    expect(result.stdout).toBe(first + "\n");
  });

  test("replay names a damaged seed file", () => {
    probe();
    const seedFile = join(traceDir, "probe", "1", "seed.txt");
    writeFileSync(seedFile, "garbage\n");

    const result = runUwrx(["replay", join(traceDir, "probe", "1")]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`invalid seed "garbage\\n" in ${seedFile}`);
  });

  test("replay names a damaged time file", () => {
    probe();
    const timeFile = join(traceDir, "probe", "1", "time.txt");
    writeFileSync(timeFile, "mode=advancing\nstart_ns=abc\n");

    const result = runUwrx(["replay", join(traceDir, "probe", "1")]);

    expect(result.status).toBe(125);
    expect(result.stderr).toContain(
      `invalid ${timeFile}: start_ns must be a whole number`,
    );
  });

  test("replay needs the directory it ran in", () => {
    const gone = makeTempDir("gone");
    runUwrx(
      ["run", "-q", "--trace-dir", traceDir, "--step", "gone", "--", "true"],
      { cwd: gone },
    );
    rmSync(gone, { recursive: true });

    const result = runUwrx(["replay", join(traceDir, "gone", "1")]);

    expect(result.status).toBe(125);
    expect(result.stderr).toContain(`directory ${gone}, where`);
  });

  test("make sees an edit between runs", async () => {
    const project = makeTempDir("make");
    writeFileSync(join(project, "Makefile"), "out: in\n\tcp in out\n");
    writeFileSync(join(project, "in"), "one\n");
    const make = () =>
      runUwrx(
        [
          "run",
          "-q",
          "--write-through",
          "--trace-dir",
          traceDir,
          "--step",
          "make",
          "--",
          "make",
        ],
        { cwd: project },
      );

    expect(make().status).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    writeFileSync(join(project, "in"), "two\n");
    const second = make();

    expect(second.stdout).toContain("cp in out");
    expect(readFileSync(join(project, "out"), "utf8")).toBe("two\n");
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
