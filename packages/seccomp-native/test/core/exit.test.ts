import { describe, expect, test } from "@jest/globals";
import { runCore } from "./run-core.js";

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
});
