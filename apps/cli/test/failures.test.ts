import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { cliPath, makeTempDir, runUwrx } from "./support/uwrx.js";

/** Process ids of the direct children of `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const path = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
}

async function waitFor<T>(
  probe: () => T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("uwrx failure reports", () => {
  let traceDir: string;

  beforeEach(() => {
    traceDir = makeTempDir("fail");
  });

  test("kernel without seccomp notification", () => {
    // strace makes every seccomp() call fail as a kernel without the
    // feature would, while the rest of the run is real.
    const result = spawnSync(
      "strace",
      [
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "trace=seccomp",
        "-e",
        "inject=seccomp:error=EINVAL",
        process.execPath,
        cliPath,
        "run",
        "--trace-dir",
        traceDir,
        "--",
        "true",
      ],
      { encoding: "utf8" },
    );

    expect(result.status).toBe(125);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("seccomp");
    expect(result.stderr).toContain("Linux 5.14");
  });

  test("killed syscall core", async () => {
    const child = spawn(
      process.execPath,
      [
        cliPath,
        "run",
        "--trace-dir",
        traceDir,
        "--step",
        "s",
        "--",
        "sh",
        "-c",
        "echo before; sleep 1",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on("close", resolve),
    );

    const core = await waitFor(() => childrenOf(child.pid!)[0], 10_000);
    await waitFor(
      () => (childrenOf(core).length > 0 ? true : undefined),
      10_000,
    );
    process.kill(core, "SIGKILL");
    const status = await exited;

    expect(status).toBe(125);
    expect(stderr).toContain("syscall core failed unexpectedly (SIGKILL)");
    expect(existsSync(join(traceDir, "s", "1", "perfetto"))).toBe(true);
    const recorded = JSON.parse(
      readFileSync(join(traceDir, "s", "1", "status.json"), "utf8"),
    );
    expect(recorded.complete).toBe(false);
  });

  test("unreadable trace directory", () => {
    runUwrx(["run", "--trace-dir", traceDir, "--step", "s", "--", "true"]);
    chmodSync(join(traceDir, "s"), 0o700);

    const result = runUwrx(["inspect", "procs", join(traceDir, "s", "1")], {
      asNobody: true,
    });

    expect(result.status).toBe(125);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("cannot be read (EACCES)");
  });
});
