#!/usr/bin/env node
// Compiles native/*.c into the static uwrx-core binary of the platform
// package: packages/seccomp-native/npm/linux-<arch>/bin/uwrx-core.
// Usage: node tools/build-native.mjs [--arch x64|arm64]
// Skips the compile when the binary is newer than every source.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "native");

const compilers = Object.freeze({
  x64: {
    native: "gcc",
    cross: "x86_64-linux-gnu-gcc",
    apt: "gcc-x86-64-linux-gnu",
  },
  arm64: {
    native: "gcc",
    cross: "aarch64-linux-gnu-gcc",
    apt: "gcc-aarch64-linux-gnu",
  },
});

function parseArch(argv) {
  const index = argv.indexOf("--arch");
  const arch = index >= 0 ? argv[index + 1] : process.arch;
  if (!(arch in compilers)) {
    throw new Error(`unsupported --arch '${arch}': expected x64 or arm64`);
  }
  return arch;
}

function hasCommand(command) {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
}

function pickCompiler(arch) {
  const entry = compilers[arch];
  if (arch === process.arch) return entry.native;
  if (hasCommand(entry.cross)) return entry.cross;
  throw new Error(
    `cross-compiling uwrx-core for ${arch} needs ${entry.cross}: install the package ${entry.apt} (apt-get install ${entry.apt})`,
  );
}

function isUpToDate(output, sources) {
  let built;
  try {
    built = statSync(output).mtimeMs;
  } catch {
    return false;
  }
  return sources.every((file) => statSync(file).mtimeMs < built);
}

function build() {
  const arch = parseArch(process.argv.slice(2));
  const output = join(
    root,
    "packages/seccomp-native/npm",
    `linux-${arch}`,
    "bin/uwrx-core",
  );
  const names = readdirSync(nativeDir).filter((n) => /\.[ch]$/.test(n));
  const sources = names.map((n) => join(nativeDir, n));
  const units = sources.filter((file) => file.endsWith(".c"));

  if (arch === "x64") buildShim(arch);
  if (isUpToDate(output, sources)) {
    console.log(`uwrx-core for ${arch} is up to date`);
    return;
  }
  const compiler = pickCompiler(arch);
  mkdirSync(dirname(output), { recursive: true });
  execFileSync(
    compiler,
    [
      "-std=gnu11",
      "-O2",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-static",
      "-o",
      output,
      ...units,
    ],
    { stdio: "inherit" },
  );
  console.log(`built ${output}`);
}

/*
 * The preloaded shim of the in-process fast path (native/shim). Its
 * trampoline is x86_64 code, so other machines run without it. It links
 * against the C library of the traced programs, so it is a shared object.
 */
function buildShim(arch) {
  const output = join(
    root,
    "packages/seccomp-native/npm",
    `linux-${arch}`,
    "lib/libuwrx-shim.so",
  );
  const source = join(nativeDir, "shim", "uwrx-shim.c");
  if (isUpToDate(output, [source, join(nativeDir, "shim-abi.h")])) {
    console.log(`libuwrx-shim.so for ${arch} is up to date`);
    return;
  }
  mkdirSync(dirname(output), { recursive: true });
  execFileSync(
    pickCompiler(arch),
    [
      "-std=gnu11",
      "-O2",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-shared",
      "-fPIC",
      "-fvisibility=hidden",
      // glibc declares the paths of stat() and access() nonnull; the
      // shim's NULL checks must stay so that the kernel returns EFAULT.
      "-fno-delete-null-pointer-checks",
      "-Wl,-z,defs",
      "-o",
      output,
      source,
    ],
    { stdio: "inherit" },
  );
  console.log(`built ${output}`);
}

try {
  build();
} catch (error) {
  console.error(`build-native: ${error.message}`);
  process.exit(1);
}
