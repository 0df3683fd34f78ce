import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { cliPath, inspectJson, makeTempDir, runUwrx } from "./support/uwrx.js";

interface Proc {
  pid: number;
  ppid: number;
  argv: string[];
  exitCode?: number;
  signal?: number;
}

describe("uwrx run", () => {
  let traceDir: string;

  beforeEach(() => {
    traceDir = makeTempDir("trace");
  });

  test("passes exit status and output through", () => {
    const result = runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 3",
    ]);

    expect(result.status).toBe(3);
    expect(result.stdout).toBe("out\n");
    expect(result.stderr).toContain("err\n");
  });

  test("takes a relative --trace-dir from the current directory", () => {
    const result = runUwrx(
      ["run", "-q", "--trace-dir", "relative-traces", "--", "sh", "-c", "echo kept > out.txt"],
      { cwd: traceDir },
    );
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const attempt = join(traceDir, "relative-traces", "sh", "1");
    expect(readFileSync(join(attempt, "files", traceDir, "out.txt"), "utf8")).toBe("kept\n");
  });

  test("writes the attempt layout", () => {
    runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--step",
      "greet",
      "--",
      "echo",
      "a\nb",
    ]);
    runUwrx(["run", "--trace-dir", traceDir, "--step", "greet", "--", "true"]);

    const step = join(traceDir, "greet");
    expect(readdirSync(step).sort()).toEqual(["1", "2", "cmd", "options"]);
    expect(readFileSync(join(step, "cmd"), "utf8")).toBe("true\n");
    expect(existsSync(join(step, "1", "perfetto"))).toBe(true);
    const status = JSON.parse(
      readFileSync(join(step, "1", "status.json"), "utf8"),
    );
    expect(status.status).toBe(0);
    expect(status.complete).toBe(true);
  });

  test("reports a signal as 128+N", () => {
    const result = runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--",
      "sh",
      "-c",
      "kill -TERM $$",
    ]);

    expect(result.status).toBe(143);
  });

  test("rejects a command that does not exist", () => {
    const result = runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--",
      "no-such-command-uwrx",
    ]);

    expect(result.status).toBe(127);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("command not found: no-such-command-uwrx");
    expect(readdirSync(traceDir)).toEqual([]);
  });

  test("rejects a path that is not executable", () => {
    const script = join(makeTempDir("script"), "script.sh");
    writeFileSync(script, "echo hi\n", { mode: 0o644 });
    const result = runUwrx(["run", "--trace-dir", traceDir, "--", script]);

    expect(result.status).toBe(126);
    expect(result.stderr).toContain(`cannot execute ${script}`);
  });

  test("records the process tree with argv", () => {
    runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--step",
      "tree",
      "--",
      "sh",
      "-c",
      "ls / >/dev/null; sh -c 'exit 4'; true",
    ]);

    const procs = inspectJson<Proc[]>("procs", traceDir);
    const root = procs.find((p) => p.argv[0] === "sh" && p.argv[1] === "-c");
    const ls = procs.find((p) => p.argv[0] === "ls");
    const inner = procs.find((p) => p.argv.join(" ") === "sh -c exit 4");
    expect(root?.exitCode).toBe(0);
    expect(ls?.argv).toEqual(["ls", "/"]);
    expect(ls?.ppid).toBe(root?.pid);
    expect(inner?.exitCode).toBe(4);
  });

  test("works for an ordinary user", () => {
    const result = runUwrx(
      [
        "run",
        "--trace-dir",
        traceDir,
        "--step",
        "nobody",
        "--",
        "sh",
        "-c",
        "id -u; cat /etc/passwd >/dev/null",
      ],
      { asNobody: true, cwd: traceDir },
    );

    expect(result.stderr).not.toContain("uwrx: unexpected");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("65534\n");
    expect(existsSync(join(traceDir, "nobody", "1", "perfetto"))).toBe(true);
  });

  test("shows help for run", () => {
    const result = runUwrx(["run", "--help"]);

    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Usage: uwrx run");
  });

  test("rejects an unknown option", () => {
    const result = runUwrx(["run", "--frobnicate", "--", "true"]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown option --frobnicate");
  });

  test("names a file in the way of the step directory", () => {
    writeFileSync(join(traceDir, "true"), "");
    const result = runUwrx(["run", "--trace-dir", traceDir, "--", "true"]);

    expect(result.status).toBe(125);
    expect(result.stderr).toContain("a file is in the way");
  });

  test("rejects an invalid step name", () => {
    const result = runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--step",
      "../x",
      "--",
      "true",
    ]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("invalid step name '../x'");
  });

  test("rejects a trace directory under /proc", () => {
    const result = runUwrx(
      ["run", "--trace-dir", "/proc/uwrx-test", "--", "true"],
      { timeoutMs: 20_000 },
    );

    expect(result.signal).toBeNull();
    expect(result.status).toBe(125);
    expect(result.stderr).toContain(
      "cannot create trace directory /proc/uwrx-test",
    );
  });

  test("rejects a missing value", () => {
    const result = runUwrx(["run", "--trace-dir", "--", "echo", "hi"]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("option --trace-dir requires a value");
  });

  test("rejects --quiet with --verbose", () => {
    const result = runUwrx([
      "run",
      "-q",
      "-v",
      "--trace-dir",
      traceDir,
      "--",
      "true",
    ]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("exclude each other");
  });

  test("rejects a missing absolute path early", () => {
    const result = runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--",
      "/nonexistent/program",
    ]);

    expect(result.status).toBe(127);
    expect(result.stderr).toContain("/nonexistent/program does not exist");
    expect(readdirSync(traceDir)).toEqual([]);
  });

  test("rejects a directory as the command", () => {
    const result = runUwrx(["run", "--trace-dir", traceDir, "--", "/tmp"]);

    expect(result.status).toBe(126);
    expect(result.stderr).toContain("cannot execute /tmp: it is a directory");
  });

  test("keeps each attempt's command", () => {
    runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--step",
      "s",
      "--",
      "echo",
      "one",
    ]);
    runUwrx([
      "run",
      "--trace-dir",
      traceDir,
      "--step",
      "s",
      "--",
      "echo",
      "two",
    ]);

    expect(readFileSync(join(traceDir, "s", "1", "cmd"), "utf8")).toBe(
      "echo\none\n",
    );
    expect(readFileSync(join(traceDir, "s", "2", "cmd"), "utf8")).toBe(
      "echo\ntwo\n",
    );
  });

  test("passes argument and environment bytes exactly", () => {
    // Bytes 0xff 0xfe are not UTF-8; the shell builds them, since Node
    // strings cannot carry them.
    const script = `X=$(printf '\\377') node ${cliPath} run -q --trace-dir ${traceDir} --step bytes -- sh -c 'printf %s "$1$X"' sh "$(printf '\\376')"`;
    const result = spawnSync("sh", ["-c", script]);

    expect(result.status).toBe(0);
    expect([...result.stdout]).toEqual([0xfe, 0xff]);
    expect(
      [...readFileSync(join(traceDir, "bytes", "1", "cmd"))].slice(-2),
    ).toEqual([0xfe, 0x0a]);
  });

  test("replay keeps argument bytes", () => {
    const script = `node ${cliPath} run -q --trace-dir ${traceDir} --step bytes -- printf %s "$(printf '\\377')"`;
    spawnSync("sh", ["-c", script]);

    const result = spawnSync(process.execPath, [
      cliPath,
      "replay",
      "-q",
      join(traceDir, "bytes", "1"),
    ]);

    expect(result.status).toBe(0);
    expect([...result.stdout]).toEqual([0xff]);
  });
});
