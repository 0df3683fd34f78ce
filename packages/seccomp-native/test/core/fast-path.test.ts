import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LayerStack, writeIndex } from "../../../overlay/src/index.js";
import { makeTempDir, runCore, type CoreRun, type TraceEvent } from "./run-core.js";

// The in-process fast path: libuwrx-shim.so performs realpath(), read-only
// open(), stat(), lstat(), fstat() and access() inside the program and
// leaves records that the core copies into the trace. Its results must
// equal glibc's on the real filesystem and the core's on the layered one.

const testDir = dirname(fileURLToPath(import.meta.url));
const packageDir = join(testDir, "../..");
const shim = join(packageDir, "npm/linux-x64/lib/libuwrx-shim.so");
const seed = "ab".repeat(32);
const startTime = "1700000000000000000";

let program: string;
let tree: string;

// Paths whose resolution takes every branch: symlinks (relative,
// absolute, looping), "." and "..", trailing slashes, missing files and
// files used as directories.
function probePaths(): string[] {
  return [
    "/usr/bin",
    "/usr/bin/env",
    "/usr/bin/env/x",
    "/usr/lib/../bin",
    "//usr//bin/",
    "/nonexistent-uwrx-dir/x",
    "/lib",
    join(tree, "d"),
    join(tree, "d/"),
    join(tree, "l"),
    join(tree, "l/.."),
    join(tree, "abs/../bin"),
    join(tree, "loop1"),
    join(tree, "f"),
    join(tree, "f/"),
    join(tree, "f/.."),
    join(tree, "missing"),
    "d/../f",
    ".",
  ];
}

beforeAll(() => {
  const build = makeTempDir("uwrx-fast-path-build-");
  program = join(build, "fast-path");
  execFileSync("gcc", [
    "-O2",
    "-pthread",
    "-I",
    join(packageDir, "../../native"),
    "-o",
    program,
    join(testDir, "programs/fast-path.c"),
  ]);
  tree = makeTempDir("uwrx-fast-path-tree-");
  mkdirSync(join(tree, "d"));
  symlinkSync("d", join(tree, "l"));
  symlinkSync("/usr/lib", join(tree, "abs"));
  symlinkSync("loop2", join(tree, "loop1"));
  symlinkSync("loop1", join(tree, "loop2"));
  writeFileSync(join(tree, "f"), "plain file\n");
});

function bare(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(program, args, { cwd: tree, env, encoding: "utf8" });
}

function withShim(coreArgs: string[] = []): string[] {
  return ["--shim", shim, ...coreArgs];
}

async function run(args: string[], coreArgs: string[], env?: NodeJS.ProcessEnv): Promise<CoreRun> {
  const result = await runCore([program, ...args], { cwd: tree, coreArgs, env, timeoutMs: 60000 });
  expect(result.stderr).not.toMatch(/ERROR|cannot be preloaded/);
  expect(result.status).toBe(0);
  return result;
}

function notifications(result: CoreRun): bigint {
  const finished = result.messages.find((m) => m.message.case === "finished");
  return (finished?.message.value as { notificationCount: bigint }).notificationCount;
}

const inProcess = (e: TraceEvent) => e.annotations.get("in_process") === true;
const pathIs = (path: string) => (e: TraceEvent) => e.annotations.get("path") === path;

/** Returns the pid of the process whose buffer contains `sequence`. */
function pidOfSequence(result: CoreRun, sequence: number): number | undefined {
  for (const name of result.bufferFiles) {
    const match = /^p(\d+)-s(\d+)\.pb$/.exec(name);
    if (match && Number(match[2]) === sequence) return Number(match[1]);
  }
  return undefined;
}

const describeX64 = process.arch === "x64" ? describe : describe.skip;

describeX64("the in-process fast path", () => {
  test("the platform package ships the shim", () => {
    expect(existsSync(shim)).toBe(true);
  });

  test("matches glibc on the real filesystem", async () => {
    // /proc/self differs from process to process in everything but the
    // path it resolves to.
    for (const [op, extra] of [["realpath", ["/proc/self/cwd"]], ["all", []]] as const) {
      const args = [op, ...probePaths(), ...extra];
      const expected = bare(args);
      const result = await run(args, withShim());
      expect(result.stdout).toBe(expected);
    }
  });

  test("matches the core with layers and seed", async () => {
    const coreArgs = ["--upper", makeTempDir("uwrx-fast-path-upper-"), "--seed", seed, "--start-time-ns", startTime];
    const args = ["all", ...probePaths()];
    const notified = await run(args, coreArgs);
    const fast = await run(args, withShim(coreArgs));
    expect(fast.stdout).toBe(notified.stdout);
    // The seeded run reports base files no later than its start.
    expect(fast.stdout).toMatch(/mtime:16999999\d\d\./);
  });

  test("records each call as in_process", async () => {
    const result = await run(["all", "/usr/bin/env", "/nonexistent-uwrx-dir/x"], withShim());
    const fast = result.events.filter(inProcess);
    const names = new Set(fast.map((e) => e.name));
    expect(names).toEqual(new Set(["openat", "newfstatat", "access", "readlink"]));

    const opens = fast.filter((e) => e.name === "openat" && e.annotations.get("path") === "/usr/bin/env");
    expect(opens).toHaveLength(1);
    expect(opens[0]?.annotations.get("result")).toBeGreaterThanOrEqual(0n);
    expect(opens[0]?.annotations.get("abspath")).toBe("/usr/bin/env");
    const missing = fast.filter(pathIs("/nonexistent-uwrx-dir/x"));
    expect(missing.map((e) => [e.name, e.annotations.get("result")])).toEqual([
      ["openat", -2n],
      ["newfstatat", -2n],
      ["newfstatat", -2n],
      ["access", -2n],
    ]);
    // realpath("/usr/bin/env") looks at each component once.
    const links = fast.filter((e) => e.name === "readlink").map((e) => e.annotations.get("path"));
    expect(links.slice(0, 3)).toEqual(["/usr", "/usr/bin", "/usr/bin/env"]);
  });

  test("make prerequisite stats go fast", async () => {
    // Debian's make calls __xstat, the stat entry of glibc before 2.33.
    const dir = makeTempDir("uwrx-fast-path-make-");
    writeFileSync(join(dir, "Makefile"), "all: /usr/bin/env /nonexistent-uwrx-prereq\n\t@echo built\n/nonexistent-uwrx-prereq:\n\t@true\n");
    const result = await runCore(["make", "-s"], { cwd: dir, coreArgs: withShim() });
    expect(result.stdout).toBe("built\n");
    const stats = result.events.filter((e) => e.name === "newfstatat" && inProcess(e));
    expect(stats.filter(pathIs("/usr/bin/env")).map((e) => e.annotations.get("result"))).toContain(0n);
    expect(stats.filter(pathIs("/nonexistent-uwrx-prereq")).map((e) => e.annotations.get("result"))).toContain(-2n);
  });

  test("records passed and resolved paths", async () => {
    const result = await run(["stat", "//usr//bin/", "/usr/lib/../bin/env"], withShim());
    const stats = result.events.filter((e) => e.name === "newfstatat" && inProcess(e));
    expect(stats.map((e) => [e.annotations.get("path"), e.annotations.get("abspath")])).toEqual([
      ["//usr//bin/", "/usr/bin"],
      ["/usr/lib/../bin/env", "/usr/bin/env"],
    ]);
  });

  test("resolves inputs over PATH_MAX", async () => {
    const long = `/usr/${"./".repeat(2100)}bin`;
    const args = ["realpath", long, `${long}/`];
    const result = await run(args, withShim());
    expect(result.stdout).toBe(bare(args));
    expect(result.stdout).toContain("-> /usr/bin (ok)");
  });

  test("saves notifications", async () => {
    const args = ["repeat", "200", "/usr/lib"];
    const without = await run(args, []);
    const withIt = await run(args, withShim());
    expect(notifications(without)).toBeGreaterThan(400n);
    expect(notifications(withIt)).toBeLessThan(100n);
  });

  test("keeps records when the ring fills", async () => {
    const result = await run(["repeat", "500", "/usr/lib"], withShim());
    expect(result.stdout).toBe("resolved 500 times\n");
    const records = result.events.filter((e) => e.name === "readlink" && inProcess(e));
    expect(records.filter(pathIs("/usr/lib"))).toHaveLength(500);
    expect(records.filter(pathIs("/usr"))).toHaveLength(500);
    const stamps = records.map((e) => e.timestamp);
    const inOrder = stamps.every((stamp, i) => i === 0 || stamps[i - 1]! <= stamp);
    expect(inOrder).toBe(true);
  });

  test("forked child records under its pid", async () => {
    const result = await run(["fork", "/usr/bin"], withShim());
    const child = Number(/child (\d+)/.exec(result.stdout)?.[1]);
    const records = result.events.filter((e) => inProcess(e) && e.annotations.get("path") === "/usr/bin");
    const pids = records.map((e) => pidOfSequence(result, e.sequence));
    // Each show_realpath() resolves twice: into a buffer and allocated.
    expect(pids.filter((pid) => pid === child)).toHaveLength(2);
    expect(pids.filter((pid) => pid !== child)).toHaveLength(4);
  });

  test("records survive failed and successful exec", async () => {
    const garbage = join(tree, "garbage");
    writeFileSync(garbage, "\u0001\u0002 not a program\n", { mode: 0o755 });
    const failed = await run(["exec-fails", garbage], withShim());
    expect(failed.stdout).toContain("exec failed: Exec format error\n");
    const after = failed.events.filter((e) => inProcess(e) && e.annotations.get("path") === "/usr/lib");
    expect(after).toHaveLength(2);

    const chained = await run(["exec", "/usr/lib"], withShim());
    expect(chained.stdout).toContain("realpath /usr/lib -> /usr/lib (ok)");
    const paths = chained.events.filter(inProcess).map((e) => e.annotations.get("path"));
    expect(paths.filter((p) => p === "/usr/bin")).toHaveLength(2);
    expect(paths.filter((p) => p === "/usr/lib")).toHaveLength(2);
  });

  test("killed process keeps its records", async () => {
    const result = await runCore([program, "abort", "/usr/bin/env"], { cwd: tree, coreArgs: withShim() });
    expect(result.status).toBe(134);
    const stats = result.events.filter((e) => e.name === "newfstatat" && inProcess(e));
    expect(stats.filter(pathIs("/usr/bin/env"))).toHaveLength(3);
  });

  test("threads share the ring losslessly", async () => {
    const result = await run(["threads", "4", "/usr/bin"], withShim());
    expect(result.stdout).toBe("threads 4 failed 0\n");
    const records = result.events.filter((e) => inProcess(e) && e.annotations.get("path") === "/usr/bin");
    expect(records).toHaveLength(200);
  });

  test("signal handler stats inside the shim", async () => {
    const result = await run(["signals", "5000", "/usr/bin/env"], withShim());
    expect(result.stdout).toBe("signals done, handler ran: yes\n");
  });

  test("layered paths go to the core", async () => {
    const work = makeTempDir("uwrx-fast-path-layers-");
    const parent = join(work, "parent");
    const upper = join(work, "upper");
    const index = join(work, "layers.idx");
    const parentFile = "/usr/uwrx-fast-path-parent.txt";
    const upperFile = join(tree, "upper-only.txt");
    mkdirSync(join(parent, "usr"), { recursive: true });
    writeFileSync(join(parent, parentFile), "from the parent\n");
    mkdirSync(join(upper, tree), { recursive: true });
    writeFileSync(join(upper, upperFile), "from the upper layer\n");
    writeIndex(new LayerStack({ layers: [parent, upper], base: "/" }), index);

    const coreArgs = ["--upper", upper, "--layer-index", index];
    const args = ["all", parentFile, upperFile, "/usr/bin/env", "/etc"];
    const result = await run(args, withShim(coreArgs));
    expect(result.stdout).toContain(`all ${parentFile}: open=ok,read:from the pa`);
    expect(result.stdout).toContain(`all ${upperFile}: open=ok,read:from the up`);
    expect(result.stdout).toContain(`realpath ${upperFile} -> ${upperFile} (ok)`);
    expect(existsSync(parentFile)).toBe(false);

    // "usr" is in the parent layer and the tree's top directory in the
    // upper one, so the core handled them. /etc is the base's alone.
    const fastPaths = new Set(result.events.filter(inProcess).map((e) => String(e.annotations.get("path"))));
    expect([...fastPaths].filter((p) => p.startsWith("/usr") || p.startsWith(tree))).toEqual([]);
    expect(fastPaths.has("/etc")).toBe(true);
    const notified = result.events.filter((e) => e.name === "openat" && !inProcess(e));
    expect(notified.filter(pathIs(upperFile))).toHaveLength(1);
    expect(notified.filter(pathIs(parentFile))).toHaveLength(1);
  });

  test("seeded run without layers notifies stats", async () => {
    // The run changes real files then, and only the core tracks the times
    // it reports for them.
    const file = join(tree, "written-in-run.txt");
    const coreArgs = ["--seed", seed, "--start-time-ns", startTime];
    const script = `echo x > ${file} && ${program} all ${file}`;
    const notified = await runCore(["sh", "-c", script], { cwd: tree, coreArgs });
    const fast = await runCore(["sh", "-c", script], { cwd: tree, coreArgs: withShim(coreArgs) });
    expect(fast.status).toBe(0);
    expect(fast.stdout).toBe(notified.stdout);
    // Written in the run: newer than T0, start - 2 s with no layers.
    expect(fast.stdout).not.toMatch(/mtime:1699999998\./);
    const stats = fast.events.filter((e) => e.name === "newfstatat" && inProcess(e));
    expect(stats).toEqual([]);
  });

  test("root and symlink/ go to the core", async () => {
    // /bin is a symlink to usr/bin where /usr is merged (Debian 12);
    // the upper layer adds a file under /usr/bin and a top-level
    // directory. Only the core finds those through /bin/ and /.
    const upper = makeTempDir("uwrx-fast-path-upper-");
    mkdirSync(join(upper, "usr/bin"), { recursive: true });
    writeFileSync(join(upper, "usr/bin/uwrx-fast-path-tool"), "tool\n");
    mkdirSync(join(upper, "uwrx-fast-path-top"));
    const coreArgs = ["--upper", upper, "--seed", seed, "--start-time-ns", startTime];
    const args = ["list", "/bin/", "/bin", "/", "/usr/bin"];
    const notified = await run(args, coreArgs);
    const fast = await run(args, withShim(coreArgs));
    expect(fast.stdout).toBe(notified.stdout);
    const stats = ["stat", "/bin/", "/", "/.", "/usr/.."];
    expect((await run(stats, withShim(coreArgs))).stdout).toBe((await run(stats, coreArgs)).stdout);
  });

  test("unreadable path pointer gets EFAULT", async () => {
    const args = ["bad-pointer", "-"];
    const result = await run(args, withShim());
    expect(result.stdout).toBe("access Bad address\nstat Bad address\nopen Bad address\n");
    expect(result.stdout).toBe(bare(args));
  });

  test("failed realpath buffer matches glibc", async () => {
    const args = ["realpath-buffer", "/usr/bin/env/x", "/nonexistent-uwrx-dir/x", join(tree, "loop1"), join(tree, "f/..")];
    expect((await run(args, withShim())).stdout).toBe(bare(args));
  });

  test("forged record adds no outside process", async () => {
    const outside = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const result = await run(["forge", String(outside.pid)], withShim());
      expect(result.stdout).toBe("forged\n");
      expect(result.processTrees.map((t) => t.pid)).not.toContain(outside.pid);
      expect(result.events.filter(pathIs("/x"))).toEqual([]);
      expect(outside.exitCode).toBeNull();
      expect(outside.signalCode).toBeNull();
    } finally {
      outside.kill();
    }
  });

  test("ring memfd cannot shrink", async () => {
    const result = await run(["shrink", "-"], withShim());
    expect(result.stdout).toBe("ftruncate Operation not permitted\nopen ok\n");
  });

  test("FIFO opens do not block the ring", async () => {
    const fifo = join(makeTempDir("uwrx-fast-path-fifo-"), "pipe");
    execFileSync("mkfifo", [fifo]);
    const result = await run(["fifo", fifo], withShim());
    expect(result.stdout).toBe("access 0\nwriter open, reader open\n");
  });

  test("raw fork child is notified", async () => {
    const base = join(tree, "child-looked-here");
    const result = await run(["rawfork", base], withShim());
    expect(result.stdout).toBe("forked\n");
    const paths = result.events.filter((e) => e.name === "access").map((e) => e.annotations.get("path"));
    expect(paths).toEqual(expect.arrayContaining([`${base}-1`, `${base}-2`]));
  });

  const asRoot = process.getuid?.() === 0 ? test : test.skip;
  asRoot("random device outside /dev stays seeded", async () => {
    const device = join(makeTempDir("uwrx-fast-path-dev-"), "urandom-copy");
    execFileSync("mknod", [device, "c", "1", "9"]);
    const coreArgs = ["--seed", seed, "--start-time-ns", startTime];
    const args = ["open", device];
    const first = await run(args, withShim(coreArgs));
    const second = await run(args, withShim(coreArgs));
    // The bytes read; the fd's inode is a new seeded file each time.
    const bytes = (out: string) => /read:(\S*)/.exec(out)?.[1];
    expect(bytes(first.stdout)).toBeTruthy();
    expect(bytes(second.stdout)).toBe(bytes(first.stdout));
  });

  test("trampoline cannot write past layers", async () => {
    const upper = makeTempDir("uwrx-fast-path-upper-");
    const victim = join(tree, "victim.txt");
    const created = join(tree, "created-through-trampoline.txt");
    writeFileSync(victim, "keep me\n");

    const create = await run(["trampoline-create", created], withShim(["--upper", upper]));
    expect(create.stdout).toBe("openat ok\n");
    expect(existsSync(created)).toBe(false);
    expect(existsSync(join(upper, created))).toBe(true);
    const opens = create.events.filter((e) => e.name === "openat" && e.annotations.get("path") === created);
    expect(opens).toHaveLength(1);
    expect(inProcess(opens[0]!)).toBe(false);

    const unlink = await run(["trampoline-unlink", victim], withShim(["--upper", upper]));
    expect(unlink.stdout).toBe("unlinkat ok\n");
    expect(readFileSync(victim, "utf8")).toBe("keep me\n");
  });

  test("user LD_PRELOAD wrappers come first", async () => {
    // A library of the user's that wraps stat() and counts the calls.
    const build = makeTempDir("uwrx-fast-path-user-lib-");
    const source = join(build, "count.c");
    writeFileSync(
      source,
      '#define _GNU_SOURCE\n#include <dlfcn.h>\n#include <stdio.h>\n#include <sys/stat.h>\n' +
        "int stat(const char *path, struct stat *st) {\n" +
        '  int (*next)(const char *, struct stat *) = dlsym(RTLD_NEXT, "stat");\n' +
        '  fprintf(stderr, "wrapped stat %s\\n", path);\n' +
        "  return next(path, st);\n}\n",
    );
    const library = join(build, "libcount.so");
    execFileSync("gcc", ["-shared", "-fPIC", "-o", library, source, "-ldl"]);

    const env = { ...process.env, LD_PRELOAD: library };
    const preloadValue = await runCore(["sh", "-c", 'printf "%s\\n" "$LD_PRELOAD"'], { coreArgs: withShim(), env });
    expect(preloadValue.stdout).toBe(`${library}:${shim}\n`);

    const result = await runCore([program, "stat", "/usr/bin/env"], { cwd: tree, coreArgs: withShim(), env });
    expect(result.stderr).toBe("wrapped stat /usr/bin/env\n");
    expect(result.stdout).toMatch(/^stat \/usr\/bin\/env: stat=mode:/);
    const stats = result.events.filter((e) => e.name === "newfstatat" && inProcess(e));
    expect(stats.filter(pathIs("/usr/bin/env"))).toHaveLength(1);
  });

  test("outside uwrx the shim is off", () => {
    const args = ["all", ...probePaths()];
    const env = { ...process.env, LD_PRELOAD: shim };
    expect(bare(args, env)).toBe(bare(args));
  });

  test("missing shim is a clear error", async () => {
    const result = await runCore(["true"], { coreArgs: ["--shim", "/nonexistent/libuwrx-shim.so"] });
    expect(result.status).toBe(125);
    expect(result.stderr).toMatch(/--shim \/nonexistent\/libuwrx-shim\.so cannot be read/);
  });
});
