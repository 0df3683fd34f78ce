import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { readTrace } from "../../../packages/perfetto/src/index.js";

import { makeTempDir, runUwrx, shimPath } from "./support/uwrx.js";

// The in-process fast path as `uwrx run` uses it: gcc's realpath(), open()
// and stat() calls for the system headers are performed inside cc1, and
// the trace contains them all the same.

const describeX64 = process.arch === "x64" ? describe : describe.skip;

interface Compiled {
  object: Buffer;
  inProcess: Map<string, number>;
  headerReads: number;
}

function compile(extra: string[], asNobody = false): Compiled {
  const dir = makeTempDir("fast-path");
  writeFileSync(
    join(dir, "hello.c"),
    '#include <stdio.h>\n#include <stdlib.h>\nint main(void) { puts("hi"); return EXIT_SUCCESS; }\n',
  );
  const traceDir = join(dir, ".uwrx");
  const result = runUwrx(
    ["run", "-q", "--trace-dir", traceDir, ...extra, "--", "gcc", "-c", "hello.c", "-o", "hello.o"],
    { cwd: dir, asNobody },
  );
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);

  const trace = readTrace(readFileSync(join(traceDir, "gcc/1/perfetto")));
  const inProcess = new Map<string, number>();
  let headerReads = 0;
  for (const event of trace.events) {
    if (event.args.in_process === true) {
      inProcess.set(event.name, (inProcess.get(event.name) ?? 0) + 1);
    }
    const result = event.args.result;
    if (
      event.name === "openat" &&
      event.args.path === "/usr/include/stdio.h" &&
      (event.args.found === true || (result !== undefined && Number(result) >= 0))
    ) {
      headerReads++;
    }
  }
  const object = readFileSync(join(traceDir, "gcc/1/files", dir, "hello.o"));
  return { object, inProcess, headerReads };
}

describeX64("uwrx run with the fast path", () => {
  test("the shim answers cc1's lookups and the trace still holds them", () => {
    const fast = compile([]);
    const slow = compile(["--no-fast-path"]);

    expect(fast.inProcess.get("readlink")).toBeGreaterThan(10);
    expect(fast.inProcess.get("openat")).toBeGreaterThan(0);
    expect(slow.inProcess.size).toBe(0);
    // Read once by cc1 either way, recorded either way.
    expect(fast.headerReads).toBe(1);
    expect(slow.headerReads).toBe(1);
    expect(fast.object.equals(slow.object)).toBe(true);
  });

  test("works for an ordinary user", () => {
    const fast = compile([], true);
    expect(fast.inProcess.get("readlink")).toBeGreaterThan(10);
    expect(fast.headerReads).toBe(1);
  });

  test("replay repeats --no-fast-path, and takes it as an option", () => {
    const dir = makeTempDir("fast-path-replay");
    const show = ["sh", "-c", 'printf "[%s]" "$LD_PRELOAD"'];
    const first = runUwrx(["run", "-q", "--trace-dir", dir, "--step", "env", "--no-fast-path", "--", ...show]);
    expect(first.stdout).toBe("[]");
    const status = JSON.parse(readFileSync(join(dir, "env/1/status.json"), "utf8"));
    expect(status.fastPath).toBe(false);
    expect(runUwrx(["replay", "-q", join(dir, "env/1")]).stdout).toBe("[]");

    runUwrx(["run", "-q", "--trace-dir", dir, "--step", "env", "--", ...show]);
    expect(runUwrx(["replay", "-q", join(dir, "env/3")]).stdout).toBe(`[${shimPath}]`);
    expect(runUwrx(["replay", "-q", "--no-fast-path", join(dir, "env/3")]).stdout).toBe("[]");
  });

  test("the command sees the shim in LD_PRELOAD unless --no-fast-path", () => {
    const dir = makeTempDir("fast-path-env");
    const show = ["sh", "-c", 'printf "%s" "$LD_PRELOAD"'];
    const withShim = runUwrx(["run", "-q", "--trace-dir", dir, "--", ...show]);
    const without = runUwrx(["run", "-q", "--trace-dir", dir, "--no-fast-path", "--", ...show]);
    expect(withShim.stdout).toBe(shimPath);
    expect(without.stdout).toBe("");
  });
});
