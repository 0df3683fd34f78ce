// Debian's busybox 1.35.0 embeds the build time: kconfig's conf calls
// time() (through the vDSO) and writes it into AUTOCONF_TIMESTAMP, which
// ends up in the "BusyBox v1.35.0 (date time)" banner of the binary. Two
// bare builds a few seconds apart differ; two builds under
// `uwrx run --seed S --start-time T` must be byte-identical.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

import { fetchDebianSource } from "./support/corpus.js";
import { cliPath, makeTempDir } from "./support/uwrx.js";

const BUILD_TIMEOUT_MS = 900_000;
const SEED = "5eed".repeat(16);
/** Runs agree on the wall clock when they share a start time. */
const START_TIME = "2026-01-01T00:00:00Z";
const CONFIG = [
  "make allnoconfig",
  "sed -i -e 's/^# CONFIG_BUSYBOX is not set/CONFIG_BUSYBOX=y/' -e 's/^# CONFIG_ECHO is not set/CONFIG_ECHO=y/' .config",
  "make -j2",
].join(" && ");

/** Returns the build's environment without the variables that pin the timestamp. */
function buildEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TZ: "UTC" };
  delete env.SOURCE_DATE_EPOCH;
  delete env.KCONFIG_NOTIMESTAMP;
  return env;
}

function check(result: SpawnSyncReturns<string>, what: string): void {
  if (result.status !== 0) {
    throw new Error(
      `${what} failed with status ${result.status}: ${result.stderr.slice(-2000)}`,
    );
  }
}

describe("busybox build reproducibility", () => {
  let source: string;
  let workDir: string;
  let traceDir: string;

  beforeAll(() => {
    source = fetchDebianSource("busybox");
    workDir = join(makeTempDir("busybox"), "src");
    traceDir = makeTempDir("busybox-trace");
  });

  /** Builds a fresh copy at one fixed path, so only the clock can differ. */
  function build(wrap: (command: string[]) => string[]): Buffer {
    rmSync(workDir, { recursive: true, force: true });
    cpSync(source, workDir, { recursive: true });
    const [program, ...args] = wrap(["sh", "-c", CONFIG]);
    const result = spawnSync(program!, args, {
      cwd: workDir,
      env: buildEnv(),
      encoding: "utf8",
    });
    check(result, `busybox build (${program} ${args.slice(0, 3).join(" ")})`);
    return readFileSync(join(workDir, "busybox"));
  }

  const bare = (command: string[]) => command;
  const uwrx = (command: string[]) => [
    process.execPath,
    cliPath,
    "run",
    "--quiet",
    "--trace-dir",
    traceDir,
    "--step",
    "busybox",
    "--write-through",
    "--seed",
    SEED,
    "--start-time",
    START_TIME,
    "--",
    ...command,
  ];

  test(
    "bare builds differ",
    () => {
      const first = build(bare);
      const second = build(bare);

      expect(first.toString("latin1")).toMatch(
        /BusyBox v1\.35\.0 \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)/,
      );
      expect(first.equals(second)).toBe(false);
    },
    BUILD_TIMEOUT_MS,
  );

  test(
    "seeded builds are identical",
    () => {
      const first = build(uwrx);
      const second = build(uwrx);

      expect(first.equals(second)).toBe(true);
    },
    BUILD_TIMEOUT_MS,
  );
});
