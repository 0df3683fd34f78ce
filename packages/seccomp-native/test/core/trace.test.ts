import { describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { coreBinary, eventsNamed, makeTempDir, runCore } from "./run-core.js";

const ENOENT = 2n;

describe("uwrx-core file events", () => {
  test("cat records found and -ENOENT", async () => {
    const dir = makeTempDir("uwrx-core-cat-");
    writeFileSync(join(dir, "present.txt"), "hello\n");
    const run = await runCore(["cat", join(dir, "present.txt"), join(dir, "missing.txt")]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("hello\n");
    const opens = eventsNamed(run, "openat");
    const present = opens.find((e) => e.annotations.get("path") === join(dir, "present.txt"));
    const missing = opens.find((e) => e.annotations.get("path") === join(dir, "missing.txt"));
    expect(present?.annotations.get("found")).toBe(true);
    expect(missing?.annotations.get("result")).toBe(-ENOENT);
  });

  test("relative open after cd resolves abspath", async () => {
    const dir = makeTempDir("uwrx-core-cd-");
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub", "f.txt"), "x");
    const run = await runCore(["sh", "-c", `cd ${dir}/sub && cat f.txt`]);
    expect(run.stdout).toBe("x");
    const open = eventsNamed(run, "openat").find((e) => e.annotations.get("path") === "f.txt");
    expect(open?.annotations.get("abspath")).toBe(join(dir, "sub", "f.txt"));
    expect(open?.annotations.get("found")).toBe(true);
  });

  test("FIFO open does not hang", async () => {
    const dir = makeTempDir("uwrx-core-fifo-");
    execFileSync("mkfifo", [join(dir, "pipe")]);
    const run = await runCore(["sh", "-c", `(echo through > ${dir}/pipe) & cat ${dir}/pipe; wait`], { timeoutMs: 10000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("through\n");
  });
});

describe("uwrx-core output and processes", () => {
  test("stdout bytes equal what the command printed", async () => {
    const run = await runCore(["sh", "-c", "printf 'one\\n'; cat /uwrx-missing; printf '\\377\\n'"]);
    const out = eventsNamed(run, "stdout");
    const data = out.map((e) => e.annotations.get("data") ?? Buffer.from(String(e.annotations.get("data_base64")), "base64").toString("latin1"));
    expect(data.join("")).toBe("one\n\xff\n");
    const errors = eventsNamed(run, "stderr").map((e) => e.annotations.get("data"));
    expect(errors.join("")).toBe(run.stderr);
    // The command inherits the core's own stdout pipe.
    expect(out[0]?.annotations.get("terminal")).toBe(true);
  });

  test("sh -c with fork and vfork records every process", async () => {
    const run = await runCore(["sh", "-c", "/bin/true; env /bin/echo done; (exit 4); echo $?"]);
    expect(run.stdout).toBe("done\n4\n");
    const starts = run.messages.filter((m) => m.message.case === "processStarted");
    expect(starts.length).toBeGreaterThanOrEqual(3);
    const execs = run.messages.filter((m) => m.message.case === "exec");
    const programs = execs.map((m) => (m.message.value as { executable: string }).executable);
    expect(programs).toContain("/bin/true");
    expect(programs).toContain("/bin/echo");
    expect(run.processTrees.some((t) => t.cmdline.join(" ") === "/bin/echo done")).toBe(true);
    const exits = eventsNamed(run, "exit").map((e) => e.annotations.get("status"));
    expect(exits).toContain(4n);
  });

  test("exec from a non-leader thread", async () => {
    const dir = makeTempDir("uwrx-core-thread-");
    const source = join(dir, "thread-exec.c");
    writeFileSync(
      source,
      [
        "#include <pthread.h>",
        "#include <unistd.h>",
        "static void *run(void *arg) {",
        "  (void)arg;",
        '  execl("/bin/echo", "echo", "from-thread", (char *)0);',
        "  return 0;",
        "}",
        "int main(void) {",
        "  pthread_t t;",
        "  pthread_create(&t, 0, run, 0);",
        "  pthread_join(t, 0);",
        "  return 1;",
        "}",
      ].join("\n"),
    );
    execFileSync("cc", ["-pthread", "-o", join(dir, "thread-exec"), source]);
    const run = await runCore([join(dir, "thread-exec")]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("from-thread\n");
    const exec = run.messages.find(
      (m) => m.message.case === "exec" && (m.message.value as { executable: string }).executable === "/bin/echo",
    )?.message.value as { pid: number; tid: number } | undefined;
    expect(exec).toBeDefined();
    expect(exec?.tid).not.toBe(exec?.pid);
  });

  test("gcc compile shows cc1, as and ld", async () => {
    const dir = makeTempDir("uwrx-core-gcc-");
    writeFileSync(join(dir, "hello.c"), "int main(void) { return 0; }\n");
    const run = await runCore(["gcc", "-o", "hello", "hello.c"], { cwd: dir, timeoutMs: 60000 });
    expect(run.status).toBe(0);
    const programs = run.messages
      .filter((m) => m.message.case === "exec")
      .map((m) => (m.message.value as { executable: string }).executable.split("/").pop());
    expect(programs).toContain("cc1");
    expect(programs).toContain("as");
    expect(programs.some((p) => p === "ld" || p === "collect2")).toBe(true);
  }, 60000);

  test("ordinary user run works", async () => {
    const dir = makeTempDir("uwrx-core-user-");
    chmodSync(coreBinary, 0o755);
    writeFileSync(join(dir, "f.txt"), "user\n");
    chmodSync(join(dir, "f.txt"), 0o644);
    const run = await runCore(["cat", join(dir, "f.txt")], {
      wrapper: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
      bufferDir: dir,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("user\n");
    expect(eventsNamed(run, "openat").some((e) => e.annotations.get("path") === join(dir, "f.txt"))).toBe(true);
  });
});
