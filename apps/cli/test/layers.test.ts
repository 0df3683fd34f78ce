import {
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

import { makeTempDir, runUwrx } from "./support/uwrx.js";

describe("uwrx run layers", () => {
  let project: string;
  let traceDir: string;

  beforeEach(() => {
    project = makeTempDir("layers-project");
    traceDir = makeTempDir("layers-trace");
    writeFileSync(join(project, "existing"), "old\n");
  });

  /** Runs a command as step `name` with the first attempts of `parents`. */
  function runStep(name: string, parents: string[], ...command: string[]) {
    const parentArgs = parents.flatMap((p) => [
      "--parent",
      join(traceDir, p, "1"),
    ]);
    return runUwrx(
      [
        "run",
        "-q",
        "--trace-dir",
        traceDir,
        "--step",
        name,
        ...parentArgs,
        "--",
        ...command,
      ],
      { cwd: project },
    );
  }

  function change(...options: string[]) {
    return runUwrx(
      [
        "run",
        "-q",
        "--trace-dir",
        traceDir,
        "--step",
        "change",
        ...options,
        "--",
        "sh",
        "-c",
        "echo new > made; rm existing; cat made",
      ],
      { cwd: project },
    );
  }

  test("captures writes and deletions in files/", () => {
    const result = change();
    const layer = join(traceDir, "change", "1", "files", project);

    expect(result.status).toBe(0);
    expect(result.stdout).toBe("new\n");
    expect(readFileSync(join(layer, "made"), "utf8")).toBe("new\n");
    expect(statSync(join(layer, "existing")).isCharacterDevice()).toBe(true);
    expect(statSync(join(layer, "existing")).rdev).toBe(0);
  });

  test("leaves the real tree alone", () => {
    change();

    expect(readFileSync(join(project, "existing"), "utf8")).toBe("old\n");
    expect(existsSync(join(project, "made"))).toBe(false);
  });

  test("a child sees its parent's files", () => {
    change();
    const result = runUwrx(
      [
        "run",
        "-q",
        "--trace-dir",
        traceDir,
        "--step",
        "child",
        "--parent",
        join(traceDir, "change", "1"),
        "--",
        "sh",
        "-c",
        "cat made; cat existing",
      ],
      { cwd: project },
    );

    expect(result.stdout).toBe("new\n");
    expect(result.stderr).toContain("existing");
    expect(result.status).not.toBe(0);
  });

  test("export applies files and deletions", () => {
    change();
    const dest = makeTempDir("layers-export");
    mkdirSync(join(dest, project), { recursive: true });
    writeFileSync(join(dest, project, "existing"), "stale\n");

    const result = runUwrx(["export", join(traceDir, "change", "1"), dest]);

    expect(result.status).toBe(0);
    expect(readFileSync(join(dest, project, "made"), "utf8")).toBe("new\n");
    expect(existsSync(join(dest, project, "existing"))).toBe(false);
  });

  test("export keeps hard links made in the run", () => {
    const result = runStep("links", [], "sh", "-c", "echo data > linked-a && ln linked-a linked-b");
    expect(result.status).toBe(0);
    const dest = makeTempDir("layers-export-links");

    expect(runUwrx(["export", join(traceDir, "links", "1"), dest]).status).toBe(0);

    const a = statSync(join(dest, project, "linked-a"));
    const b = statSync(join(dest, project, "linked-b"));
    expect(b.ino).toBe(a.ino);
    expect(readFileSync(join(dest, project, "linked-b"), "utf8")).toBe("data\n");
  });

  test("write-through updates the real tree", () => {
    const result = change("--write-through");

    expect(result.status).toBe(0);
    expect(readFileSync(join(project, "made"), "utf8")).toBe("new\n");
    expect(existsSync(join(project, "existing"))).toBe(false);
  });

  test("rejects a parent that is not an attempt", () => {
    const result = runUwrx(
      ["run", "--trace-dir", traceDir, "--parent", project, "--", "true"],
      { cwd: project },
    );

    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`--parent ${project} is not an attempt`);
  });

  test("export rejects an attempt without layers", () => {
    runUwrx(
      [
        "run",
        "-q",
        "--no-overlay",
        "--trace-dir",
        traceDir,
        "--step",
        "flat",
        "--",
        "true",
      ],
      { cwd: project },
    );

    const result = runUwrx([
      "export",
      join(traceDir, "flat", "1"),
      makeTempDir("dest"),
    ]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("has no files/ directory");
  });

  test("make rebuilds from layer timestamps", () => {
    writeFileSync(join(project, "Makefile"), "out: in\n\tcp in out\n");
    writeFileSync(join(project, "in"), "one\n");
    const build = runStep("build", [], "make");
    const again = runStep("again", ["build"], "make");
    const edit = runStep("edit", ["build"], "sh", "-c", "echo two > in");
    const rebuild = runStep("rebuild", ["edit"], "sh", "-c", "make && cat out");

    expect(build.stdout).toBe("cp in out\n");
    expect(again.stdout).toContain("'out' is up to date");
    expect(edit.status).toBe(0);
    expect(rebuild.stdout).toBe("cp in out\ntwo\n");
    expect(readFileSync(join(project, "in"), "utf8")).toBe("one\n");
    expect(existsSync(join(project, "out"))).toBe(false);
  });

  test("rm -rf and find across three layers", () => {
    const step = (name: string, parents: string[], script: string) =>
      runStep(name, parents, "sh", "-c", script);
    mkdirSync(join(project, "tree"));
    writeFileSync(join(project, "tree", "base.txt"), "base\n");

    step("one", [], "echo one > tree/one.txt");
    step("two", ["one"], "mkdir tree/sub && echo two > tree/sub/two.txt");
    const listed = step("list", ["two"], "find tree | sort");
    const removed = step("remove", ["two"], "rm -rf tree && ls");

    expect(listed.stdout).toBe(
      "tree\ntree/base.txt\ntree/one.txt\ntree/sub\ntree/sub/two.txt\n",
    );
    expect(removed.status).toBe(0);
    expect(removed.stdout).not.toContain("tree");
    expect(readFileSync(join(project, "tree", "base.txt"), "utf8")).toBe(
      "base\n",
    );
  });

  function step(name: string, parent: string | null, script: string) {
    const options = parent ? ["--parent", join(traceDir, parent, "1")] : [];
    return runUwrx(
      [
        "run",
        "-q",
        "--trace-dir",
        traceDir,
        "--step",
        name,
        ...options,
        "--",
        "sh",
        "-c",
        script,
      ],
      { cwd: project },
    );
  }

  test("lists a directory of two parent steps", () => {
    expect(step("a", null, "mkdir n; echo 1 > n/a1").status).toBe(0);
    expect(step("b", "a", "echo 2 > n/b2").status).toBe(0);
    const listed = step("e", "b", "ls n; rm -rf n; test ! -e n && echo gone");

    expect(listed.stderr).toBe("");
    expect(listed.stdout).toBe("a1\nb2\ngone\n");
    expect(existsSync(join(project, "n"))).toBe(false);
  });

  test("a FIFO of the run stays out of the real tree", () => {
    const result = step(
      "f",
      null,
      "rm existing; mkfifo existing; echo viafifo > existing & sleep 0.5; timeout 5 cat existing; wait",
    );

    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("viafifo\n");
    expect(readFileSync(join(project, "existing"), "utf8")).toBe("old\n");
  });

  test("--no-overlay rejects --parent", () => {
    const result = runUwrx(
      ["run", "--no-overlay", "--parent", traceDir, "--", "true"],
      { cwd: project },
    );

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("need the layered filesystem");
  });

  test("--no-overlay writes the real tree", () => {
    const result = change("--no-overlay");

    expect(result.status).toBe(0);
    expect(readFileSync(join(project, "made"), "utf8")).toBe("new\n");
    expect(existsSync(join(traceDir, "change", "1", "files"))).toBe(false);
  });

  test("bad parent leaves no attempt behind", () => {
    const unfinished = join(traceDir, "half", "1");
    mkdirSync(join(unfinished, "files"), { recursive: true });

    const result = runUwrx(
      [
        "run",
        "--trace-dir",
        traceDir,
        "--step",
        "child",
        "--parent",
        unfinished,
        "--",
        "true",
      ],
      { cwd: project },
    );

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("did not finish");
    expect(existsSync(join(traceDir, "child"))).toBe(false);
  });
});
