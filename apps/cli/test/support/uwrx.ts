import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../../..",
);
export const cliPath = join(repoRoot, "apps/cli/dist/cli.js");
const arch = process.arch === "arm64" ? "arm64" : "x64";
export const corePath = join(
  repoRoot,
  `packages/seccomp-native/npm/linux-${arch}/bin/uwrx-core`,
);

/** The user id of `nobody`, for runs as an ordinary user. */
export const NOBODY = 65534;

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Run as uid/gid 65534 through setpriv, from a world-readable copy. */
  asNobody?: boolean;
  timeoutMs?: number;
}

/** Makes a temporary directory that an ordinary user may also write. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `uwrx-${prefix}-`));
  chmodSync(dir, 0o777);
  return dir;
}

/** The fast path's shim, next to the core as the platform package has it. */
export const shimPath = join(dirname(dirname(corePath)), "lib/libuwrx-shim.so");

let nobodyCopy: { cli: string; core: string } | undefined;

/**
 * Copies the bundled CLI, the core and the shim (bin/ and lib/, the
 * layout of the platform package) into a world-readable directory,
 * because the checkout may sit below a directory that nobody cannot enter.
 */
function copyForNobody(): { cli: string; core: string } {
  if (!nobodyCopy) {
    const dir = makeTempDir("bin");
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "bin"), { mode: 0o755 });
    nobodyCopy = { cli: join(dir, "cli.js"), core: join(dir, "bin/uwrx-core") };
    copyFileSync(cliPath, nobodyCopy.cli);
    copyFileSync(corePath, nobodyCopy.core);
    chmodSync(nobodyCopy.core, 0o755);
    if (existsSync(shimPath)) {
      mkdirSync(join(dir, "lib"), { mode: 0o755 });
      copyFileSync(shimPath, join(dir, "lib/libuwrx-shim.so"));
    }
  }
  return nobodyCopy;
}

/** Runs the uwrx CLI and waits for it. */
export function runUwrx(
  args: readonly string[],
  options: RunOptions = {},
): SpawnSyncReturns<string> {
  let command = process.execPath;
  let argv = [cliPath, ...args];
  const env = { ...process.env, ...options.env };
  if (options.asNobody) {
    const copy = copyForNobody();
    env.UWRX_CORE_PATH = copy.core;
    env.HOME = "/tmp";
    command = "setpriv";
    argv = [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      process.execPath,
      copy.cli,
      ...args,
    ];
  }
  return spawnSync(command, argv, {
    cwd: options.cwd,
    env,
    input: options.input ?? "",
    encoding: "utf8",
    timeout: options.timeoutMs ?? 120_000,
  });
}

/** Runs `uwrx inspect VIEW TRACE --json` and parses its output. */
export function inspectJson<T>(view: string, trace: string): T {
  const result = runUwrx(["inspect", view, trace, "--json"]);
  if (result.status !== 0) {
    throw new Error(`uwrx inspect ${view} failed: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}
