import { describe, expect, test } from "@jest/globals";
import { runCore } from "./run-core.js";

const seedArgs = [
  "--seed",
  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
  "--time",
  "advancing",
  "--start-time-ns",
  "1700000000000000000",
  "--time-step-ns",
  "1000",
];

// Children that end while the shell is still forking send it SIGCHLD,
// and dash's handler has no SA_RESTART: a fork that the core held in a
// notification used to fail with EINTR ("Cannot fork").
function forkBurst(children: number, sleepSeconds: string): string[] {
  const loop = `for i in $(seq 1 ${children}); do (sleep ${sleepSeconds}) & done; wait; echo done`;
  return ["sh", "-c", loop];
}

describe("uwrx-core fork under load", () => {
  const modes: [string, string[]][] = [
    ["without --seed", []],
    ["with --seed", seedArgs],
  ];

  for (const [mode, coreArgs] of modes) {
    for (const sleepSeconds of ["0.5", "0.01"]) {
      test(`300 children sleeping ${sleepSeconds} s ${mode}`, async () => {
        const run = await runCore(forkBurst(300, sleepSeconds), { coreArgs, timeoutMs: 60000 });
        expect(run.stderr).not.toContain("Cannot fork");
        expect(run.stdout).toBe("done\n");
        expect(run.status).toBe(0);
        const starts = run.messages.filter((m) => m.message.case === "processStarted");
        expect(starts.length).toBeGreaterThanOrEqual(301);
      }, 90000);
    }
  }

  test("children get their seeds in creation order", async () => {
    // Each child prints its number and 8 bytes of its own stream in one
    // write, so that lines of parallel children do not interleave.
    const script =
      "for i in 1 2 3 4 5 6; do (r=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n'); echo \"$i $r\") & done; wait";
    const first = await runCore(["sh", "-c", script], { coreArgs: seedArgs });
    const second = await runCore(["sh", "-c", script], { coreArgs: seedArgs });
    const lines = (out: string) => out.trim().split("\n").sort();
    expect(first.status).toBe(0);
    expect(lines(first.stdout)).toHaveLength(6);
    expect(lines(second.stdout)).toEqual(lines(first.stdout));
    const streams = new Set(lines(first.stdout).map((line) => line.split(" ")[1]));
    expect(streams.size).toBe(6);
  });
});
