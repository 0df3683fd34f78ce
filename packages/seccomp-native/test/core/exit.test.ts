import { describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, runCore } from "./run-core.js";

describe("uwrx-core exit status", () => {
  test("passes the exit code through", async () => {
    const run = await runCore(["sh", "-c", "exit 3"]);
    expect(run.status).toBe(3);
    const finished = run.messages.find((m) => m.message.case === "finished");
    expect(finished?.message.value).toMatchObject({ exitCode: 3 });
  });

  test("reports a signal as 128 plus its number", async () => {
    const run = await runCore(["sh", "-c", "kill -TERM $$"]);
    expect(run.status).toBe(128 + 15);
    const finished = run.messages.find((m) => m.message.case === "finished");
    expect(finished?.message.value).toMatchObject({ signal: 15 });
  });

  test("missing command exits 127 with ENOENT", async () => {
    const run = await runCore(["uwrx-no-such-command"]);
    expect(run.status).toBe(127);
    expect(run.stderr).toBe("");
    const finished = run.messages.find((m) => m.message.case === "finished");
    expect(finished?.message.value).toMatchObject({ execErrno: 2 });
  });

  test("warns that a 32-bit program cannot run", async () => {
    // An ELF header of class 32 for i386; the kernel may reject the rest.
    const dir = makeTempDir("uwrx-core-32-bit-");
    const header = Buffer.alloc(52);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]).copy(header);
    header.writeUInt16LE(2, 16); // ET_EXEC
    header.writeUInt16LE(3, 18); // EM_386
    header.writeUInt32LE(1, 20);
    writeFileSync(join(dir, "prog32"), header, { mode: 0o755 });
    const run = await runCore(["sh", "-c", "./prog32 2>/dev/null; exit 0"], { cwd: dir });
    expect(run.status).toBe(0);
    const warnings = run.messages
      .filter((m) => m.message.case === "warning")
      .map((m) => (m.message.value as { message: string }).message);
    expect(warnings).toEqual([
      `${join(dir, "prog32")} is a 32-bit program, which cannot run under uwrx: its system calls fail with ENOSYS`,
    ]);
  });
});
