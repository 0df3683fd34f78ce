import { describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { eventsNamed, makeTempDir, runCore } from "./run-core.js";

// Stats the open file argv[1] through its fd 200 times, then its path
// once. perl's stat(FH) is glibc's fstat.
const statFdThenPath = "open(F, '<', $ARGV[0]) or die; for (1 .. 200) { stat(F) or die } stat($ARGV[0]) or die; print qq(ok\\n);";

describe("uwrx-core stat calls", () => {
  test("fstat does not notify", async () => {
    const dir = makeTempDir("uwrx-core-fstat-");
    const file = join(dir, "f.txt");
    writeFileSync(file, "x");
    const run = await runCore(["perl", "-e", statFdThenPath, file]);
    expect(run.stdout).toBe("ok\n");
    const finished = run.messages.find((m) => m.message.case === "finished");
    const count = (finished?.message.value as { notificationCount: bigint }).notificationCount;
    expect(count).toBeLessThan(200n);
  });

  test("stat of a path is recorded", async () => {
    const dir = makeTempDir("uwrx-core-stat-");
    const file = join(dir, "f.txt");
    writeFileSync(file, "x");
    const run = await runCore(["perl", "-e", statFdThenPath, file]);
    const stats = eventsNamed(run, "newfstatat").filter((e) => e.annotations.get("path") === file);
    expect(stats).toHaveLength(1);
    expect(stats[0]?.annotations.get("result")).toBe(0n);
  });
});
