import { describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { coreBinary, makeTempDir } from "./run-core.js";

// A stand-in for the Node host: it starts the core with a socket as fd 3
// and prints the core's pid, then waits until it is killed.
const hostScript = `
const { spawn } = require("node:child_process");
const [core, ...args] = process.argv.slice(1);
const child = spawn(core, args, { stdio: ["ignore", "ignore", "ignore", "pipe"] });
process.stdout.write(child.pid + "\\n");
setInterval(() => {}, 1000);
`;

function isRunning(pid: number): boolean {
  const statPath = `/proc/${pid}/stat`;
  if (!existsSync(statPath)) return false;
  // A zombie has ended and only waits for its parent to reap it.
  const state = readFileSync(statPath, "utf8").split(") ")[1]?.[0];
  return state !== "Z";
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

describe("uwrx-core without its host", () => {
  test("kills the tree when the host dies", async () => {
    const dir = makeTempDir("uwrx-core-host-");
    const bufferDir = makeTempDir("uwrx-core-buffers-");
    const pidFile = join(dir, "pids");
    const command = `sleep 100 & echo $! >> ${pidFile}; sh -c 'echo $$ >> ${pidFile}; sleep 100'`;
    const host = spawn(
      process.execPath,
      ["-e", hostScript, coreBinary, "--control-fd", "3", "--buffer-dir", bufferDir, "--", "sh", "-c", command],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const corePid = await new Promise<number>((resolve) =>
      host.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    const started = await waitFor(
      () => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim().split("\n").length === 2,
      5000,
    );
    expect(started).toBe(true);
    const pids = readFileSync(pidFile, "utf8").trim().split("\n").map(Number);

    host.kill("SIGKILL");

    expect(await waitFor(() => pids.every((pid) => !isRunning(pid)), 2000)).toBe(true);
    expect(await waitFor(() => !isRunning(corePid), 2000)).toBe(true);
    expect(readdirSync(bufferDir)).toContain("core-s1.pb");
    expect(readdirSync(bufferDir).filter((name) => name.startsWith("p")).length).toBeGreaterThanOrEqual(2);
  }, 20000);

  test("exits 125 when the channel closes", async () => {
    const bufferDir = makeTempDir("uwrx-core-buffers-");
    const core = spawn(coreBinary, ["--control-fd", "3", "--buffer-dir", bufferDir, "--", "sleep", "100"], {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    });
    const channel = core.stdio[3] as Readable;
    let stderr = "";
    core.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // The first message (started) shows that the command is running.
    await new Promise((resolve) => channel.once("data", resolve));
    const exited = new Promise<number | null>((resolve) => core.on("exit", (code) => resolve(code)));

    channel.destroy();

    expect(await exited).toBe(125);
    expect(stderr).toContain("control channel closed");
  }, 20000);
});
