// Measures the wall time of a real build (lua 5.4 from Debian's sources)
// bare, under `uwrx run` and under `strace -f`, interleaved in one run,
// and writes the medians and ratios to docs/benchmarks.md.
//
// Usage: pnpm bench [--runs N] [--no-write]
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "apps/cli/dist/cli.js");
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1] ?? 0) || 5;
const write = !args.includes("--no-write");

function fetchLua() {
  const script = join(root, "../shared/corpus/fetch-debian-source");
  const out = execFileSync(script, ["lua5.4"], { encoding: "utf8" });
  return out.trim().split("\n").at(-1);
}

/**
 * Builds lua once under `wrap` and returns the wall time in seconds and,
 * for uwrx variants, the notifications that the core handled.
 */
function timeBuild(label, source, wrap) {
  const work = mkdtempSync(join(tmpdir(), `uwrx-bench-${label}-`));
  cpSync(source, work, { recursive: true });
  const build = ["make", "-j2", "linux"];
  const [program, ...rest] = wrap(work, build);
  const start = process.hrtime.bigint();
  const result = spawnSync(program, rest, { cwd: work, stdio: "ignore" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  let notifications;
  try {
    const status = join(work, ".uwrx/make/1/status.json");
    notifications = JSON.parse(readFileSync(status, "utf8")).notifications;
  } catch {
    // Not a uwrx variant.
  }
  rmSync(work, { recursive: true, force: true });
  if (result.status !== 0) {
    throw new Error(`${label} build failed with status ${result.status}`);
  }
  return { seconds, notifications };
}

const uwrxRun = (options) => (work, build) => [
  process.execPath,
  cli,
  "run",
  "--quiet",
  "--trace-dir",
  join(work, ".uwrx"),
  ...options,
  "--",
  ...build,
];

const variants = {
  bare: (_work, build) => build,
  uwrx: uwrxRun([]),
  "uwrx --no-fast-path": uwrxRun(["--no-fast-path"]),
  "strace -f": (work, build) => [
    "strace",
    "-f",
    "-o",
    join(work, "strace.out"),
    ...build,
  ],
};

/** Wall time of one run of a command, in seconds. */
function timeCommand(argv) {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { stdio: "ignore" });
  if (result.status !== 0) throw new Error(`${argv.join(" ")} failed`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * Per-call cost of a clock read, getrandom, open and stat, bare and under
 * uwrx: the median time of a process making CALLS calls minus that of one
 * making none, divided by CALLS.
 */
function measureCallCosts() {
  const CALLS = 100000;
  const dir = mkdtempSync(join(tmpdir(), "uwrx-bench-calls-"));
  const program = join(dir, "syscall-cost");
  execFileSync("gcc", [
    "-O2",
    "-o",
    program,
    join(root, "tools/bench/syscall-cost.c"),
  ]);
  const traceDir = join(dir, "trace");
  const uwrxCalls = (options) => (args) => [
    process.execPath,
    cli,
    "run",
    "--quiet",
    "--trace-dir",
    traceDir,
    "--step",
    "calls",
    ...options,
    "--",
    ...args,
  ];
  const wrap = {
    bare: (args) => args,
    uwrx: uwrxCalls([]),
    "uwrx --no-fast-path": uwrxCalls(["--no-fast-path"]),
  };
  const rows = [];
  for (const kind of ["clock", "getrandom", "open", "stat"]) {
    const cells = [];
    for (const [label, w] of Object.entries(wrap)) {
      const full = median(
        [1, 2, 3].map(() => timeCommand(w([program, kind, String(CALLS)]))),
      );
      const empty = median(
        [1, 2, 3].map(() => timeCommand(w([program, kind, "0"]))),
      );
      cells.push(((full - empty) / CALLS) * 1e9);
      console.error(`${kind} ${label}: ${cells.at(-1).toFixed(0)} ns per call`);
    }
    rows.push(`| ${kind} | ${cells.map((c) => c.toFixed(0)).join(" | ")} |`);
  }
  rmSync(dir, { recursive: true, force: true });
  return `## Cost of one call, bare and under uwrx run

\`tools/bench/syscall-cost.c\` makes ${CALLS} calls of one kind; the cost is
(median wall time with ${CALLS} calls - median with none) / ${CALLS}, three runs
each. clock is clock_gettime(CLOCK_REALTIME), which bare goes through the vDSO
and under uwrx the core serves from the seeded clock. getrandom reads 16
bytes. open (a resolved read-only open, closed again) and stat name
/etc/hostname through libc. Under a default \`uwrx run\` the preloaded shim
performs and records them without a round trip through the core. With
\`--no-fast-path\` each is a seccomp notification that the core resolves
through the layers.

| call | bare (ns) | uwrx run (ns) | uwrx run --no-fast-path (ns) |
|---|---|---|---|
${rows.join("\n")}
`;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const source = join(fetchLua(), "src");
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
timeBuild("warmup", source, variants.bare);
const notifications = Object.fromEntries(
  Object.keys(variants).map((k) => [k, []]),
);
for (let i = 0; i < runs; i++) {
  for (const [label, wrap] of Object.entries(variants)) {
    const run = timeBuild(label.replace(/\W/g, ""), source, wrap);
    times[label].push(run.seconds);
    if (run.notifications !== undefined) {
      notifications[label].push(run.notifications);
    }
    console.error(`run ${i + 1}/${runs} ${label}: ${run.seconds.toFixed(2)} s`);
  }
}

const bare = median(times.bare);
const rows = Object.entries(times).map(
  ([label, values]) =>
    `| ${label} | ${median(values).toFixed(2)} | ${(median(values) / bare).toFixed(2)}x | ${notifications[label].length ? median(notifications[label]) : ""} | ${values.map((v) => v.toFixed(2)).join(", ")} |`,
);
const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
const section = `## lua 5.4 build: bare, uwrx run, strace -f

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Linux ${kernel}, Node ${process.version}.
Command: \`pnpm bench\` (\`node tools/bench/run.mjs --runs ${runs}\`): \`make -j2 linux\`
in a fresh copy of Debian's lua5.4 \`src/\` for every run, the variants
interleaved; the table gives the median wall time. \`uwrx run\` includes
everything a default run does: the trace, the layered filesystem, seeded
randomness, the virtual wall clock, file times and the in-process fast
path. \`--no-fast-path\` sends every intercepted call through the core.
"notifications" is the median number of calls that reached the core
(status.json).

| variant | median (s) | vs bare | notifications | all runs (s) |
|---|---|---|---|---|
${rows.join("\n")}
`;

const costSection = measureCallCosts();
console.log(section + "\n" + costSection);
if (write) {
  const page = join(root, "docs/benchmarks.md");
  const header =
    "# Benchmarks\n\nEvery figure here comes from `pnpm bench` on the machine named with it.\n\n";
  writeFileSync(page, header + section + "\n" + costSection);
  console.error(`wrote ${page}`);
}
