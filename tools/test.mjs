// Runs every package's tests through turbo, then prints one closing line
// with the totals of all jest runs: "N passed, N failed, N skipped".
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const packages = JSON.parse(
  spawnSync(
    "node_modules/.bin/pnpm",
    ["list", "-r", "--depth", "-1", "--json"],
    {
      cwd: root,
      encoding: "utf8",
    },
  ).stdout,
).map((p) => p.path);
const results = packages.map((dir) => join(dir, ".jest-results.json"));
results.forEach((file) => rmSync(file, { force: true }));

function run(args) {
  const result = spawnSync("node_modules/.bin/turbo", args, {
    cwd: root,
    stdio: "inherit",
  });
  return result.status ?? 1;
}

let status = run(["run", "build"]);
if (status === 0)
  status = run(["run", "test", "--concurrency=1", "--continue"]);

const totals = { passed: 0, failed: 0, skipped: 0 };
for (const file of results.filter((f) => existsSync(f))) {
  const report = JSON.parse(readFileSync(file, "utf8"));
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests + report.numRuntimeErrorTestSuites;
  totals.skipped += report.numPendingTests + report.numTodoTests;
}
console.log(
  `\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`,
);
process.exit(status !== 0 ? status : totals.failed > 0 ? 1 : 0);
