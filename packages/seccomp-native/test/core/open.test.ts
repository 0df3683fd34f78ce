import { describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eventsNamed, makeTempDir, runCore } from "./run-core.js";

const ENOENT = 2n;

// Opens the file in argv[1] with the flags named in argv[2] and prints
// which status flags the opened description carries.
const openAndReport = [
  "use Fcntl;",
  "my %f = (rdonly => O_RDONLY, append => O_WRONLY | O_APPEND, creat => O_WRONLY | O_CREAT);",
  "sysopen(F, $ARGV[0], $f{$ARGV[1]}, 0644) or die qq($!\\n);",
  "my $fl = fcntl(F, F_GETFL, 0);",
  "print join(',', ($fl & O_NONBLOCK) ? 'nonblock' : 'block', ($fl & O_APPEND) ? 'append' : 'noappend'), qq(\\n);",
].join(" ");

function openEvent(run: Awaited<ReturnType<typeof runCore>>, path: string) {
  return eventsNamed(run, "openat").find((e) => e.annotations.get("path") === path);
}

describe("uwrx-core opens", () => {
  test("opened fd keeps no O_NONBLOCK", async () => {
    const dir = makeTempDir("uwrx-core-open-flags-");
    const file = join(dir, "f.txt");
    writeFileSync(file, "x");
    const run = await runCore(["perl", "-e", openAndReport, file, "rdonly"]);
    expect(run.stdout).toBe("block,noappend\n");
  });

  test("read-only open is found, not performed", async () => {
    const dir = makeTempDir("uwrx-core-open-read-");
    const file = join(dir, "f.txt");
    writeFileSync(file, "contents");
    const run = await runCore(["cat", file]);
    const event = openEvent(run, file);
    expect(run.stdout).toBe("contents");
    expect(event?.annotations.get("found")).toBe(true);
    expect(event?.annotations.has("result")).toBe(false);
  });

  test("directory open is found", async () => {
    const dir = makeTempDir("uwrx-core-open-dir-");
    writeFileSync(join(dir, "entry"), "");
    const run = await runCore(["ls", dir]);
    const event = openEvent(run, dir);
    expect(run.stdout).toBe("entry\n");
    expect(event?.annotations.get("found")).toBe(true);
    expect(event?.annotations.has("result")).toBe(false);
  });

  test("read-write open keeps its result", async () => {
    const dir = makeTempDir("uwrx-core-open-rdwr-");
    const file = join(dir, "f.txt");
    writeFileSync(file, "x");
    const run = await runCore(["sh", "-c", `exec 3<>${file}`]);
    const event = openEvent(run, file);
    expect(run.status).toBe(0);
    expect(event?.annotations.get("result")).toBe(3n);
    expect(event?.annotations.has("found")).toBe(false);
  });

  test("opened fd keeps O_APPEND", async () => {
    const dir = makeTempDir("uwrx-core-open-append-");
    const file = join(dir, "f.txt");
    writeFileSync(file, "x");
    const run = await runCore(["perl", "-e", openAndReport, file, "append"]);
    expect(run.stdout).toBe("block,append\n");
  });

  test("O_CREAT through a dangling symlink creates its target", async () => {
    const dir = makeTempDir("uwrx-core-open-creat-");
    const link = join(dir, "link");
    symlinkSync(join(dir, "target"), link);
    const run = await runCore(["perl", "-e", openAndReport, link, "creat"]);
    expect(run.stdout).toBe("block,noappend\n");
    expect(existsSync(join(dir, "target"))).toBe(true);
    expect(openEvent(run, link)?.annotations.get("result")).toBeGreaterThanOrEqual(3n);
  });

  test("dangling symlink without O_CREAT is -ENOENT", async () => {
    const dir = makeTempDir("uwrx-core-open-dangling-");
    const link = join(dir, "link");
    symlinkSync(join(dir, "target"), link);
    const run = await runCore(["perl", "-e", openAndReport, link, "rdonly"]);
    expect(run.stderr).toContain("No such file or directory");
    expect(openEvent(run, link)?.annotations.get("result")).toBe(-ENOENT);
    expect(openEvent(run, link)?.annotations.has("found")).toBe(false);
  });

  test("shell redirection writes the file", async () => {
    const dir = makeTempDir("uwrx-core-open-redirect-");
    const file = join(dir, "out.txt");
    const run = await runCore(["sh", "-c", `echo written > ${file}`]);
    expect(run.status).toBe(0);
    expect(readFileSync(file, "utf8")).toBe("written\n");
    expect(openEvent(run, file)?.annotations.get("result")).toBeGreaterThanOrEqual(3n);
  });
});
