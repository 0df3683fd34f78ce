import { beforeEach, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { LayerStack, writeIndex } from "../../../overlay/src/index.js";
import { makeWhiteout } from "./layer-trees.js";
import { makeTempDir, runCore, type CoreRun } from "./run-core.js";

// Real programs on a layered filesystem: the base is the real root, two
// parent layers hold files below the project directory, which exists in
// the base, and --upper receives every change. The project directory is
// the cwd, so these tests need no exec or chdir into an upper layer.

interface Layers {
  project: string; // a real directory, the same path on the merged view
  parents: string[]; // files/ of parent 1 and parent 2
  upper: string;
  indexFile: string;
}

let layers: Layers;

function write(root: string, path: string, content: string): void {
  const file = join(root, layers.project, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function makeLayers(): Layers {
  const work = makeTempDir("uwrx-layers-run-");
  const project = makeTempDir("uwrx-layers-project-");
  const parents = [join(work, "p1"), join(work, "p2")];
  for (const dir of parents) mkdirSync(dir);
  const upper = join(work, "upper");
  mkdirSync(upper);
  const indexFile = join(work, "layers.idx");
  return { project, parents, upper, indexFile };
}

function finishIndex(): void {
  // The last layer of a stack is the writable one.
  const stack = new LayerStack({ layers: [...layers.parents, layers.upper], base: "/" });
  writeIndex(stack, layers.indexFile);
}

// Lists a real directory recursively with sizes and mtimes, to show that
// a run left it unchanged.
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .sort()
    .map((name) => {
      const st = lstatSync(join(dir, name));
      return `${name} ${st.mode} ${st.size} ${st.mtimeMs}`;
    });
}

async function runLayered(script: string, coreArgs: string[] = []): Promise<CoreRun> {
  return runCore(["sh", "-c", script], {
    cwd: layers.project,
    timeoutMs: 60000,
    coreArgs: ["--upper", layers.upper, "--layer-index", layers.indexFile, ...coreArgs],
  });
}

function inUpper(path: string): string {
  return join(layers.upper, layers.project, path);
}

function isWhiteout(path: string): boolean {
  const st = lstatSync(path);
  return st.isCharacterDevice() && st.rdev === 0;
}

beforeEach(() => {
  layers = makeLayers();
});

describe("layered file calls", () => {
  test("append copies a parent file up", async () => {
    write(layers.parents[0]!, "notes.txt", "one\n");
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("echo two >> notes.txt && cat notes.txt");
    expect(run.stdout).toBe("one\ntwo\n");
    expect(readFileSync(inUpper("notes.txt"), "utf8")).toBe("one\ntwo\n");
    expect(readFileSync(join(layers.parents[0]!, layers.project, "notes.txt"), "utf8")).toBe("one\n");
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("rm of a base file leaves a whiteout", async () => {
    writeFileSync(join(layers.project, "base.txt"), "base\n");
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("rm base.txt && test ! -e base.txt && echo gone");
    expect(run.stdout).toBe("gone\n");
    expect(isWhiteout(inUpper("base.txt"))).toBe(true);
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("mv moves a parent file across layers", async () => {
    write(layers.parents[1]!, "old.txt", "moved\n");
    finishIndex();
    const run = await runLayered("mv old.txt new.txt && cat new.txt && test ! -e old.txt && echo ok");
    expect(run.stdout).toBe("moved\nok\n");
    expect(isWhiteout(inUpper("old.txt"))).toBe(true);
    expect(readFileSync(inUpper("new.txt"), "utf8")).toBe("moved\n");
    expect(readdirSync(layers.project)).toEqual([]);
  });

  test("tar x then tar c", async () => {
    const source = makeTempDir("uwrx-layers-tar-");
    mkdirSync(join(source, "pkg/sub"), { recursive: true });
    writeFileSync(join(source, "pkg/a.txt"), "a\n");
    writeFileSync(join(source, "pkg/sub/b.txt"), "b\n");
    execFileSync("tar", ["cf", join(layers.project, "in.tar"), "-C", source, "pkg"]);
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("tar xf in.tar && tar cf out.tar pkg && tar tf out.tar | sort");
    expect(run.stdout).toBe("pkg/\npkg/a.txt\npkg/sub/\npkg/sub/b.txt\n");
    expect(readFileSync(inUpper("pkg/sub/b.txt"), "utf8")).toBe("b\n");
    expect(existsSync(inUpper("out.tar"))).toBe(true);
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("cp -a copies a parent directory", async () => {
    write(layers.parents[0]!, "lib/x.h", "x\n");
    write(layers.parents[0]!, "lib/y.h", "y\n");
    finishIndex();
    const run = await runLayered("cp -a lib lib2 && cat lib2/x.h lib2/y.h");
    expect(run.stdout).toBe("x\ny\n");
    expect(readdirSync(inUpper("lib2")).sort()).toEqual(["x.h", "y.h"]);
    expect(readdirSync(layers.project)).toEqual([]);
  });

  test("write through a dangling symlink", async () => {
    mkdirSync(join(layers.parents[0]!, layers.project), { recursive: true });
    symlinkSync("sub/from-parent", join(layers.parents[0]!, layers.project, "plink"));
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered(
      "ln -s t same && echo 3 > same && cat t && mkdir sub && echo 4 > plink && cat sub/from-parent; ln -s s1 s2; ln -s s2 s1; echo 5 > s1 || echo loop",
    );
    expect(run.stdout).toBe("3\n4\nloop\n");
    expect(run.stderr).toContain("Too many levels of symbolic links");
    expect(readFileSync(inUpper("t"), "utf8")).toBe("3\n");
    expect(lstatSync(inUpper("same")).isSymbolicLink()).toBe(true);
    expect(readFileSync(inUpper("sub/from-parent"), "utf8")).toBe("4\n");
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("copy-up keeps the holes of a sparse file", async () => {
    const file = join(layers.parents[0]!, layers.project, "sparse.img");
    write(layers.parents[0]!, "sparse.img", "head");
    truncateSync(file, 256 * 1024 * 1024);
    finishIndex();
    const run = await runLayered("echo tail >> sparse.img && head -c 4 sparse.img && tail -c 5 sparse.img");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("headtail\n");
    const copy = lstatSync(inUpper("sparse.img"));
    expect(copy.size).toBe(256 * 1024 * 1024 + 5);
    expect(copy.blocks * 512).toBeLessThan(1024 * 1024);
  });

  test("gcc writes its object to the upper layer", async () => {
    write(layers.parents[1]!, "hello.c", "int main(void) { return 0; }\n");
    finishIndex();
    const run = await runLayered("gcc -c hello.c -o hello.o && echo built");
    expect(run.stdout).toBe("built\n");
    expect(lstatSync(inUpper("hello.o")).size).toBeGreaterThan(0);
    expect(readdirSync(layers.project)).toEqual([]);
  });

  test("parent layer count must match", async () => {
    finishIndex();
    const run = await runLayered("true", ["--seed", "1".repeat(64), "--parent-layers", "1"]);
    expect(run.status).toBe(125);
    expect(run.stderr).toContain("--parent-layers 2");
  });
});

// The tree/ directory over the base and both parent layers: parent 2
// deletes one base file and adds a symlink, parent 1 adds a directory.
function makeMergedTree(): void {
  mkdirSync(join(layers.project, "tree/base-dir"), { recursive: true });
  writeFileSync(join(layers.project, "tree/base.txt"), "base\n");
  writeFileSync(join(layers.project, "tree/gone.txt"), "gone\n");
  write(layers.parents[0]!, "tree/p1-dir/one.txt", "one\n");
  write(layers.parents[0]!, "tree/base-dir/p1.txt", "p1\n");
  write(layers.parents[1]!, "tree/p2.txt", "p2\n");
  symlinkSync("base.txt", join(layers.parents[1]!, layers.project, "tree/link"));
  makeWhiteout(join(layers.parents[1]!, layers.project, "tree/gone.txt"));
}

describe("merged directory listings", () => {
  test("ls -la of a merged directory", async () => {
    makeMergedTree();
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("LC_ALL=C ls -la tree | awk 'NR > 1 { print substr($1, 1, 1), $NF }'");
    expect(run.stdout).toBe(
      ["d .", "d ..", "d base-dir", "- base.txt", "l base.txt", "d p1-dir", "- p2.txt", ""].join("\n"),
    );
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("find of a merged directory", async () => {
    makeMergedTree();
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("find tree | sort");
    expect(run.stdout).toBe(
      [
        "tree",
        "tree/base-dir",
        "tree/base-dir/p1.txt",
        "tree/base.txt",
        "tree/link",
        "tree/p1-dir",
        "tree/p1-dir/one.txt",
        "tree/p2.txt",
        "",
      ].join("\n"),
    );
    expect(run.status).toBe(0);
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("find -type on a merged directory", async () => {
    makeMergedTree();
    finishIndex();
    const run = await runLayered("find tree -type l; find tree -type d | sort");
    expect(run.stdout).toBe("tree/link\ntree\ntree/base-dir\ntree/p1-dir\n");
  });

  test("rm -rf of a tree over three layers", async () => {
    makeMergedTree();
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("rm -rf tree && test ! -e tree && ls -a");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(".\n..\n");
    expect(isWhiteout(inUpper("tree"))).toBe(true);
    expect(snapshot(layers.project)).toEqual(before);
    expect(readFileSync(join(layers.parents[0]!, layers.project, "tree/p1-dir/one.txt"), "utf8")).toBe("one\n");
  });

  test("directory in two parents only", async () => {
    write(layers.parents[0]!, "n/a1", "1\n");
    write(layers.parents[1]!, "n/b2", "2\n");
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("ls n && cp -a n copy && ls copy && find n | sort");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("a1\nb2\na1\nb2\nn\nn/a1\nn/b2\n");
    expect(readdirSync(inUpper("copy")).sort()).toEqual(["a1", "b2"]);
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("rm -rf of a directory in two parents", async () => {
    write(layers.parents[0]!, "n/a1", "1\n");
    write(layers.parents[1]!, "n/b2", "2\n");
    finishIndex();
    const run = await runLayered("rm -rf n && test ! -e n && echo gone");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("gone\n");
    expect(isWhiteout(inUpper("n"))).toBe(true);
  });

  test("make finds a base Makefile", async () => {
    writeFileSync(join(layers.project, "Makefile"), "out.txt: in.txt\n\tcp in.txt out.txt\n");
    write(layers.parents[0]!, "in.txt", "input\n");
    write(layers.parents[1]!, "other.txt", "other\n");
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("make && cat out.txt && make");
    expect(run.stdout).toBe("cp in.txt out.txt\ninput\nmake: 'out.txt' is up to date.\n");
    expect(readFileSync(inUpper("out.txt"), "utf8")).toBe("input\n");
    expect(snapshot(layers.project)).toEqual(before);
  });
});

describe("cwd and exec in upper layers", () => {
  test("cd into an upper-only directory", async () => {
    write(layers.parents[0]!, "only/in/p1/file.txt", "p1\n");
    finishIndex();
    const run = await runLayered("cd only/in/p1 && pwd && /bin/pwd && cat file.txt && readlink /proc/self/cwd");
    const dir = join(layers.project, "only/in/p1");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(`${dir}\n${dir}\np1\n${dir}\n`);
  });

  test("getcwd in a removed directory fails as without layers", async () => {
    finishIndex();
    const script =
      "import os\nos.mkdir('gone'); os.chdir('gone'); os.rmdir('../gone')\n" +
      "try:\n    print(os.getcwd())\nexcept FileNotFoundError:\n    print('ENOENT')\n";
    const run = await runLayered(`python3 -c "${script}"`);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("ENOENT\n");
  });

  test("script runs a parent-built program", async () => {
    const source = join(makeTempDir("uwrx-layers-src-"), "hello.c");
    writeFileSync(source, '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
    mkdirSync(join(layers.parents[0]!, layers.project, "bin"), { recursive: true });
    execFileSync("gcc", ["-o", join(layers.parents[0]!, layers.project, "bin/hello"), source]);
    write(layers.parents[1]!, "run.sh", "#!/bin/sh\n./bin/hello\nreadlink /proc/self/exe\n");
    execFileSync("chmod", ["+x", join(layers.parents[1]!, layers.project, "run.sh")]);
    finishIndex();
    const run = await runLayered("./run.sh && ./bin/hello");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("hello\n/usr/bin/readlink\nhello\n");
  });

  test("gcc -o then run the result", async () => {
    write(layers.parents[1]!, "main.c", '#include <stdio.h>\nint main(void) { puts("built"); return 0; }\n');
    finishIndex();
    const run = await runLayered("gcc -o main main.c && ./main");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("built\n");
    expect(lstatSync(inUpper("main")).size).toBeGreaterThan(0);
    expect(readdirSync(layers.project)).toEqual([]);
  });

  test("fstat of a parent-layer file reports the layer's time, as stat does", async () => {
    write(layers.parents[0]!, "from-p1.txt", "p1\n");
    write(layers.parents[1]!, "from-p2.txt", "p2\n");
    finishIndex();
    const seed = ["--seed", "3".repeat(64), "--start-time-ns", "1700000000000000000", "--parent-layers", "2"];
    const script =
      "import os\nfor name in ('from-p1.txt', 'from-p2.txt'):\n" +
      "    fd = os.open(name, os.O_RDONLY)\n" +
      "    print(os.fstat(fd).st_mtime_ns, os.stat(name).st_mtime_ns)\n";
    const run = await runLayered(`python3 -c "${script}"`, seed);
    expect(run.stderr).toBe("");
    const rows = run.stdout.trim().split("\n").map((line) => line.split(" "));
    expect(rows).toHaveLength(2);
    for (const [byFd, byPath] of rows) expect(byFd).toBe(byPath);
    // Parent layer 2 is one layer interval newer than parent layer 1.
    expect(BigInt(rows[1]![1]!) - BigInt(rows[0]![1]!)).toBeGreaterThan(0n);
  });

  test("upper-only program under --seed", async () => {
    write(layers.parents[1]!, "main.c", '#include <stdio.h>\nint main(void) { puts("seeded"); return 0; }\n');
    finishIndex();
    const seed = ["--seed", "2".repeat(64), "--parent-layers", "2"];
    const run = await runLayered("gcc -o main main.c && ./main", seed);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("seeded\n");
  });

  test("program reads its own exe path", async () => {
    write(layers.parents[1]!, "self.c",
      '#include <stdio.h>\n#include <unistd.h>\nint main(void) { char b[4096]; ssize_t n = readlink("/proc/self/exe", b, sizeof b - 1); b[n] = 0; puts(b); return 0; }\n');
    finishIndex();
    const run = await runLayered("gcc -o self self.c && ./self");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(`${join(layers.project, "self")}\n`);
  });

  test("git commit in an upper-only directory", async () => {
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered(
      [
        "mkdir repo && cd repo && git init -q",
        "echo content > file.txt && git add file.txt",
        "git -c user.name=t -c user.email=t@example.com commit -q -m first",
        "git log --format=%s && git status --short",
      ].join(" && "),
    );
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("first\n");
    expect(existsSync(inUpper("repo/.git/HEAD"))).toBe(true);
    expect(snapshot(layers.project)).toEqual(before);
  });
});

describe("special files in layers", () => {
  // The kernel must open an upper-layer FIFO at its host path: opened at
  // the tracee's path, it reaches the real tree.
  test("a name over NAME_MAX fails with ENAMETOOLONG, as without layers", async () => {
    finishIndex();
    const long = "n".repeat(300);
    const run = await runLayered(`cat ${long} 2>&1; cat missing-dir/${long} 2>&1; true`);
    expect(run.stdout).toBe(`cat: ${long}: File name too long\ncat: missing-dir/${long}: No such file or directory\n`);
  });

  test("a reader and a writer meet at a FIFO of the base", async () => {
    execFileSync("mkfifo", [join(layers.project, "base-fifo")]);
    finishIndex();
    const run = await runLayered("cat base-fifo & echo through > base-fifo; wait");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("through\n");
    expect(existsSync(inUpper("base-fifo"))).toBe(false);
  });

  test("FIFO writer first, over a base file", async () => {
    writeFileSync(join(layers.project, "ff"), "PRECIOUS\n");
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("rm ff; mkfifo ff; echo viafifo > ff & sleep 0.5; timeout 5 cat ff; wait");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("viafifo\n");
    expect(lstatSync(inUpper("ff")).isFIFO()).toBe(true);
    expect(readFileSync(join(layers.project, "ff"), "utf8")).toBe("PRECIOUS\n");
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("FIFO reader first, no base file", async () => {
    finishIndex();
    const run = await runLayered("mkfifo ff; (sleep 0.5; echo viafifo > ff) & timeout 5 cat ff; wait");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("viafifo\n");
    expect(lstatSync(inUpper("ff")).isFIFO()).toBe(true);
    expect(readdirSync(layers.project)).toEqual([]);
  });

  test("FIFO of a parent layer", async () => {
    mkdirSync(join(layers.parents[0]!, layers.project), { recursive: true });
    execFileSync("mkfifo", [join(layers.parents[0]!, layers.project, "pf")]);
    finishIndex();
    const run = await runLayered("echo fromparent > pf & timeout 5 cat pf; wait");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("fromparent\n");
    expect(readdirSync(layers.project)).toEqual([]);
  });

  // glibc's fchmodat(AT_SYMLINK_NOFOLLOW), which tar x calls on every
  // symlink, opens the link with O_PATH | O_NOFOLLOW.
  test("O_PATH open of an upper symlink", async () => {
    write(layers.parents[0]!, "opath.c",
      '#define _GNU_SOURCE\n#include <fcntl.h>\n#include <stdio.h>\n#include <sys/stat.h>\nint main(int argc, char **argv) { struct stat st; int fd = open(argv[1], O_PATH | O_NOFOLLOW); if (fd < 0) { perror("open"); return 1; } if (fstatat(fd, "", &st, AT_EMPTY_PATH) != 0) { perror("fstatat"); return 1; } puts(S_ISLNK(st.st_mode) ? "link" : "other"); return 0; }\n');
    finishIndex();
    const run = await runLayered("gcc -o opath opath.c && ln -s target link && ./opath link");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("link\n");
  });

  test("tar x of a symlink", async () => {
    const source = makeTempDir("uwrx-layers-tar-link-");
    mkdirSync(join(source, "pkg"));
    writeFileSync(join(source, "pkg/a.txt"), "a\n");
    symlinkSync("a.txt", join(source, "pkg/link"));
    execFileSync("tar", ["cf", join(layers.project, "in.tar"), "-C", source, "pkg"]);
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("tar xf in.tar && readlink pkg/link && cat pkg/link");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("a.txt\na\n");
    expect(lstatSync(inUpper("pkg/link")).isSymbolicLink()).toBe(true);
    expect(snapshot(layers.project)).toEqual(before);
  });
});

describe("copy-up", () => {
  // Only root can give a file away, so only a root core can keep owners.
  const asRoot = process.getuid?.() === 0 ? test : test.skip;

  asRoot("keeps the owner of the lower file", async () => {
    const base = join(layers.project, "owned.txt");
    writeFileSync(base, "owned\n");
    chownSync(base, 65534, 65534);
    finishIndex();
    const run = await runLayered("echo more >> owned.txt");
    expect(run.stderr).toBe("");
    const copy = statSync(inUpper("owned.txt"));
    expect([copy.uid, copy.gid]).toEqual([65534, 65534]);
    expect(readFileSync(inUpper("owned.txt"), "utf8")).toBe("owned\nmore\n");
    expect(readFileSync(base, "utf8")).toBe("owned\n");
  });
});

describe("fd changes", () => {
  test("fchmod of a base file fails", async () => {
    writeFileSync(join(layers.project, "base.txt"), "base\n");
    write(layers.parents[0]!, "fchmod.c",
      '#include <errno.h>\n#include <fcntl.h>\n#include <stdio.h>\n#include <string.h>\n#include <sys/stat.h>\nint main(int argc, char **argv) { int fd = open(argv[1], O_RDONLY); int rc = fchmod(fd, 0600); printf("%d %s\\n", rc, rc ? strerror(errno) : "ok"); return 0; }\n');
    finishIndex();
    const before = snapshot(layers.project);
    const run = await runLayered("gcc -o fchmod fchmod.c && echo new > new.txt && ./fchmod base.txt && ./fchmod new.txt");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("-1 Read-only file system\n0 ok\n");
    expect(lstatSync(inUpper("new.txt")).mode & 0o777).toBe(0o600);
    expect(snapshot(layers.project)).toEqual(before);
  });

  test("futimens of a base file fails and leaves its times", async () => {
    const base = join(layers.project, "base.txt");
    writeFileSync(base, "base\n");
    const mtime = statSync(base).mtimeMs;
    write(layers.parents[0]!, "futimens.c",
      '#include <errno.h>\n#include <fcntl.h>\n#include <stdio.h>\n#include <string.h>\n#include <sys/stat.h>\nint main(int argc, char **argv) { struct timespec t[2] = { { 1, 0 }, { 1, 0 } }; int fd = open(argv[1], O_RDONLY); int rc = futimens(fd, t); printf("%d %s\\n", rc, rc ? strerror(errno) : "ok"); return 0; }\n');
    finishIndex();
    const run = await runLayered("gcc -o futimens futimens.c && echo new > new.txt && ./futimens base.txt && ./futimens new.txt");
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("-1 Read-only file system\n0 ok\n");
    expect(statSync(base).mtimeMs).toBe(mtime);
    expect(statSync(inUpper("new.txt")).mtimeMs).toBe(1000);
  });
});

