import { describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { eventsNamed, makeTempDir, runCore } from "./run-core.js";

const name = Buffer.from([0x67, 0xff]); // "g" and a byte that is not UTF-8

describe("uwrx-core strings that are not UTF-8", () => {
  test("replaced in strings, kept as base64", async () => {
    const dir = makeTempDir("uwrx-core-utf8-");
    const argvFile = join(dir, "argv");
    const argv = [Buffer.from("/bin/sh"), Buffer.from("-c"), Buffer.from(': > "$1"'), Buffer.from("sh"), name];
    writeFileSync(argvFile, Buffer.concat(argv.flatMap((item) => [item, Buffer.from([0])])));

    // runCore's decoder rejects a control message with invalid UTF-8.
    const run = await runCore(["false"], { cwd: dir, coreArgs: ["--argv-file", argvFile] });

    expect(run.status).toBe(0);
    const exec = run.messages.find((m) => m.message.case === "exec")?.message.value as { argv: string[] };
    expect(exec.argv[4]).toBe("g\ufffd");
    const opens = eventsNamed(run, "openat").filter((e) => e.annotations.get("path") === "g\ufffd");
    expect(opens).toHaveLength(1);
    expect(opens[0]?.annotations.get("path_base64")).toBe(name.toString("base64"));
    expect(opens[0]?.annotations.get("abspath_base64")).toBe(Buffer.concat([Buffer.from(`${dir}/`), name]).toString("base64"));
    const plain = eventsNamed(run, "openat").filter((e) => e.annotations.get("path") !== "g\ufffd");
    expect(plain.every((e) => !e.annotations.has("path_base64"))).toBe(true);
  });

  test("argv_base64 only when an item changed", async () => {
    const dir = makeTempDir("uwrx-core-utf8-");
    const argvFile = join(dir, "argv");
    const argv = [Buffer.from("/bin/sh"), Buffer.from("-c"), Buffer.from("exec /bin/true"), Buffer.from("sh"), name];
    writeFileSync(argvFile, Buffer.concat(argv.flatMap((item) => [item, Buffer.from([0])])));

    const run = await runCore(["false"], { cwd: dir, coreArgs: ["--argv-file", argvFile] });

    expect(run.status).toBe(0);
    const execs = eventsNamed(run, "execve");
    expect(execs).toHaveLength(2);
    expect(execs[0]?.annotations.get("argv_base64")).toEqual(argv.map((item) => item.toString("base64")));
    expect(execs[1]?.annotations.has("argv_base64")).toBe(false);
  });
});
