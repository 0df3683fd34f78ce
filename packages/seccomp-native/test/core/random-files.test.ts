import { describe, expect, test } from "@jest/globals";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { type CoreRun, eventsNamed, makeTempDir, runCore } from "./run-core.js";

// Under --seed the core serves /dev/urandom and /dev/random by the device
// a path reaches, whatever its name, and the kernel's UUID files, from
// the seeded streams.

const seedA = "ab".repeat(32);
const seedB = "cd".repeat(32);
const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function runSeeded(command: string[], seed = seedA): Promise<CoreRun> {
  const run = await runCore(command, { coreArgs: ["--seed", seed, "--time", "frozen"] });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  return run;
}

// The first 8 bytes of the seeded stream of seedA's root process, as
// `head -c 8 /dev/urandom | od -An -tx1` shows them.
async function urandomReference(): Promise<string> {
  const run = await runSeeded(["sh", "-c", "head -c 8 /dev/urandom | od -An -tx1"]);
  return run.stdout;
}

describe("uwrx-core random devices with --seed", () => {
  const readEight = (path: string) => `head -c 8 ${path} | od -An -tx1`;

  test("/dev/./urandom is seeded", async () => {
    const reference = await urandomReference();
    const run = await runSeeded(["sh", "-c", readEight("/dev/./urandom")]);
    expect(run.stdout).toBe(reference);
    expect(eventsNamed(run, "urandom")[0]?.annotations.get("path")).toBe("/dev/urandom");
  });

  test("symlink to /dev/urandom is seeded", async () => {
    const dir = makeTempDir("uwrx-random-link-");
    const link = join(dir, "link");
    symlinkSync("/dev/urandom", link);
    const reference = await urandomReference();
    const run = await runSeeded(["sh", "-c", readEight(link)]);
    expect(run.stdout).toBe(reference);
    expect(eventsNamed(run, "urandom")).toHaveLength(1);
  });

  test("openat with a /dev dirfd is seeded", async () => {
    const script = 'import os; d = os.open("/dev", os.O_RDONLY); f = os.open("urandom", os.O_RDONLY, dir_fd=d); print(os.read(f, 8).hex())';
    const first = await runSeeded(["python3", "-c", script]);
    const second = await runSeeded(["python3", "-c", script]);
    const other = await runSeeded(["python3", "-c", script], seedB);
    expect(second.stdout).toBe(first.stdout);
    expect(other.stdout).not.toBe(first.stdout);
    expect(eventsNamed(first, "urandom").length).toBeGreaterThanOrEqual(1);
  });

  test("/dev/random is seeded and named", async () => {
    const first = await runSeeded(["sh", "-c", readEight("/dev/random")]);
    const other = await runSeeded(["sh", "-c", readEight("/dev/random")], seedB);
    expect(other.stdout).not.toBe(first.stdout);
    expect(eventsNamed(first, "urandom")[0]?.annotations.get("path")).toBe("/dev/random");
  });

  test("other devices reach the kernel", async () => {
    const run = await runSeeded(["sh", "-c", "head -c 4 /dev/zero | od -An -tx1; echo x > /dev/null"]);
    expect(run.stdout).toBe(" 00 00 00 00\n");
    expect(eventsNamed(run, "urandom")).toHaveLength(0);
  });
});

describe("uwrx-core UUID files with --seed", () => {
  const uuid = "/proc/sys/kernel/random/uuid";
  const bootId = "/proc/sys/kernel/random/boot_id";

  test("uuid is fresh per open and seeded", async () => {
    const command = ["sh", "-c", `cat ${uuid}; cat ${uuid}`];
    const first = await runSeeded(command);
    const second = await runSeeded(command);
    const other = await runSeeded(command, seedB);
    const [a, b] = first.stdout.trim().split("\n");
    expect(a).toMatch(uuidV4);
    expect(b).toMatch(uuidV4);
    expect(b).not.toBe(a);
    expect(second.stdout).toBe(first.stdout);
    expect(other.stdout).not.toBe(first.stdout);
  });

  test("uuid opens are recorded", async () => {
    const run = await runSeeded(["cat", uuid]);
    const events = eventsNamed(run, "uuid");
    expect(events).toHaveLength(1);
    expect(events[0]?.category).toBe("random");
    expect(events[0]?.annotations.get("path")).toBe(uuid);
    expect(events[0]?.annotations.get("bytes")).toBe(37n);
  });

  test("boot_id is one per run", async () => {
    const command = ["sh", "-c", `cat ${bootId}; sh -c 'cat ${bootId}'`];
    const first = await runSeeded(command);
    const other = await runSeeded(command, seedB);
    const [a, b] = first.stdout.trim().split("\n");
    expect(a).toMatch(uuidV4);
    expect(b).toBe(a);
    expect(other.stdout).not.toBe(first.stdout);
    expect(eventsNamed(first, "boot_id")).toHaveLength(2);
    expect(eventsNamed(first, "boot_id")[0]?.category).toBe("random");
  });

  test("uuid without --seed is the kernel's", async () => {
    const run = await runCore(["cat", uuid]);
    expect(run.stdout.trim()).toMatch(uuidV4);
    expect(eventsNamed(run, "uuid")).toHaveLength(0);
  });
});
