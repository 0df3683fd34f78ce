// Builds Debian's lua 5.4 sources under `uwrx run` and checks the trace
// against what really happened: the commands make printed, the files the
// compilers had to read, the binaries a bare build produces, and the bytes
// the terminal received.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

import { fetchDebianSource } from "./support/corpus.js";
import { cliPath, inspectJson, makeTempDir } from "./support/uwrx.js";
import {
  bytesOf,
  decodeFields,
  unpackTrace,
  varintOf,
} from "./support/wire.js";

/** The bare build and the traced build together, with room for a slow machine. */
const BUILD_TIMEOUT_MS = 600_000;

interface Proc {
  pid: number;
  ppid: number;
  argv: string[];
  exitCode?: number;
  children: number[];
}

interface FileAccess {
  pid: number;
  read: string[];
}

interface Chunk {
  stream: string;
  base64: string;
}

const PRODUCTS = ["lua", "luac", "liblua.a"];

describe("lua 5.4 build under uwrx run", () => {
  let bare: string;
  let traced: string;
  let traceDir: string;
  let terminal: { status: number | null; stdout: string; stderr: string };
  let procs: Proc[];

  beforeAll(() => {
    const source = join(fetchDebianSource("lua5.4"), "src");
    bare = makeTempDir("lua-bare");
    traced = makeTempDir("lua-traced");
    traceDir = makeTempDir("lua-trace");
    cpSync(source, bare, { recursive: true });
    cpSync(source, traced, { recursive: true });

    const bareBuild = spawnSync("make", ["-j2", "linux"], {
      cwd: bare,
      encoding: "utf8",
    });
    expect(bareBuild.status).toBe(0);

    terminal = spawnSync(
      process.execPath,
      [
        cliPath,
        "run",
        "--quiet",
        "--trace-dir",
        traceDir,
        "--step",
        "make",
        "--",
        "make",
        "-j2",
        "linux",
      ],
      { cwd: traced, encoding: "utf8" },
    );
    procs = inspectJson<Proc[]>("procs", traceDir);
  }, BUILD_TIMEOUT_MS);

  test("build succeeds", () => {
    expect(terminal.stderr).not.toContain("uwrx");
    expect(terminal.status).toBe(0);
  });

  test("binaries equal a bare build's", () => {
    for (const product of PRODUCTS) {
      const expected = readFileSync(join(bare, product));
      // The build's writes land in the attempt's layer, not in the tree.
      const actual = readFileSync(
        join(traceDir, "make", "1", "files", traced, product),
      );
      expect({ product, same: actual.equals(expected) }).toEqual({
        product,
        same: true,
      });
    }
  });

  test("source tree is unchanged", () => {
    for (const product of PRODUCTS) {
      expect({ product, exists: existsSync(join(traced, product)) }).toEqual({
        product,
        exists: false,
      });
    }
  });

  test("every command make printed ran with its argv", () => {
    const printed = terminal.stdout
      .split("\n")
      .filter((line) => /^(gcc|ar|ranlib) /.test(line));
    const ran = new Set(procs.map((p) => p.argv.join(" ")));

    expect(printed.length).toBeGreaterThan(30);
    for (const line of printed) {
      const argv = line.trim().split(/\s+/).join(" ");
      expect({ line, ran: ran.has(argv) }).toEqual({ line, ran: true });
    }
  });

  test("every .c file was read by a cc1", () => {
    const files = inspectJson<FileAccess[]>("files", traceDir);
    const readsByPid = new Map(files.map((f) => [f.pid, f.read]));
    const cc1s = procs.filter((p) => p.argv[0]?.endsWith("cc1"));
    const readByCc1 = new Set(cc1s.flatMap((p) => readsByPid.get(p.pid) ?? []));
    const sources = readdirSync(traced).filter((f) => f.endsWith(".c"));

    expect(cc1s.length).toBe(sources.length);
    for (const source of sources) {
      const path = join(traced, source);
      expect({ source, read: readByCc1.has(path) }).toEqual({
        source,
        read: true,
      });
    }
  });

  test("each link ran collect2 and ld", () => {
    const links = procs.filter(
      (p) =>
        p.argv[0] === "gcc" && p.argv.includes("-o") && !p.argv.includes("-c"),
    );
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    const descendants = (p: Proc): Proc[] =>
      p.children.flatMap((c) => [byPid.get(c)!, ...descendants(byPid.get(c)!)]);

    expect(links.map((l) => l.argv[l.argv.indexOf("-o") + 1]).sort()).toEqual([
      "lua",
      "luac",
    ]);
    for (const link of links) {
      const programs = descendants(link).map((p) => p.argv[0] ?? "");
      expect(programs.some((p) => p.endsWith("collect2"))).toBe(true);
      expect(programs.some((p) => p.endsWith("ld"))).toBe(true);
    }
  });

  test("captured output equals the terminal's", () => {
    const chunks = inspectJson<Chunk[]>("output", traceDir);
    const stream = (name: string) =>
      Buffer.concat(
        chunks
          .filter((c) => c.stream === name)
          .map((c) => Buffer.from(c.base64, "base64")),
      ).toString("utf8");

    expect(stream("stdout")).toBe(terminal.stdout);
    expect(stream("stderr")).toBe(terminal.stderr);
  });

  test("trace passes an independent wire-level check", () => {
    const file = readFileSync(join(traceDir, "make", "1", "perfetto"));
    const { packets, compressedChunks } = unpackTrace(file);
    const seen = new Set<bigint>();
    const open = new Map<bigint, number>();
    const treePids = new Set<number>();

    expect(compressedChunks).toBeGreaterThan(0);
    for (const packet of packets) {
      const sequence = varintOf(packet, 10);
      const flags = varintOf(packet, 13) ?? 0n;
      expect(sequence).toBeDefined();
      if (!seen.has(sequence!)) {
        expect({ sequence, cleared: (flags & 1n) === 1n }).toEqual({
          sequence,
          cleared: true,
        });
        seen.add(sequence!);
      }
      const event = bytesOf(packet, 11);
      if (event) {
        const fields = decodeFields(event);
        const type = varintOf(fields, 9);
        const track = varintOf(fields, 11)!;
        const depth = open.get(track) ?? 0;
        if (type === 1n) open.set(track, depth + 1);
        if (type === 2n) {
          expect(depth).toBeGreaterThan(0);
          open.set(track, depth - 1);
        }
      }
      const tree = bytesOf(packet, 2);
      if (tree) {
        for (const process of decodeFields(tree).filter((f) => f.field === 1)) {
          treePids.add(
            Number(varintOf(decodeFields(process.value as Uint8Array), 1)),
          );
        }
      }
    }

    expect([...open.values()].every((depth) => depth === 0)).toBe(true);
    for (const proc of procs.filter((p) => p.argv[0]?.endsWith("cc1"))) {
      expect(treePids.has(proc.pid)).toBe(true);
    }
  });
});
