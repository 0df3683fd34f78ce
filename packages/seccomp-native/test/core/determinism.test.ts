import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
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

// File times under the default layer interval (1 s) and no parent layers:
// unmodified files are clamped to T0 = S - 2 s, files this run modified
// report T0 + 1 s + their sequence number in nanoseconds.
const layerIntervalNs = 1000000000n;
const baseTimeNs = startTimeNs - 2n * layerIntervalNs;
const runLayerNs = baseTimeNs + layerIntervalNs;

// Parses stat's "%.9Y" or fstat-mtime's "seconds.nanoseconds".
function parseNs(text: string): bigint {
  const [seconds, fraction] = text.trim().split(".");
  return BigInt(seconds!) * 1000000000n + BigInt(fraction!.padEnd(9, "0"));
}

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
let fstatMtime = "";

beforeAll(() => {
  const dir = makeTempDir("uwrx-determinism-programs-");
  randomSources = join(dir, "random-sources");
  staticClock = join(dir, "static-clock");
  execFileSync("gcc", ["-O2", "-o", randomSources, join(programs, "random-sources.c")]);
  execFileSync("gcc", ["-O2", "-static", "-o", staticClock, join(programs, "static-clock.c")]);
  fstatMtime = join(dir, "fstat-mtime");
  execFileSync("gcc", ["-O2", "-o", fstatMtime, join(programs, "fstat-mtime.c")]);
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
    // CLOCK_MONOTONIC is real under --seed, so it differs between runs.
    const withoutMonotonic = (text: string) => text.replace(/^monotonic .*\n/m, "");
    const a = lines(first);
    const b = lines(other);
    expect(withoutMonotonic(second)).toBe(withoutMonotonic(first));
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
    // random-sources reads CLOCK_REALTIME once; CLOCK_MONOTONIC is real.
    expect(exits[0]?.annotations.get("time_reads")).toBeGreaterThanOrEqual(1n);
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

describe("uwrx-core file times with --seed", () => {
  test("file from before the run is clamped", async () => {
    const dir = makeTempDir("uwrx-file-times-old-");
    const old = join(dir, "old.txt");
    const recent = join(dir, "recent.txt");
    writeFileSync(old, "x");
    writeFileSync(recent, "x");
    execFileSync("touch", ["-d", "2001-01-01 00:00:00.5 UTC", old]);
    const run = await runSeeded(["stat", "-c", "%.9Y %.9X %.9Z", old, recent], seedA);
    const [oldTimes, recentTimes] = run.stdout.trim().split("\n");
    const [oldMtime, oldAtime, oldCtime] = oldTimes!.split(" ").map(parseNs);
    // The real ctime of both files is now, after T0.
    expect(oldMtime).toBe(978307200500000000n);
    expect(oldAtime).toBe(978307200500000000n);
    expect(oldCtime).toBe(baseTimeNs);
    expect(recentTimes!.split(" ").map(parseNs)).toEqual([baseTimeNs, baseTimeNs, baseTimeNs]);
  });

  test("files written in order", async () => {
    const dir = makeTempDir("uwrx-file-times-order-");
    const script = `echo a > ${dir}/first; echo b > ${dir}/second; stat -c %.9Y ${dir}/first ${dir}/second`;
    const run = await runSeeded(["sh", "-c", script], seedA);
    const [first, second] = run.stdout.trim().split("\n").map(parseNs);
    expect(first! > runLayerNs).toBe(true);
    expect(second! > first!).toBe(true);
    expect(second! < startTimeNs).toBe(true);
  });

  test("written file reports one time", async () => {
    const dir = makeTempDir("uwrx-file-times-all-");
    const script = `echo a > ${dir}/f; stat -c '%.9X %.9Y %.9Z %.9W' ${dir}/f`;
    const run = await runSeeded(["sh", "-c", script], seedA);
    const times = run.stdout.trim().split(" ");
    const mtime = parseNs(times[1]!);
    expect(times[0]).toBe(times[1]);
    expect(times[2]).toBe(times[1]);
    // %W is 0 where the file system has no birth time.
    if (times[3] !== "0.000000000") expect(times[3]).toBe(times[1]);
    expect(mtime > runLayerNs).toBe(true);
    expect(mtime < startTimeNs).toBe(true);
  });

  test("mkdir and rename count as writes", async () => {
    const dir = makeTempDir("uwrx-file-times-dirs-");
    const script = `mkdir ${dir}/d && echo x > ${dir}/tmp && mv ${dir}/tmp ${dir}/moved && stat -c %.9Y ${dir}/d ${dir}/moved`;
    const run = await runSeeded(["sh", "-c", script], seedA);
    const [made, moved] = run.stdout.trim().split("\n").map(parseNs);
    expect(made! > runLayerNs).toBe(true);
    expect(moved! > made!).toBe(true);
    expect(moved! < startTimeNs).toBe(true);
  });

  test("touch -d sets the reported time", async () => {
    const dir = makeTempDir("uwrx-file-times-touch-");
    const script = `touch -d @1000000000 ${dir}/f && stat -c %Y ${dir}/f`;
    const run = await runSeeded(["sh", "-c", script], seedA);
    expect(run.stdout).toBe("1000000000\n");
  });

  test("touch without a time is a write", async () => {
    const dir = makeTempDir("uwrx-file-times-touch-now-");
    const file = join(dir, "f");
    writeFileSync(file, "x");
    execFileSync("touch", ["-d", "@1000000000", file]);
    const run = await runSeeded(["sh", "-c", `touch ${file} && stat -c %.9Y ${file}`], seedA);
    const mtime = parseNs(run.stdout);
    expect(mtime > runLayerNs).toBe(true);
    expect(mtime < startTimeNs).toBe(true);
  });

  test("stat and fstat agree", async () => {
    const dir = makeTempDir("uwrx-file-times-fstat-");
    const old = join(dir, "old");
    writeFileSync(old, "x");
    execFileSync("touch", ["-d", "2001-01-01 UTC", old]);
    const script = `echo a > ${dir}/new; stat -c %.9Y ${dir}/new ${old}; ${fstatMtime} ${dir}/new ${old}`;
    const run = await runSeeded(["sh", "-c", script], seedA);
    const [statNew, statOld, fstatNew, fstatOld] = run.stdout.trim().split("\n");
    // fstat-mtime prints glibc's fstat, then the raw fstat syscall on
    // architectures that have one.
    for (const value of fstatNew!.split(" ")) expect(value).toBe(statNew);
    for (const value of fstatOld!.split(" ")) expect(value).toBe(statOld);
    expect(statOld).toBe("978307200.000000000");
  });

  test("gzip output repeats", async () => {
    const dir = makeTempDir("uwrx-file-times-gzip-");
    const script = `echo data > ${dir}/in && gzip -c ${dir}/in > ${dir}/out.gz`;
    await runSeeded(["sh", "-c", script], seedA);
    const first = readFileSync(join(dir, "out.gz"));
    await runSeeded(["sh", "-c", script], seedA);
    const second = readFileSync(join(dir, "out.gz"));
    // gzip stores the input's mtime from fstat in header bytes 4-7.
    const mtime = BigInt(first.readUInt32LE(4));
    expect(second.equals(first)).toBe(true);
    expect(mtime).toBe(runLayerNs / 1000000000n);
  });

  test("make rebuilds after a rewrite", async () => {
    const dir = makeTempDir("uwrx-file-times-make-");
    writeFileSync(join(dir, "Makefile"), "out: in\n\tcat in > out\n");
    const script = "echo a > in; make out; echo b > in; make out";
    const run = await runCore(["sh", "-c", script], {
      cwd: dir,
      coreArgs: determinismArgs(seedA),
      timeoutMs: 60000,
    });
    expect(run.stderr).not.toContain("Clock skew");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("cat in > out\ncat in > out\n");
    expect(readFileSync(join(dir, "out"), "utf8")).toBe("b\n");
  });

  test("layer options move T0", async () => {
    const dir = makeTempDir("uwrx-file-times-layers-");
    const file = join(dir, "f");
    writeFileSync(file, "x");
    const layers = ["--layer-interval-ns", "5000000000", "--parent-layers", "2"];
    const run = await runCore(["stat", "-c", "%.9Y", file], {
      coreArgs: [...determinismArgs(seedA), ...layers],
    });
    expect(run.stderr).toBe("");
    // T0 = S - (2 + 2) * 5 s.
    expect(parseNs(run.stdout)).toBe(startTimeNs - 20000000000n);
  });
});

describe("uwrx-core determinism options", () => {
  test("start time below the layers is rejected", async () => {
    const args = [...determinismArgs(seedA, "frozen", 1000000000n), "--parent-layers", "1"];
    const run = await runCore(["true"], { coreArgs: args });
    expect(run.status).toBe(125);
    expect(run.stderr).toContain("uwrx-core: invalid --start-time-ns 1000000000");
  });

  test.each([
    ["--seed", "xyz", "invalid --seed 'xyz': expected 64 hex digits"],
    ["--time", "slow", "invalid --time 'slow': expected frozen, advancing or real"],
    ["--start-time-ns", "-5", "invalid --start-time-ns '-5'"],
    ["--time-step-ns", "1e3", "invalid --time-step-ns '1e3'"],
    ["--layer-interval-ns", "1s", "invalid --layer-interval-ns '1s'"],
    ["--parent-layers", "-1", "invalid --parent-layers '-1'"],
  ])("%s %s is rejected", async (option, value, message) => {
    const run = await runCore(["true"], { coreArgs: [option, value] });
    expect(run.status).toBe(125);
    expect(run.stderr).toContain(`uwrx-core: ${message}`);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });
});
