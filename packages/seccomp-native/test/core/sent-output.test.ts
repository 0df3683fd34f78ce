import { describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { eventsNamed, makeTempDir, runCore } from "./run-core.js";

describe("uwrx-core output sent without write", () => {
  test("cat to a file records copy_file_range", async () => {
    const dir = makeTempDir("uwrx-core-sent-");
    writeFileSync(join(dir, "in"), "x".repeat(5000));

    // coreutils 9 cat copies with copy_file_range when stdout is a file.
    const run = await runCore(["sh", "-c", "cat in > out"], { cwd: dir });

    expect(run.status).toBe(0);
    const sent = eventsNamed(run, "stdout").filter((e) => e.annotations.has("sent_by"));
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent[0]?.annotations.get("sent_by")).toBe("copy_file_range");
    expect(sent[0]?.annotations.get("fd")).toBe(1n);
    expect(Number(sent[0]?.annotations.get("bytes"))).toBeGreaterThan(0);
  });

  test("sendfile to stderr", async () => {
    const dir = makeTempDir("uwrx-core-sent-");
    writeFileSync(join(dir, "in"), "hello");
    const script = "import os; f = os.open('in', os.O_RDONLY); os.sendfile(2, f, 0, 5)";

    const run = await runCore(["python3", "-c", script], { cwd: dir });

    expect(run.status).toBe(0);
    expect(run.stderr).toBe("hello");
    const sent = eventsNamed(run, "stderr").filter((e) => e.annotations.get("sent_by") === "sendfile");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.annotations.get("bytes")).toBe(5n);
    expect(sent[0]?.annotations.get("terminal")).toBe(true);
  });

  test("copy_file_range to another fd is not recorded", async () => {
    const dir = makeTempDir("uwrx-core-sent-");
    writeFileSync(join(dir, "in"), "data");

    const run = await runCore(["cp", "in", "copy"], { cwd: dir });

    expect(run.status).toBe(0);
    expect(run.events.some((e) => e.annotations.has("sent_by"))).toBe(false);
  });
});
