import { describe, expect, test } from "@jest/globals";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, runCore } from "./run-core.js";

// Files of NUL-terminated strings, as the host writes them from
// /proc/self/cmdline and /proc/self/environ.
function writeStrings(path: string, items: Buffer[]): void {
  writeFileSync(path, Buffer.concat(items.flatMap((item) => [item, Buffer.from([0])])));
}

const hex = (out: string) => out.trim().split(/\s+/).join(" ");

describe("uwrx-core --argv-file and --env-file", () => {
  test("argv bytes that are not UTF-8 reach the command", async () => {
    const dir = makeTempDir("uwrx-core-argv-");
    const argvFile = join(dir, "argv");
    const script = Buffer.from('printf %s "$1" | od -An -tx1');
    writeStrings(argvFile, [Buffer.from("sh"), Buffer.from("-c"), script, Buffer.from("sh"), Buffer.from([0x67, 0xff, 0x80])]);

    const run = await runCore(["false"], { coreArgs: ["--argv-file", argvFile] });

    expect(run.status).toBe(0);
    expect(hex(run.stdout)).toBe("67 ff 80");
  });

  test("environment file sets PATH and values", async () => {
    const dir = makeTempDir("uwrx-core-env-");
    const bin = join(dir, "bin");
    const program = join(bin, "uwrx-test-program");
    mkdirSync(bin);
    // Found only through the PATH of the environment file.
    writeFileSync(program, '#!/bin/sh\nprintf %s "$UWRX_VALUE" | /usr/bin/od -An -tx1\n');
    chmodSync(program, 0o755);
    const argvFile = join(dir, "argv");
    const envFile = join(dir, "env");
    writeStrings(argvFile, [Buffer.from("uwrx-test-program")]);
    writeStrings(envFile, [Buffer.from(`PATH=${bin}`), Buffer.concat([Buffer.from("UWRX_VALUE=a"), Buffer.from([0xfe])])]);

    const run = await runCore(["false"], { coreArgs: ["--argv-file", argvFile, "--env-file", envFile] });

    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(hex(run.stdout)).toBe("61 fe");
  });
});

