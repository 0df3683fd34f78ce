import { accessSync, constants, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

import { SeccompNativeError } from "./errors.js";

const SUPPORTED = new Set(["linux-x64", "linux-arm64"]);

/** Name of the package that ships the core binary for this platform. */
export function corePackageName(
  platform: string = process.platform,
  arch: string = process.arch,
): string {
  return `@uwrx/seccomp-native-${platform}-${arch}`;
}

/**
 * Finds the `uwrx-core` binary: `UWRX_CORE_PATH` when set, else the
 * platform package installed as an optional dependency, the way esbuild
 * ships its binary.
 */
export function locateCore(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.UWRX_CORE_PATH;
  if (override) {
    return checkExecutable(override, "UWRX_CORE_PATH");
  }

  const platform = `${process.platform}-${process.arch}`;
  if (!SUPPORTED.has(platform)) {
    throw new SeccompNativeError(
      "UNSUPPORTED_PLATFORM",
      `uwrx has no syscall core for ${platform}; it runs on linux-x64 and linux-arm64`,
    );
  }

  const name = corePackageName();
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve(
      `${name}/package.json`,
    );
  } catch (cause) {
    throw new SeccompNativeError(
      "CORE_NOT_FOUND",
      `the uwrx syscall core for ${platform} is not installed: install ${name} (npm skips it when optional dependencies are omitted)`,
      { cause },
    );
  }
  return checkExecutable(join(dirname(packageJson), "bin", "uwrx-core"), name);
}

function checkExecutable(path: string, source: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch (cause) {
    throw new SeccompNativeError(
      "CORE_NOT_FOUND",
      `the uwrx syscall core ${path} (from ${source}) is missing or not executable; in a development checkout run the build first`,
      { cause },
    );
  }
  return path;
}

/**
 * Finds the preloaded shim that ships next to a core binary (`../lib` of
 * its `bin`). Returns undefined where the platform package has none,
 * because the shim is built for linux-x64 only.
 */
export function locateShim(corePath: string): string | undefined {
  const shim = join(dirname(dirname(corePath)), "lib", "libuwrx-shim.so");
  return existsSync(shim) ? shim : undefined;
}
