import { open, rename, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * A file written under a temporary name and renamed into place once it is
 * complete and synced, so a crash leaves the final path complete or absent.
 */
export class OutputFile {
  readonly path: string;
  readonly temporaryPath: string;
  private handle: FileHandle | undefined;

  constructor(path: string) {
    this.path = path;
    this.temporaryPath = `${path}.partial`;
  }

  async append(bytes: Uint8Array): Promise<void> {
    this.handle ??= await open(this.temporaryPath, "w");
    await this.handle.write(bytes);
  }

  /** Syncs the data, renames the file into place and syncs the directory. */
  async commit(): Promise<void> {
    this.handle ??= await open(this.temporaryPath, "w");
    await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;

    await rename(this.temporaryPath, this.path);
    await syncDirectory(dirname(this.path));
  }
}

// The rename is durable only once the directory entry is on disk.
async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
