import {
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

import { makeTempDir, runUwrx } from "./support/uwrx.js";

describe("uwrx run --overlay", () => {
  let project: string;
  let traceDir: string;

  beforeEach(() => {
    project = makeTempDir("layers-project");
    traceDir = makeTempDir("layers-trace");
    writeFileSync(join(project, "existing"), "old\n");
  });

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
    const result = change("--overlay");
    const layer = join(traceDir, "change", "1", "files", project);

    expect(result.status).toBe(0);
    expect(result.stdout).toBe("new\n");
    expect(readFileSync(join(layer, "made"), "utf8")).toBe("new\n");
    expect(statSync(join(layer, "existing")).isCharacterDevice()).toBe(true);
    expect(statSync(join(layer, "existing")).rdev).toBe(0);
  });

  test("leaves the real tree alone", () => {
    change("--overlay");

    expect(readFileSync(join(project, "existing"), "utf8")).toBe("old\n");
    expect(existsSync(join(project, "made"))).toBe(false);
  });

  test("a child sees its parent's files", () => {
    change("--overlay");
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
    change("--overlay");
    const dest = makeTempDir("layers-export");
    mkdirSync(join(dest, project), { recursive: true });
    writeFileSync(join(dest, project, "existing"), "stale\n");

    const result = runUwrx(["export", join(traceDir, "change", "1"), dest]);

    expect(result.status).toBe(0);
    expect(readFileSync(join(dest, project, "made"), "utf8")).toBe("new\n");
    expect(existsSync(join(dest, project, "existing"))).toBe(false);
  });

  test("write-through updates the real tree", () => {
    const result = change("--overlay", "--write-through");

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
      ["run", "-q", "--trace-dir", traceDir, "--step", "flat", "--", "true"],
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
});
