import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Creates a private directory for the core's per-process buffer files. A
 * tmpfs keeps the buffers in memory, so `/dev/shm` is preferred when it
 * exists; `base` overrides the choice.
 */
export async function createBufferDir(base?: string): Promise<string> {
  const parent = base ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
  return mkdtemp(join(parent, "uwrx-buffers-"));
}

/** Removes a buffer directory and everything in it. */
export async function removeBufferDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
