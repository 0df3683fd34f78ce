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

function timeBuild(label, source, wrap) {
  const work = mkdtempSync(join(tmpdir(), `uwrx-bench-${label}-`));
  cpSync(source, work, { recursive: true });
  const build = ["make", "-j2", "linux"];
  const [program, ...rest] = wrap(work, build);
  const start = process.hrtime.bigint();
  const result = spawnSync(program, rest, { cwd: work, stdio: "ignore" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rmSync(work, { recursive: true, force: true });
  if (result.status !== 0) {
    throw new Error(`${label} build failed with status ${result.status}`);
  }
  return seconds;
}

const variants = {
  bare: (_work, build) => build,
  uwrx: (work, build) => [
    process.execPath,
    cli,
    "run",
    "--quiet",
    "--trace-dir",
    join(work, ".uwrx"),
    "--",
    ...build,
  ],
  "strace -f": (work, build) => [
    "strace",
    "-f",
    "-o",
    join(work, "strace.out"),
    ...build,
  ],
};

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const source = join(fetchLua(), "src");
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
timeBuild("warmup", source, variants.bare);
for (let i = 0; i < runs; i++) {
  for (const [label, wrap] of Object.entries(variants)) {
    const seconds = timeBuild(label.replace(/\W/g, ""), source, wrap);
    times[label].push(seconds);
    console.error(`run ${i + 1}/${runs} ${label}: ${seconds.toFixed(2)} s`);
  }
}

const bare = median(times.bare);
const rows = Object.entries(times).map(
  ([label, values]) =>
    `| ${label} | ${median(values).toFixed(2)} | ${(median(values) / bare).toFixed(2)}x | ${values.map((v) => v.toFixed(2)).join(", ")} |`,
);
const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
const section = `## lua 5.4 build: bare, uwrx run, strace -f

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Linux ${kernel}, Node ${process.version}.
Command: \`pnpm bench\` (\`node tools/bench/run.mjs --runs ${runs}\`): \`make -j2 linux\`
in a fresh copy of Debian's lua5.4 \`src/\` for every run, the variants
interleaved; the table gives the median wall time.

| variant | median (s) | vs bare | all runs (s) |
|---|---|---|---|
${rows.join("\n")}
`;

console.log(section);
if (write) {
  const page = join(root, "docs/benchmarks.md");
  const header =
    "# Benchmarks\n\nEvery figure here comes from `pnpm bench` on the machine named with it.\n\n";
  writeFileSync(page, header + section);
  console.error(`wrote ${page}`);
}
