import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CoreRun, eventsNamed, makeTempDir, runCore } from "./run-core.js";

// Runs each command under uwrx-core with the options that the TypeScript
// side passes for --seed: twice with one seed (the output must match) and
// once with another seed (the output must differ).

const programs = join(dirname(fileURLToPath(import.meta.url)), "programs");
const seedA = "ab".repeat(32);
const seedB = "cd".repeat(32);
const startTimeNs = 1700000000123456789n;
const startSeconds = startTimeNs / 1000000000n;

function determinismArgs(seed: string, time = "frozen", start = startTimeNs): string[] {
  return [
    "--seed",
    seed,
    "--time",
    time,
    "--start-time-ns",
    String(start),
    "--time-step-ns",
    "1000",
  ];
}

async function runSeeded(command: string[], seed: string, time = "frozen"): Promise<CoreRun> {
  const run = await runCore(command, { coreArgs: determinismArgs(seed, time), timeoutMs: 60000 });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  return run;
}

// Returns the stdout of two runs with seedA and one with seedB.
async function outputs(command: string[], time = "frozen"): Promise<[string, string, string]> {
  const first = await runSeeded(command, seedA, time);
  const second = await runSeeded(command, seedA, time);
  const other = await runSeeded(command, seedB, time);
  return [first.stdout, second.stdout, other.stdout];
}

let randomSources = "";
let staticClock = "";

beforeAll(() => {
  const dir = makeTempDir("uwrx-determinism-programs-");
  randomSources = join(dir, "random-sources");
  staticClock = join(dir, "static-clock");
  execFileSync("gcc", ["-O2", "-o", randomSources, join(programs, "random-sources.c")]);
  execFileSync("gcc", ["-O2", "-static", "-o", staticClock, join(programs, "static-clock.c")]);
});

describe("uwrx-core with --seed", () => {
  test("/dev/urandom follows the seed", async () => {
    const [first, second, other] = await outputs(["sh", "-c", "head -c 64 /dev/urandom | od -An -tx1"]);
    expect(first).toMatch(/^( [0-9a-f]{2}){16}\n/);
    expect(second).toBe(first);
    expect(other).not.toBe(first);
  });

  test("urandom open is recorded", async () => {
    const run = await runSeeded(["head", "-c", "8", "/dev/urandom"], seedA);
    const opens = eventsNamed(run, "urandom");
    expect(opens).toHaveLength(1);
    expect(opens[0]?.category).toBe("random");
    expect(opens[0]?.annotations.get("path")).toBe("/dev/urandom");
  });

  test("C program sources follow the seed", async () => {
    const [first, second, other] = await outputs([randomSources]);
    const lines = (text: string) => new Map(text.trim().split("\n").map((l) => l.split(" ") as [string, string]));
    const a = lines(first);
    const b = lines(other);
    expect(second).toBe(first);
    expect(b.get("getrandom")).not.toBe(a.get("getrandom"));
    expect(b.get("at_random")).not.toBe(a.get("at_random"));
    expect(a.get("realtime")).toBe("1700000000.123456789");
    expect(a.get("monotonic")).toMatch(/^\d+\.\d{9}$/);
    // ASLR is off, so the addresses depend on neither run nor seed.
    expect(b.get("stack")).toBe(a.get("stack"));
    expect(b.get("heap")).toBe(a.get("heap"));
  });

  test("getrandom and AT_RANDOM are recorded", async () => {
    const run = await runSeeded([randomSources], seedA);
    const reads = eventsNamed(run, "getrandom");
    expect(reads.length).toBeGreaterThanOrEqual(1);
    expect(reads.some((e) => e.annotations.get("bytes") === 16n)).toBe(true);
    expect(eventsNamed(run, "at_random")).toHaveLength(1);
    expect(eventsNamed(run, "at_random")[0]?.annotations.get("data")).toMatch(/^[0-9a-f]{32}$/);
  });

  test("time reads are counted at exit", async () => {
    const run = await runSeeded([randomSources], seedA);
    const exits = eventsNamed(run, "exit");
    expect(exits).toHaveLength(1);
    expect(exits[0]?.annotations.get("time_reads")).toBeGreaterThanOrEqual(2n);
  });

  test("python random, uuid, time and hash", async () => {
    const script = 'import random, uuid, time; print(random.random(), uuid.uuid4(), time.time(), hash("x"))';
    const [first, second, other] = await outputs(["python3", "-c", script]);
    expect(second).toBe(first);
    expect(other).not.toBe(first);
    expect(first.split(" ")[2]).toBe("1700000000.1234567");
  });

  test("date follows the start time", async () => {
    const command = ["date", "+%s.%N"];
    const [first, second] = await outputs(command);
    const later = await runCore(command, {
      coreArgs: determinismArgs(seedA, "frozen", startTimeNs + 5000000000n),
    });
    expect(first).toBe("1700000000.123456789\n");
    expect(second).toBe(first);
    expect(later.stdout).toBe("1700000005.123456789\n");
  });

  test("advancing time steps per read", async () => {
    const run = await runSeeded([randomSources], seedA, "advancing");
    const realtime = run.stdout.match(/^realtime (.*)$/m)?.[1];
    // Reads before main (none in glibc 2.36) would shift the count; the
    // value must be the start plus a whole number of 1000 ns steps.
    const ns = BigInt(realtime!.replace(".", "")) - startTimeNs;
    expect(ns >= 0n).toBe(true);
    expect(ns % 1000n).toBe(0n);
  });

  test("node randomBytes and Date.now", async () => {
    const script = 'console.log(require("crypto").randomBytes(16).toString("hex"), Date.now())';
    const [first, second, other] = await outputs(["node", "-e", script]);
    expect(second).toBe(first);
    expect(other.split(" ")[0]).not.toBe(first.split(" ")[0]);
    expect(first.trim().split(" ")[1]).toBe(String(startTimeNs / 1000000n));
  });

  test("static binary raw and libc clocks", async () => {
    const [first, second] = await outputs([staticClock]);
    expect(first).toBe("raw 1700000000.123456789\nlibc 1700000000.123456789\n");
    expect(second).toBe(first);
  });

  test("sleep 1 still sleeps", async () => {
    const started = Date.now();
    await runSeeded(["sleep", "1"], seedA);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(5000);
  });

  test("written file has the virtual mtime", async () => {
    const dir = makeTempDir("uwrx-determinism-mtime-");
    const old = join(dir, "old.txt");
    writeFileSync(old, "x");
    execFileSync("touch", ["-d", "2001-01-01", old]);
    const script = `echo x > ${dir}/new.txt && stat -c %Y ${dir}/new.txt ${old}`;
    const run = await runSeeded(["sh", "-c", script], seedA);
    const [written, older] = run.stdout.trim().split("\n");
    expect(written).toBe(String(startSeconds));
    expect(older).toBe("978307200");
  });

  test("traced exec falls back with a warning", async () => {
    const run = await runCore(["strace", "-f", "-o", "/dev/null", "date", "+%s"], {
      coreArgs: determinismArgs(seedA),
    });
    const warnings = run.messages.filter((m) => m.message.case === "warning");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^\d+\n$/);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0]?.message.value)).toContain("ptrace of");
  });

  test("gcc compiles under a seed", async () => {
    const dir = makeTempDir("uwrx-determinism-gcc-");
    writeFileSync(join(dir, "hello.c"), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
    await runSeeded(["gcc", "-O2", "-o", join(dir, "hello"), join(dir, "hello.c")], seedA);
    expect(execFileSync(join(dir, "hello")).toString()).toBe("hello\n");
  });
});

describe("uwrx-core determinism options", () => {
  test.each([
    ["--seed", "xyz", "invalid --seed 'xyz': expected 64 hex digits"],
    ["--time", "slow", "invalid --time 'slow': expected frozen, advancing or real"],
    ["--start-time-ns", "-5", "invalid --start-time-ns '-5'"],
    ["--time-step-ns", "1e3", "invalid --time-step-ns '1e3'"],
  ])("%s %s is rejected", async (option, value, message) => {
    const run = await runCore(["true"], { coreArgs: [option, value] });
    expect(run.status).toBe(125);
    expect(run.stderr).toContain(`uwrx-core: ${message}`);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });
});
