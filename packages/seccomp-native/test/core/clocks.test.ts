import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CoreRun, eventsNamed, makeTempDir, runCore } from "./run-core.js";

// Under --seed only wall-clock time is virtual: monotonic, boot-time and
// CPU-time clocks stay real, so that sleeps and timers with deadlines
// computed from them still wait.

const programs = join(dirname(fileURLToPath(import.meta.url)), "programs");
const seed = "ab".repeat(32);
const startTimeNs = 1700000000123456789n;

let clockReads = "";

beforeAll(() => {
  const dir = makeTempDir("uwrx-clock-programs-");
  clockReads = join(dir, "clock-reads");
  execFileSync("gcc", ["-O2", "-o", clockReads, join(programs, "clock-reads.c")]);
});

function seedArgs(time: string): string[] {
  return ["--seed", seed, "--time", time, "--start-time-ns", String(startTimeNs)];
}

async function runSeeded(command: string[], time = "frozen"): Promise<CoreRun> {
  const run = await runCore(command, { coreArgs: seedArgs(time), timeoutMs: 30000 });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  return run;
}

function notificationCount(run: CoreRun): bigint {
  const finished = run.messages.find((m) => m.message.case === "finished");
  return (finished?.message.value as { notificationCount: bigint }).notificationCount;
}

describe("uwrx-core clocks with --seed", () => {
  test("python time.sleep waits", async () => {
    const script = "import time; a = time.monotonic(); time.sleep(1); print(time.monotonic() - a)";
    const started = Date.now();
    const run = await runSeeded(["python3", "-c", script]);
    const elapsed = Date.now() - started;
    expect(Number(run.stdout)).toBeGreaterThanOrEqual(0.99);
    expect(Number(run.stdout)).toBeLessThan(3);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
  });

  test("node setTimeout fires", async () => {
    const script = 'setTimeout(() => console.log("fired"), 200)';
    const started = Date.now();
    const run = await runSeeded(["node", "-e", script], "advancing");
    expect(run.stdout).toBe("fired\n");
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  test("date keeps the virtual start", async () => {
    const run = await runSeeded(["date", "+%s"]);
    expect(run.stdout).toBe(`${startTimeNs / 1000000000n}\n`);
  });

  test("CLOCK_MONOTONIC advances across sleep", async () => {
    const script = 'import time, subprocess; a = time.monotonic(); subprocess.run(["sleep", "0.2"]); print(time.monotonic() - a)';
    const run = await runSeeded(["python3", "-c", script]);
    expect(Number(run.stdout)).toBeGreaterThanOrEqual(0.19);
    expect(Number(run.stdout)).toBeLessThan(5);
  });

  test("non-wall clocks need no notification", async () => {
    const none = await runSeeded([clockReads, "0"]);
    const many = await runSeeded([clockReads, "1000"]);
    expect(notificationCount(many)).toBe(notificationCount(none));
    expect(eventsNamed(many, "exit")[0]?.annotations.get("time_reads")).toBe(0n);
  });

  test("wall clock reads are still served", async () => {
    const run = await runSeeded(["date", "+%s.%N"]);
    expect(run.stdout).toBe("1700000000.123456789\n");
    expect(eventsNamed(run, "exit")[0]?.annotations.get("time_reads")).toBeGreaterThanOrEqual(1n);
  });
});

describe("uwrx-core vDSO hiding", () => {
  // ld.so prints the auxiliary vector it was given under LD_SHOW_AUXV;
  // a hidden vDSO entry has become AT_IGNORE, which it does not print.
  const showAuxv = ["env", "LD_SHOW_AUXV=1", "/bin/true"];

  test("--time real keeps the vDSO", async () => {
    const run = await runSeeded(showAuxv, "real");
    expect(run.stdout).toMatch(/^AT_SYSINFO_EHDR:/m);
  });

  test("--time frozen hides the vDSO", async () => {
    const run = await runSeeded(showAuxv, "frozen");
    expect(run.stdout).toMatch(/^AT_RANDOM:/m);
    expect(run.stdout).not.toMatch(/^AT_SYSINFO_EHDR:/m);
  });
});
