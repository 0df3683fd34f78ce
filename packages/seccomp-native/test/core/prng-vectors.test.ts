import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir } from "./run-core.js";

// Compiles native/prng.c with its test driver and checks it against the
// vectors that @uwrx/prng generated, so the C core and the TypeScript
// library derive the same seeds and streams.

const root = join(dirname(fileURLToPath(import.meta.url)), "../../../..");
const vectors = JSON.parse(
  readFileSync(join(root, "packages/prng/vectors/prng-vectors.json"), "utf8"),
) as Vectors;

interface Vectors {
  chacha20: {
    name: string;
    key: string;
    nonce: string;
    counter: number;
    block?: string;
    plaintext?: string;
    ciphertext?: string;
  }[];
  cases: {
    name: string;
    root: string;
    path: number[];
    seed: string;
    stream: string;
    split: { sizes: number[]; chunks: string[] };
    execs: { execIndex: number; seed: string; atRandom: string; stream: string }[];
    threads: { index: number; seed: string; stream: string }[];
  }[];
}

let driver = "";

function ask(request: string): string {
  return execFileSync(driver, { input: `${request}\n` }).toString().trim();
}

beforeAll(() => {
  driver = join(makeTempDir("uwrx-prng-driver-"), "prng-driver");
  execFileSync("gcc", [
    "-std=gnu11",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-o",
    driver,
    join(root, "native/tests/prng-driver.c"),
    join(root, "native/prng.c"),
  ]);
});

describe("native prng against the shared vectors", () => {
  test.each(vectors.chacha20.map((v) => [v.name, v] as const))("chacha20 %s", (_name, v) => {
    if (v.block) {
      expect(ask(`block ${v.key} ${v.nonce} ${v.counter}`)).toBe(v.block);
    }
    if (v.plaintext) {
      expect(ask(`encrypt ${v.key} ${v.nonce} ${v.counter} ${v.plaintext}`)).toBe(v.ciphertext);
    }
  });

  describe.each(vectors.cases.map((c) => [c.name, c] as const))("case %s", (_name, c) => {
    test("process seed", () => {
      expect(ask(`path ${c.root} ${c.path.join(" ")}`)).toBe(c.seed);
    });

    test("stream", () => {
      expect(ask(`stream ${c.seed} ${c.stream.length / 2}`)).toBe(c.stream);
    });

    test("split stream", () => {
      const chunks = ask(`stream ${c.seed} ${c.split.sizes.join(" ")}`).split(" ");
      expect(chunks).toEqual(c.split.chunks);
    });

    test.each(c.execs.map((e) => [e.execIndex, e] as const))("exec %d", (index, e) => {
      expect(ask(`exec ${c.seed} ${index}`)).toBe(e.seed);
      expect(ask(`atrandom ${e.seed}`)).toBe(e.atRandom);
      expect(ask(`stream ${e.seed} ${e.stream.length / 2}`)).toBe(e.stream);
    });

    test.each(c.threads.map((t) => [t.index, t] as const))("thread %d", (index, t) => {
      expect(ask(`thread ${c.seed} ${index}`)).toBe(t.seed);
      expect(ask(`stream ${t.seed} ${t.stream.length / 2}`)).toBe(t.stream);
    });
  });
});
