// Runs the example build under uwrx and shows what the trace recorded:
// the second half of the README's first quick-start command.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "apps/cli/dist/cli.js");
const example = join(root, "examples/hello");
const traceDir = join(example, ".uwrx");

function uwrx(...args) {
  console.log(`\n$ uwrx ${args.join(" ")}`);
  const result = spawnSync(process.execPath, [cli, ...args], {
    stdio: "inherit",
    cwd: example,
  });
  if (result.status !== 0) {
    console.error(`uwrx ${args[0]} failed with status ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

spawnSync("make", ["-s", "clean"], { cwd: example, stdio: "inherit" });
uwrx("run", "--trace-dir", traceDir, "--step", "make", "--", "make", "check");
uwrx("inspect", "procs", traceDir);
uwrx("inspect", "output", traceDir);
const attempt = join(traceDir, "make", String(lastAttempt()));
console.log(
  `\nOpen ${join(attempt, "perfetto")} in https://ui.perfetto.dev to see the timeline.`,
);
console.log(
  `The build's outputs are in ${join(attempt, "files", example)}; the example directory itself is unchanged ('uwrx export ${attempt} DIR' copies them out).`,
);

function lastAttempt() {
  const entries = readdirSync(join(traceDir, "make"));
  return Math.max(...entries.filter((e) => /^[0-9]+$/.test(e)).map(Number));
}
