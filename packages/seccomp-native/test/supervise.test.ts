import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  isSeccompNativeError,
  locateCore,
  locateShim,
  startSupervised,
  type Exec,
  type ProcessExited,
  type ProcessStarted,
} from "../src/index.js";

describe("startSupervised", () => {
  let bufferDir: string;

  beforeEach(() => {
    bufferDir = mkdtempSync(join(tmpdir(), "uwrx-api-"));
  });

  afterEach(() => {
    rmSync(bufferDir, { recursive: true, force: true });
  });

  const x64 = process.arch === "x64" ? test : test.skip;

  x64("leaves the fast path off when LD_PRELOAD cannot carry its path", async () => {
    const core = locateCore();
    const shim = locateShim(core)!;
    const install = mkdtempSync(join(tmpdir(), "uwrx with space-"));
    mkdirSync(join(install, "bin"));
    mkdirSync(join(install, "lib"));
    copyFileSync(core, join(install, "bin/uwrx-core"));
    copyFileSync(shim, join(install, "lib/libuwrx-shim.so"));
    try {
      const run = startSupervised({
        command: ["sh", "-c", 'printf "[%s]" "$LD_PRELOAD"'],
        bufferDir,
        stdio: "pipe",
        corePath: join(install, "bin/uwrx-core"),
        env: { ...process.env, LD_PRELOAD: "" },
      });
      const warnings: string[] = [];
      run.on("warning", (w) => warnings.push(w));
      let stdout = "";
      let stderr = "";
      run.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      run.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const result = await run.result;
      expect(result.status).toBe(0);
      expect(stdout).toBe("[]");
      expect(stderr).toBe("");
      expect(warnings).toEqual([
        expect.stringContaining("the in-process fast path is off: LD_PRELOAD cannot carry the path"),
      ]);
    } finally {
      rmSync(install, { recursive: true, force: true });
    }
  });

  test("reports processes, execs and exits", async () => {
    const run = startSupervised({
      command: ["sh", "-c", "true; /bin/echo hi; exit 5"],
      bufferDir,
      stdio: "pipe",
    });
    const processes: ProcessStarted[] = [];
    const execs: Exec[] = [];
    const exits: ProcessExited[] = [];
    let rootPid = 0;
    run.on("started", (s) => (rootPid = s.rootPid));
    run.on("process", (p) => processes.push(p));
    run.on("exec", (e) => execs.push(e));
    run.on("exit", (e) => exits.push(e));
    let stdout = "";
    run.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));

    const result = await run.result;

    expect(result.status).toBe(5);
    expect(result.exitCode).toBe(5);
    expect(result.complete).toBe(true);
    expect(stdout).toBe("hi\n");
    expect(rootPid).toBeGreaterThan(0);
    expect(execs.map((e) => e.argv)).toContainEqual(["/bin/echo", "hi"]);
    const echo = execs.find((e) => e.argv[0] === "/bin/echo")!;
    expect(processes.find((p) => p.pid === echo.pid)?.ppid).toBe(rootPid);
    expect(exits.find((e) => e.pid === rootPid)?.exitCode).toBe(5);
    expect(readdirSync(bufferDir).length).toBeGreaterThanOrEqual(2);
  });

  test("terminate forwards a signal to the command", async () => {
    const run = startSupervised({ command: ["sleep", "30"], bufferDir });
    run.on("started", () => run.terminate(15));

    const result = await run.result;

    expect(result.signal).toBe(15);
    expect(result.status).toBe(143);
  });

  test("reports a command that does not exist", async () => {
    const run = startSupervised({
      command: ["no-such-program-uwrx"],
      bufferDir,
    });

    const result = await run.result;

    expect(result.execErrno).toBe(2);
    expect(result.status).toBe(127);
  });

  test("rejects an empty command", () => {
    let caught: unknown;
    try {
      startSupervised({ command: [], bufferDir });
    } catch (error) {
      caught = error;
    }

    expect(isSeccompNativeError(caught) && caught.code).toBe("INVALID_OPTION");
  });

  test("locateCore names a bad UWRX_CORE_PATH", () => {
    expect(() =>
      locateCore({ UWRX_CORE_PATH: "/nonexistent/uwrx-core" }),
    ).toThrow("/nonexistent/uwrx-core");
  });
});
