// The core ships for linux-arm64 too; this cross-compiles it with
// Debian's gcc-aarch64-linux-gnu and checks the ELF header of the result.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const EM_AARCH64 = 183;
const CROSS_BUILD_TIMEOUT_MS = 120_000;

test(
  "core cross-compiles for arm64",
  () => {
    execFileSync(
      process.execPath,
      ["../../tools/build-native.mjs", "--arch", "arm64"],
      {
        cwd: packageDir,
        stdio: "pipe",
      },
    );

    const elf = readFileSync(join(packageDir, "npm/linux-arm64/bin/uwrx-core"));
    expect(elf.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(elf.readUInt16LE(18)).toBe(EM_AARCH64);
  },
  CROSS_BUILD_TIMEOUT_MS,
);
