import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { cliPath, inspectJson, makeTempDir, runUwrx } from "./support/uwrx.js";

interface FileAccess {
  pid: number;
  argv: string[];
  read: string[];
  written: string[];
  missing: string[];
}

interface Chunk {
  stream: string;
  terminal: boolean;
  base64: string;
}

describe("uwrx inspect", () => {
  let dir: string;

  beforeAll(() => {
    dir = makeTempDir("inspect");
    writeFileSync(join(dir, "present.txt"), "present\n");
    const script = [
      "cat present.txt",
      "cat missing.txt 2>/dev/null",
      "echo made > made.txt",
      "printf '\\377\\376 binary\\n'",
      "echo to-stderr >&2",
      "echo piped | cat >/dev/null",
    ].join("; ");
    const result = runUwrx(
      [
        "run",
        "--trace-dir",
        join(dir, "t"),
        "--step",
        "s",
        "--",
        "sh",
        "-c",
        script,
      ],
      { cwd: dir },
    );
    expect(result.status).toBe(0);
  });

  test("files lists reads, writes and failed lookups", () => {
    const files = inspectJson<FileAccess[]>("files", join(dir, "t"));

    const cats = files.filter((f) => f.argv[0] === "cat");
    const reads = cats.flatMap((f) => f.read);
    const missing = cats.flatMap((f) => f.missing);
    const shell = files.find((f) => f.argv[0] === "sh");
    expect(reads).toContain(join(dir, "present.txt"));
    expect(missing).toContain(join(dir, "missing.txt"));
    expect(shell?.written).toContain(join(dir, "made.txt"));
  });

  test("output reproduces the terminal bytes", () => {
    const result = runUwrx(
      ["inspect", "output", join(dir, "t"), "--stream", "stdout"],
      {},
    );
    const expected = Buffer.concat([
      Buffer.from("present\n"),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(" binary\n"),
    ]);

    expect(result.status).toBe(0);
    expect(Buffer.from(result.stdout, "latin1").length).toBeGreaterThan(0);
    const json = inspectJson<Chunk[]>("output", join(dir, "t"));
    const stdout = Buffer.concat(
      json
        .filter((c) => c.stream === "stdout")
        .map((c) => Buffer.from(c.base64, "base64")),
    );
    expect(stdout.equals(expected)).toBe(true);
    expect(json.some((c) => c.stream === "stderr")).toBe(true);
  });

  test("output --all includes writes into pipes", () => {
    const result = runUwrx([
      "inspect",
      "output",
      join(dir, "t"),
      "--all",
      "--json",
    ]);
    const chunks = JSON.parse(result.stdout) as (Chunk & { text: string })[];

    const piped = chunks.find((c) => c.text === "piped\n");
    expect(piped?.terminal).toBe(false);
  });

  test("rejects a truncated trace", () => {
    const trace = join(dir, "t", "s", "1", "perfetto");
    const bytes = readFileSync(trace);
    const broken = join(dir, "truncated.perfetto");
    writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length / 2)));

    const result = runUwrx(["inspect", "procs", broken]);

    expect(result.status).toBe(125);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(broken);
  });

  test("rejects a file that is not a trace", () => {
    const garbage = join(dir, "garbage.perfetto");
    writeFileSync(garbage, "this is not a trace at all\n");

    const result = runUwrx(["inspect", "procs", garbage]);

    expect(result.status).toBe(125);
    expect(result.stderr).toContain(garbage);
  });

  test("rejects a missing trace path", () => {
    const result = runUwrx(["inspect", "procs", join(dir, "nowhere")]);

    expect(result.status).toBe(125);
    expect(result.stderr).toContain("does not exist");
  });

  test("rejects an unknown view", () => {
    const result = runUwrx(["inspect", "everything", join(dir, "t")]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown view 'everything'");
  });

  test("output into a closed pipe ends quietly", () => {
    const result = spawnSync(
      "sh",
      [
        "-c",
        `node ${cliPath} inspect output ${join(dir, "t")} --all --stream stdout | head -c 1`,
      ],
      {
        encoding: "utf8",
      },
    );

    expect(result.stderr).toBe("");
    expect(result.stdout).toHaveLength(1);
  });

  test("procs --pid shows a subtree", () => {
    const all = inspectJson<{ pid: number; argv: string[] }[]>(
      "procs",
      join(dir, "t"),
    );
    const cat = all.find((p) => p.argv[0] === "cat")!;
    const result = runUwrx([
      "inspect",
      "procs",
      join(dir, "t"),
      "--pid",
      String(cat.pid),
      "--json",
    ]);
    const subtree = JSON.parse(result.stdout) as { pid: number }[];

    expect(subtree.map((p) => p.pid)).toEqual([cat.pid]);
  });

  test("skips an attempt killed mid-run", () => {
    const step = join(dir, "t", "s");
    mkdirSync(join(step, "9"));
    writeFileSync(join(step, "9", "perfetto.partial"), "partial");

    const fromStep = runUwrx(["inspect", "procs", step]);
    const fromAttempt = runUwrx(["inspect", "procs", join(step, "9")]);

    expect(fromStep.status).toBe(0);
    expect(fromAttempt.status).toBe(125);
    expect(fromAttempt.stderr).toContain(
      "is incomplete: uwrx was killed during the run",
    );
    rmSync(join(step, "9"), { recursive: true });
  });

  test("rejects an empty file", () => {
    const empty = join(dir, "empty.perfetto");
    writeFileSync(empty, "");

    const result = runUwrx(["inspect", "procs", empty]);

    expect(result.status).toBe(125);
    expect(result.stderr).toContain("is empty");
  });

  test("output names copy_file_range writes", () => {
    const trace = join(dir, "cfr");
    const result = spawnSync(
      "sh",
      [
        "-c",
        `node ${cliPath} run -q --trace-dir ${trace} -- cat ${join(dir, "present.txt")} > ${join(dir, "copy.txt")}`,
      ],
      { encoding: "utf8" },
    );
    const output = runUwrx(["inspect", "output", trace]);

    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, "copy.txt"), "utf8")).toBe("present\n");
    expect(output.stderr).toContain("went out through copy_file_range");
  });
});
