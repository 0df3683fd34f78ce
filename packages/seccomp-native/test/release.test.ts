import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

import { startSupervised } from "../src/index.js";

/** 512-byte blocks that a file really occupies. */
function blocksOf(path: string): number {
  return statSync(path).blocks;
}

test("release punches consumed pages out of a buffer", async () => {
  const bufferDir = mkdtempSync("/dev/shm/uwrx-release-");
  // Many small writes to stdout fill the shell's buffer file with output
  // events; the sleep keeps the run alive while the test releases it.
  const script =
    "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done; sleep 1";
  const run = startSupervised({
    command: ["sh", "-c", script],
    bufferDir,
    stdio: "pipe",
  });
  run.stdout!.resume();

  await new Promise((resolve) => setTimeout(resolve, 700));
  const largest = readdirSync(bufferDir)
    .filter((name) => name.startsWith("p"))
    .map((name) => ({ name, size: statSync(join(bufferDir, name)).size }))
    .sort((a, b) => b.size - a.size)[0]!;
  const path = join(bufferDir, largest.name);
  const before = blocksOf(path);
  run.release(largest.name, largest.size);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = blocksOf(path);
  const result = await run.result;
  rmSync(bufferDir, { recursive: true, force: true });

  expect(largest.size).toBeGreaterThan(64 * 1024);
  expect(after).toBeLessThan(before / 2);
  expect(result.status).toBe(0);
});
